"""Fault-suite fixtures: the repository root on sys.path (the scenarios live in benchmarks/faults) and a workdir."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    # benchmarks/ is not an installed package; the scenarios and the app under test import from it.
    sys.path.insert(0, str(REPO))
