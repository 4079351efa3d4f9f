"""One module per patch of ``fixes.PATCHES``, named after it (``-`` as ``_``).

Each defines ``check(pyg)``, why the installed PyG does not look as the patch
expects (None when it fits), and ``apply(pyg, recorder, context)``, which
changes PyG's objects only through ``recorder`` so that the change can be
undone. :mod:`pyg_jit_shim.applying` finds them by name.
"""
