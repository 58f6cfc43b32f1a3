"""Replay every judged precision sample against the current reviewer: a finding judged a true positive must still be
reported (the packages are pinned, so their code has not changed), and the current figures are printed.

Slow: it reviews every fetched set (the 14 judged packages, about 290k lines, and the holdout and fresh sets when
fetched with `--set`, some millions of lines). It needs the judged set fetched
(`.venv/bin/python -m benchmarks.precision.fetch`) and at least one judged sample in
benchmarks/precision/judgements/; otherwise it skips and says which is missing. A label whose packages are not all
fetched is left out, and the printout says so.
"""

from __future__ import annotations

import pytest
from helpers import REPO

from benchmarks.precision.collect import collect, default_reviewer, public
from benchmarks.precision.packages import SETS, default_dir, load_manifest, manifest_path
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
    roots = [root, *(root / name for name in SETS if name != "judged" and manifest_path(root / name).is_file())]
    fresh = [
        public(r)
        for folder in roots
        for review in collect(folder, default_reviewer(), jobs=2, every_rule=True)
        for r in review.findings
    ]
    assert fresh, "the current reviewer reports nothing on the real packages: it is not running its rules"
    reviewed = {f"{entry['name']}=={entry['version']}" for folder in roots for entry in load_manifest(folder)}
    lost = {}
    for label in labels:
        sample = load_sample(PRECISION / "samples" / f"{label}.jsonl")
        packages = {key.partition(":")[0] for key in sample}
        if not packages <= reviewed:
            print(f"\n{label}: left out, not fetched: {', '.join(sorted(packages - reviewed))}")
            continue
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
