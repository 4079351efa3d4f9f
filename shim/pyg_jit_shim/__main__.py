"""``python -m pyg_jit_shim``: the same as the ``pyg-jit-shim`` command."""

import sys

from .cli.main import main

if __name__ == "__main__":
    sys.exit(main())
