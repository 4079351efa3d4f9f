"""Layers written the way users write them, one situation per module."""
