"""Puts this directory on ``sys.path``: the isolated assets' module (``isolated_assets``)
must be importable by name in the node's worker processes, which get this ``sys.path``."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
