"""PYG_JIT_SHIM and PYG_JIT_SHIM_DUMP_DIR as a service's environment sets them."""

import pytest

from pyg_jit_shim.settings import read_settings


@pytest.mark.parametrize("raw, mode", [
    ("", "auto"), ("auto", "auto"), ("off", "off"), ("strict", "strict"),
    ("  OFF\n", "off"), ("Strict", "strict"),
])
def test_known_modes(raw: str, mode: str) -> None:
    settings = read_settings({"PYG_JIT_SHIM": raw})
    assert settings.mode == mode
    assert settings.problem is None


def test_unset_means_auto() -> None:
    assert read_settings({}).mode == "auto"


@pytest.mark.parametrize("raw", ["0", "false", "disable", "on", "yes please", "strict,off"])
def test_unknown_value_falls_back_to_auto_with_one_message(raw: str) -> None:
    settings = read_settings({"PYG_JIT_SHIM": raw})
    assert settings.mode == "auto"
    assert settings.problem is not None
    assert repr(raw) in settings.problem
    assert "auto, off, strict" in settings.problem


def test_dump_dir_is_off_unless_named() -> None:
    assert read_settings({}).dump_dir is None
    assert read_settings({"PYG_JIT_SHIM_DUMP_DIR": "  "}).dump_dir is None
    assert read_settings({"PYG_JIT_SHIM_DUMP_DIR": "/srv/dump"}).dump_dir == "/srv/dump"
