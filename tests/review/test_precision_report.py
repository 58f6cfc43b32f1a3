"""The precision benchmark's arithmetic and sampling, on a tiny hand-judged sample whose figures were worked out by
hand (tests/review/data/precision), plus the finding keys and excerpts the judges read.

The real run (14 PyPI packages, a judged sample of 120) is benchmarks/precision; its replay is the slow
test_precision_replay.py.
"""

from __future__ import annotations

import ast
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO

from benchmarks.precision.collect import enclosing_headers, excerpt, snippet_hash
from benchmarks.precision.report import figures, judgement_files, load_judgements, load_sample, replay, wilson
from benchmarks.precision.sample import allocate, draw

DATA = Path(__file__).parent / "data" / "precision"


def test_figures_match_the_hand_count() -> None:
    sample = load_sample(DATA / "samples" / "tiny.jsonl")
    judgements, conflicts = load_judgements(judgement_files(DATA / "judgements", "tiny"), sample)
    fig = figures(sample, judgements)
    # judge-a says tp on the first PF203 finding, judge-b says fp: the harsher verdict counts.
    assert [c["key"] for c in conflicts] == ["demo==1.0:app/main.py:PF203:aaaaaaaaaaa1"]
    assert (fig["tp"], fig["debatable"], fig["fp"], fig["unjudgeable"], fig["unjudged"]) == (2, 2, 2, 1, 1)
    assert fig["strict"] == pytest.approx(2 / 6)
    assert fig["lenient"] == pytest.approx(4 / 6)
    # Each rule's rate weighted by its findings: PF203 0/3 of 60, PF601 1/2 of 30, PF301 1/1 of 10.
    assert fig["strict_weighted"] == pytest.approx((0 + 15 + 10) / 100)
    assert fig["lenient_weighted"] == pytest.approx((20 + 30 + 10) / 100)
    assert fig["per_rule"]["PF203"] == {
        "found": 60,
        "sampled": 3,
        "unjudged": 0,
        "tp": 0,
        "debatable": 1,
        "fp": 2,
        "unjudgeable": 0,
        "strict": 0.0,
    }
    assert fig["per_rule"]["PF301"]["unjudgeable"] == 1
    assert fig["per_rule"]["PF301"]["unjudged"] == 1
    assert fig["debatable_more_than_right"] == ["PF203"]
    assert fig["wrong_more_than_right"] == ["PF203"]
    assert fig["fixes_offered_safe_judged"] == 2
    assert fig["unsafe_fixes_offered_as_safe_keys"] == ["demo==1.0:app/models.py:PF601:bbbbbbbbbbb1"]


def test_wilson_interval_bounds_are_the_score_test_roots() -> None:
    # 2 of 6: the textbook example (Newcombe 1998) gives 0.0968 to 0.7000.
    assert wilson(2, 6) == pytest.approx((0.0968, 0.7000), abs=1e-4)
    # Each bound is a proportion the score test just fails to reject: (p - bound)^2 = z^2 bound (1 - bound) / n.
    for successes, n in ((81, 100), (17, 80), (1, 3)):
        p = successes / n
        for bound in wilson(successes, n):
            assert (p - bound) ** 2 == pytest.approx(1.96**2 * bound * (1 - bound) / n, rel=1e-9)
    assert wilson(0, 0) == (0.0, 1.0)
    low, high = wilson(10, 10)
    assert high == 1.0
    assert 0.69 < low < 0.73


def test_replay_reports_kept_and_vanished_true_positives() -> None:
    sample = load_sample(DATA / "samples" / "tiny.jsonl")
    judgements, _ = load_judgements(judgement_files(DATA / "judgements", "tiny"), sample)
    # The PF601 TP moved down 7 lines (same snippet, same key); the PF301 TP is reported only as a second
    # occurrence of its snippet, which still counts as the same finding.
    fresh = [
        {"key": "demo==1.0:app/models.py:PF601:bbbbbbbbbbb1", "line": 12},
        {"key": "demo==1.0:app/main.py:PF301:ccccccccccc1#1", "line": 41},
    ]
    result = replay(sample, judgements, fresh)
    assert result["tps"] == 2
    assert [(r["key"], r["line_now"]) for r in result["still_reported"]] == [
        ("demo==1.0:app/main.py:PF301:ccccccccccc1", 41),
        ("demo==1.0:app/models.py:PF601:bbbbbbbbbbb1", 12),
    ]
    # The merged verdicts: tp x2 (both kept), debatable x2 and fp x2 (all gone), and the unjudgeable second PF301
    # occurrence, which the fresh `#1` key matches exactly.
    assert result["by_verdict"] == {
        "tp": {"still": 2, "gone": 0},
        "debatable": {"still": 0, "gone": 2},
        "fp": {"still": 0, "gone": 2},
        "unjudgeable": {"still": 1, "gone": 0},
    }
    gone = replay(sample, judgements, fresh[:1])["disappeared"]
    assert [r["key"] for r in gone] == ["demo==1.0:app/main.py:PF301:ccccccccccc1"]


