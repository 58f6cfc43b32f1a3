"""``benchmarks/hostile_bench.py``: a small slice of the race replay in the normal suite, the long one as slow.

Each round runs the real tools against a real concurrent swapper; every count that must be zero is zero.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from types import ModuleType

import pytest
from helpers import REPO

pytestmark = pytest.mark.skipif(os.name == "nt", reason="symlinks, FIFOs and descriptors are POSIX here")


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("hostile_bench", REPO / "benchmarks" / "hostile_bench.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["hostile_bench"] = module
    spec.loader.exec_module(module)
    return module


def _check(rounds: int) -> str:
    bench = _bench()
    tallies = bench.run(rounds)
    report = bench.render(tallies, rounds)
    assert bench.failures(tallies) == 0, report
    assert {t.scenario for t in tallies} == set(bench.SCENARIOS)
    assert all(t.rounds >= 4 for t in tallies)
    assert sum(t.answered for t in tallies) > 0, "the scenarios must also let some calls through"
    return str(report)


@pytest.mark.timeout(300)
def test_a_short_replay_has_zero_outside_reads_hangs_and_unclear_refusals() -> None:
    report = _check(40)
    assert "Result: all zero." in report


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_the_full_replay_has_zero_outside_reads_hangs_and_unclear_refusals() -> None:
    _check(3000)
