"""What the small benchmarks share: one round in a fresh interpreter, and the
spread of ratios over rounds."""

import json
import os
import statistics
import subprocess
import sys
from typing import Any, Dict, List, Optional


def one_round(code: str, *args: str, env: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    """Runs ``code`` in a fresh interpreter; the JSON object its last line prints."""
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True,
                            text=True, check=True, env=dict(os.environ, **(env or {})))
    answer: Dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return answer


def spread(ratios: List[float]) -> str:
    """``median [min, max]``."""
    return f"{statistics.median(ratios):.3f} [{min(ratios):.3f}, {max(ratios):.3f}]"
