"""The environment switches, read once at import."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Mapping, Optional

MODE_VARIABLE = "PYG_JIT_SHIM"
DUMP_VARIABLE = "PYG_JIT_SHIM_DUMP_DIR"

AUTO = "auto"
OFF = "off"
STRICT = "strict"
MODES = (AUTO, OFF, STRICT)


class Settings:
    __slots__ = ("dump_dir", "mode", "problem")

    def __init__(self, mode: str, dump_dir: Optional[str], problem: Optional[str]) -> None:
        self.mode = mode
        self.dump_dir = dump_dir
        # One line for the user when a value could not be taken as given.
        self.problem = problem


def read_settings(environ: Mapping[str, str]) -> Settings:
    raw = environ.get(MODE_VARIABLE, "")
    mode = raw.strip().lower() or AUTO
    problem = None
    if mode not in MODES:
        # An unreadable switch must not silently disable the repair of a broken
        # release, nor make the shim raise: fall back to the documented default.
        problem = "{}={!r} is not one of {}; using {!r}".format(
            MODE_VARIABLE, raw, ", ".join(MODES), AUTO
        )
        mode = AUTO
    dump_dir = environ.get(DUMP_VARIABLE, "").strip() or None
    return Settings(mode=mode, dump_dir=dump_dir, problem=problem)
