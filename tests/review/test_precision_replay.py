"""Replay every judged precision sample against the current reviewer: a finding judged a true positive must still be
reported (the packages are pinned, so their code has not changed), and the current figures are printed.

Slow: it reviews 14 PyPI packages (about 290k lines). It needs them fetched
(`.venv/bin/python -m benchmarks.precision.fetch`) and at least one judged sample in
benchmarks/precision/judgements/; otherwise it skips and says which is missing.
"""

from __future__ import annotations

import pytest
from helpers import REPO

from benchmarks.precision.collect import collect, default_reviewer, public
from benchmarks.precision.packages import default_dir, manifest_path
from benchmarks.precision.report import figures, judgement_files, load_judgements, load_sample, replay

PRECISION = REPO / "benchmarks" / "precision"


def _judged_labels() -> list[str]:
    labels = []
    for path in sorted((PRECISION / "samples").glob("*.jsonl")):
        label = path.name.removesuffix(".jsonl")
        if not label.endswith(".all") and judgement_files(PRECISION / "judgements", label):
            labels.append(label)
    return labels


@pytest.mark.slow
def test_judged_true_positives_are_still_reported() -> None:
    root = default_dir()
    if not manifest_path(root).is_file():
        pytest.skip(f"precision packages not fetched into {root}: run .venv/bin/python -m benchmarks.precision.fetch")
    labels = _judged_labels()
    if not labels:
        pytest.skip("no judged precision sample yet: judges write benchmarks/precision/judgements/<label>.jsonl")
    fresh = [public(r) for review in collect(root, default_reviewer(), jobs=1) for r in review.findings]
    assert fresh, "the current reviewer reports nothing on 14 real packages: it is not running its rules"
    lost = {}
    for label in labels:
        sample = load_sample(PRECISION / "samples" / f"{label}.jsonl")
        judgements, _ = load_judgements(judgement_files(PRECISION / "judgements", label), sample)
        fig = figures(sample, judgements)
        result = replay(sample, judgements, fresh)
        print(
            f"\n{label}: judged {fig['judged']}: strict {fig['strict']}, lenient {fig['lenient']}, "
            f"unsafe fixes offered as safe {fig['unsafe_fixes_offered_as_safe']}; now reported, by verdict then: "
            f"{result['by_verdict']}; the current reviewer reports {len(fresh)} findings in all"
        )
        if result["disappeared"]:
            lost[label] = [row["key"] for row in result["disappeared"]]
    assert lost == {}, f"judged true positives no longer reported: {lost}"