def _run_report(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.precision.report",
            "--samples",
            str(DATA / "samples"),
            "--results",
            str(tmp_path),
            *args,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_report_cli_writes_markdown_and_json(tmp_path: Path) -> None:
    done = _run_report(tmp_path, "--label", "tiny", "--judgements", str(DATA / "judgements"))
    assert done.returncode == 0, done.stderr
    data = json.loads((tmp_path / "precision.json").read_text(encoding="utf-8"))
    assert data["figures"]["strict"] == pytest.approx(1 / 3)
    text = (tmp_path / "precision.md").read_text(encoding="utf-8")
    assert "| strict precision tp/(tp+debatable+fp) | 33% | [10%, 70%] | 25% |" in text
    assert "| PF203 | 60 | 3 | 0 | 1 | 2 | 0 | 0 | 0% |" in text
    assert "judged unsafe: **1**" in text


def test_report_cli_rejects_a_bad_judgement_in_one_line(tmp_path: Path) -> None:
    judgements = tmp_path / "judgements"
    judgements.mkdir()
    (judgements / "tiny.jsonl").write_text(
        '{"key": "demo==1.0:app/main.py:PF203:aaaaaaaaaaa1", "verdict": "maybe", "reason": "x"}\n', encoding="utf-8"
    )
    done = _run_report(tmp_path, "--label", "tiny", "--judgements", str(judgements))
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0
    assert "tiny.jsonl:1: verdict 'maybe' is not one of tp, debatable, fp, unjudgeable" in done.stderr
    (judgements / "tiny.jsonl").write_text('{"key": "nope", "verdict": "tp", "reason": "x"}\n', encoding="utf-8")
    done = _run_report(tmp_path, "--label", "tiny", "--judgements", str(judgements))
    assert "key 'nope' is not in the sample" in done.stderr
    done = _run_report(tmp_path, "--label", "absent", "--judgements", str(judgements))
    assert done.returncode == 1
    assert "absent.jsonl: no such file" in done.stderr


def test_allocation_gives_every_rule_three_and_the_rest_by_share() -> None:
    counts = {"PF203": 645, "PF601": 44, "PF704": 1, "PF002": 3, "PF201": 33}
    take = allocate(counts, 40)
    assert sum(take.values()) == 40
    assert take["PF704"] == 1
    assert take["PF002"] == 3
    # 40 - (3+3+1+3+3) = 27 spread over the 712 findings left: PF203 gets 642/712 of it.
    assert take["PF203"] == 3 + 24
    assert take["PF601"] == 3 + 2
    assert take["PF201"] == 3 + 1
    assert allocate({"PF001": 2}, 120) == {"PF001": 2}


def test_draw_is_reproducible_and_stratified() -> None:
    rng = random.Random(0)
    records = [{"key": f"k{i}", "code": rng.choice(["PF203"] * 8 + ["PF601", "PF301"])} for i in range(400)]
    records.append({"key": "parse", "code": "PF000"})
    first = draw(records, 50, seed=7)
    again = draw(list(reversed(records)), 50, seed=7)
    assert [r["key"] for r in first] == [r["key"] for r in again]
    assert len(first) == 50
    assert len({r["key"] for r in first}) == 50
    assert "parse" not in {r["key"] for r in first}
    assert [r["key"] for r in draw(records, 50, seed=8)] != [r["key"] for r in first]


def test_snippet_hash_ignores_line_shifts_and_indentation_but_not_edits() -> None:
    lines = ["import x", "", "def f():", "    log.info(f'{a}')", "    return 1", "", "y = 2"]
    moved = ["# new header", "", "class C:", *[f"    {ln}" if ln else "" for ln in lines]]
    assert snippet_hash(lines, 4) == snippet_hash(moved, 7)
    edited = [*lines[:4], "    return 2", *lines[5:]]
    assert snippet_hash(lines, 4) != snippet_hash(edited, 4)


def test_excerpt_and_enclosing_headers() -> None:
    source = "\n".join(
        [
            "import logging",
            "",
            "@decorator",
            "class Service:",
            "    async def handle(",
            "        self,",
            "    ) -> None:",
        ]
        + [f"        step_{i}()" for i in range(30)]
    )
    lines = source.splitlines()
    text = excerpt(lines, 25, 25)
    assert text.splitlines()[0].startswith(" 10| ")
    assert text.splitlines()[-1].startswith(" 37| ")
    assert ">25|         step_17()" in text
    headers = enclosing_headers(ast.parse(source), lines, 25)
    assert headers == [
        "3| @decorator\n4| class Service:",
        "5|     async def handle(\n6|         self,\n7|     ) -> None:",
    ]
    # A finding on the def line is about the function, so the function is not its scope.
    assert enclosing_headers(ast.parse(source), lines, 5) == ["3| @decorator\n4| class Service:"]


def test_replay_follows_a_rule_split_to_its_successor() -> None:
    from benchmarks.precision.report import _successor_keys

    key = "authx==1.7.1:authx/config.py:PF002:69aeb725998b"
    assert _successor_keys(key) == ["authx==1.7.1:authx/config.py:PF009:69aeb725998b"]
    assert _successor_keys("a==1:b/c.py:PF706:abc#1") == []
