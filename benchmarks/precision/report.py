"""Figures from a judged sample: precision, per-rule verdicts, fix safety, and which judged TPs a rerun still reports.

    .venv/bin/python -m benchmarks.precision.report --label before [--replay before] [--fresh LABEL]

Reads benchmarks/precision/samples/<label>.jsonl and every judgements/<label>.jsonl or judgements/<label>.*.jsonl,
writes benchmarks/results/precision.md and precision.json. `--replay OLD` compares OLD's judged true positives
with a fresh review (the installed reviewer, or `--reviewer CMD`, over the fetched packages) or, with `--fresh NEW`,
with the findings recorded in samples/NEW.all.jsonl.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.precision.collect import ReviewError, collect, parse_reviewer, public
from benchmarks.precision.packages import default_dir

__all__ = [
    "Judgement",
    "JudgementError",
    "figures",
    "load_judgements",
    "load_sample",
    "main",
    "render_markdown",
    "replay",
    "wilson",
]

HERE = Path(__file__).resolve().parent
RESULTS = HERE.parent / "results"
VERDICTS = ("tp", "debatable", "fp", "unjudgeable")
FIX_VERDICTS = ("safe", "unsafe", "none")
# When judges disagree on a finding, the harsher verdict counts: a target met only by picking the kinder judge is
# not met.
SEVERITY = {"tp": 0, "debatable": 1, "fp": 2, "unjudgeable": -1}


class JudgementError(Exception):
    """A sample or judgement file is missing or malformed; the message is one line naming the file and line."""


@dataclass(frozen=True, slots=True)
class Judgement:
    key: str
    verdict: str
    reason: str
    fix_verdict: str
    fix_reason: str
    judge: str


def _read_jsonl(path: Path) -> list[tuple[int, dict[str, Any]]]:
    if not path.is_file():
        raise JudgementError(f"{path}: no such file")
    rows = []
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not text.strip():
            continue
        try:
            row = json.loads(text)
        except json.JSONDecodeError as exc:
            raise JudgementError(f"{path}:{number}: not JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise JudgementError(f"{path}:{number}: expected a JSON object")
        rows.append((number, row))
    return rows


def load_sample(path: Path) -> dict[str, dict[str, Any]]:
    """The sample's findings by key."""
    sample: dict[str, dict[str, Any]] = {}
    for number, row in _read_jsonl(path):
        for field in ("key", "code", "stratum_size"):
            if field not in row:
                raise JudgementError(f"{path}:{number}: no {field!r}")
        sample[str(row["key"])] = row
    return sample


def judgement_files(folder: Path, label: str) -> list[Path]:
    return sorted(
        p for p in folder.glob(f"{label}*.jsonl") if p.name == f"{label}.jsonl" or p.name.startswith(f"{label}.")
    )


def _parse_judgement(path: Path, number: int, row: dict[str, Any], sample: dict[str, dict[str, Any]]) -> Judgement:
    where = f"{path}:{number}"
    key = row.get("key")
    if not isinstance(key, str) or key not in sample:
        raise JudgementError(f"{where}: key {key!r} is not in the sample")
    verdict = row.get("verdict")
    if verdict not in VERDICTS:
        raise JudgementError(f"{where}: verdict {verdict!r} is not one of {', '.join(VERDICTS)}")
    fix_verdict = row.get("fix_verdict", "none")
    if fix_verdict not in FIX_VERDICTS:
        raise JudgementError(f"{where}: fix_verdict {fix_verdict!r} is not one of {', '.join(FIX_VERDICTS)}")
    reason = row.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise JudgementError(f"{where}: a judgement needs a one-line reason")
    return Judgement(
        key=key,
        verdict=str(verdict),
        reason=reason.strip(),
        fix_verdict=str(fix_verdict),
        fix_reason=str(row.get("fix_reason", "")).strip(),
        judge=str(row.get("judge", "")),
    )


def load_judgements(
    files: list[Path], sample: dict[str, dict[str, Any]]
) -> tuple[dict[str, Judgement], list[dict[str, Any]]]:
    """One judgement per key (the harsher on disagreement) and the list of disagreements."""
    by_key: dict[str, list[Judgement]] = {}
    for path in files:
        for number, row in _read_jsonl(path):
            judgement = _parse_judgement(path, number, row, sample)
            by_key.setdefault(judgement.key, []).append(judgement)
    chosen: dict[str, Judgement] = {}
    conflicts = []
    for key, items in by_key.items():
        judged = [j for j in items if j.verdict != "unjudgeable"] or items
        chosen[key] = max(judged, key=lambda j: (SEVERITY[j.verdict], j.fix_verdict == "unsafe"))
        if len({j.verdict for j in judged}) > 1 or len({j.fix_verdict for j in judged}) > 1:
            conflicts.append({"key": key, "verdicts": [[j.judge, j.verdict, j.fix_verdict] for j in items]})
    return chosen, conflicts


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval for a proportion (95% by default); (0, 1) when there is nothing to go on."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _weighted(per_rule: dict[str, dict[str, Any]], good: tuple[str, ...]) -> float | None:
    """Precision over all findings of the run: each rule's sample rate weighted by how many findings it has."""
    total = 0
    score = 0.0
    for row in per_rule.values():
        judged = row["tp"] + row["debatable"] + row["fp"]
        if judged:
            total += row["found"]
            score += row["found"] * sum(row[v] for v in good) / judged
    return score / total if total else None


def figures(sample: dict[str, dict[str, Any]], judgements: dict[str, Judgement]) -> dict[str, Any]:
    counts = Counter(j.verdict for j in judgements.values())
    tp, debatable, fp = counts["tp"], counts["debatable"], counts["fp"]
    judged = tp + debatable + fp
    per_rule: dict[str, dict[str, Any]] = {}
    for key, finding in sample.items():
        row = per_rule.setdefault(
            finding["code"],
            {"found": int(finding["stratum_size"]), "sampled": 0, "unjudged": 0, **{v: 0 for v in VERDICTS}},
        )
        row["sampled"] += 1
        if key in judgements:
            row[judgements[key].verdict] += 1
        else:
            row["unjudged"] += 1
    for row in per_rule.values():
        row["strict"] = _ratio(row["tp"], row["tp"] + row["debatable"] + row["fp"])
    fixes_safe = [k for k, j in judgements.items() if sample[k].get("fix_offered") == "safe"]
    fixes_unsafe = [k for k, j in judgements.items() if sample[k].get("fix_offered") == "unsafe"]
    unsafe_as_safe = [k for k in fixes_safe if judgements[k].fix_verdict == "unsafe"]
    strict_ci = wilson(tp, judged)
    lenient_ci = wilson(tp + debatable, judged)
    return {
        "sampled": len(sample),
        "judged": judged,
        "tp": tp,
        "debatable": debatable,
        "fp": fp,
        "unjudgeable": counts["unjudgeable"],
        "unjudged": len(sample) - len(judgements),
        "strict": _ratio(tp, judged),
        "strict_ci95": list(strict_ci),
        "lenient": _ratio(tp + debatable, judged),
        "lenient_ci95": list(lenient_ci),
        "strict_weighted": _weighted(per_rule, ("tp",)),
        "lenient_weighted": _weighted(per_rule, ("tp", "debatable")),
        "per_rule": dict(sorted(per_rule.items())),
        "debatable_more_than_right": sorted(c for c, r in per_rule.items() if r["debatable"] > r["tp"]),
        "wrong_more_than_right": sorted(c for c, r in per_rule.items() if r["fp"] > r["tp"]),
        "fixes_offered_safe_judged": len(fixes_safe),
        "fixes_offered_unsafe_judged": len(fixes_unsafe),
        "unsafe_fixes_offered_as_safe": len(unsafe_as_safe),
        "unsafe_fixes_offered_as_safe_keys": sorted(unsafe_as_safe),
    }


def _base_key(key: str) -> str:
    return key.split("#", 1)[0]


#: Rules split after findings were judged: the part a successor took over is reported under its code, on the same
#: line and snippet (PF002's plain-`str` secrets became PF009).
SUCCESSORS: dict[str, tuple[str, ...]] = {"PF002": ("PF009",)}


def _successor_keys(key: str) -> list[str]:
    """The same finding's key under each rule that took over part of its rule (``pkg:path:CODE:hash[#n]``)."""
    package, path_and_rest = key.split(":", 1)
    path, code, tail = path_and_rest.rsplit(":", 2)
    return [f"{package}:{path}:{successor}:{tail}" for successor in SUCCESSORS.get(code, ())]


def replay(
    sample: dict[str, dict[str, Any]], judgements: dict[str, Judgement], fresh: list[dict[str, Any]]
) -> dict[str, Any]:
    """Which judged TPs the fresh findings still report and which disappeared, and the same counts per verdict.

    A finding matches by key; failing that, by the key without its occurrence number (same file, rule and snippet,
    but an earlier identical snippet is no longer flagged).
    """
    exact = {str(f["key"]): f for f in fresh}
    loose: dict[str, dict[str, Any]] = {}
    for f in fresh:
        loose.setdefault(_base_key(str(f["key"])), f)
    still, gone = [], []
    by_verdict = {v: {"still": 0, "gone": 0} for v in VERDICTS}
    for key in sorted(judgements):
        verdict = judgements[key].verdict
        match = exact.get(key) or loose.get(_base_key(key))
        for successor in _successor_keys(key) if match is None else ():
            match = match or exact.get(successor) or loose.get(_base_key(successor))
        by_verdict[verdict]["still" if match else "gone"] += 1
        if verdict != "tp":
            continue
        old = sample[key]
        row = {"key": key, "code": old["code"], "path": old["path"], "line": old["line"]}
        if match is None:
            gone.append(row)
        else:
            still.append({**row, "line_now": match.get("line")})
    return {"tps": len(still) + len(gone), "still_reported": still, "disappeared": gone, "by_verdict": by_verdict}


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _ci(bounds: list[float]) -> str:
    return f"[{bounds[0]:.0%}, {bounds[1]:.0%}]"


def _code_commit(reviewer: dict[str, Any]) -> str:
    commit = str(reviewer.get("code_commit") or reviewer.get("commit") or "?")[:12]
    return commit + (" + uncommitted edits" if reviewer.get("uncommitted_code") else "")


def render_markdown(label: str, meta: dict[str, Any] | None, fig: dict[str, Any], rep: dict[str, Any] | None) -> str:
    out = [f"# Reviewer precision: sample `{label}`", ""]
    if meta:
        reviewer = meta.get("reviewer", {})
        packages = meta.get("packages", [])
        files = sum(p.get("files_checked", 0) for p in packages)
        lines = sum(p.get("lines", 0) for p in packages)
        findings = sum(p.get("findings", 0) for p in packages)
        out += [
            f"Reviewer `{reviewer.get('version', '?')}`, code at commit `{_code_commit(reviewer)}`; seed "
            f"{meta.get('seed')}; {len(packages)} packages, {files} files checked, {lines} Python lines, "
            f"{findings} findings, {fig['sampled']} sampled (stratified by rule).",
            "",
            "| package | version | kind | files | Python lines | findings |",
            "|---|---|---|---|---|---|",
            *(
                f"| {p['name']} | {p['version']} | {p['kind']} | {p['files_checked']} | {p['lines']} "
                f"| {p['findings']} |"
                for p in packages
            ),
            "",
        ]
    out += [
        f"Judged {fig['judged']} ({fig['tp']} TP, {fig['debatable']} debatable, {fig['fp']} FP); "
        f"{fig['unjudgeable']} unjudgeable, {fig['unjudged']} not judged yet.",
        "",
        "| figure | sample | 95% Wilson | weighted by rule share |",
        "|---|---|---|---|",
        f"| strict precision tp/(tp+debatable+fp) | {_pct(fig['strict'])} | {_ci(fig['strict_ci95'])} | "
        f"{_pct(fig['strict_weighted'])} |",
        f"| lenient precision (tp+debatable)/judged | {_pct(fig['lenient'])} | {_ci(fig['lenient_ci95'])} | "
        f"{_pct(fig['lenient_weighted'])} |",
        "",
        f"Fixes offered as safe and judged: {fig['fixes_offered_safe_judged']}; judged unsafe: "
        f"**{fig['unsafe_fixes_offered_as_safe']}**. Fixes offered as unsafe and judged: "
        f"{fig['fixes_offered_unsafe_judged']}.",
        "",
        f"Debatable more often than right: {', '.join(fig['debatable_more_than_right']) or 'none'}. "
        f"Wrong more often than right: {', '.join(fig['wrong_more_than_right']) or 'none'}.",
        "",
        "| rule | found | sampled | TP | debatable | FP | unjudgeable | not judged | strict |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for code, row in fig["per_rule"].items():
        out.append(
            f"| {code} | {row['found']} | {row['sampled']} | {row['tp']} | {row['debatable']} | {row['fp']} | "
            f"{row['unjudgeable']} | {row['unjudged']} | {_pct(row['strict'])} |"
        )
    if rep is not None:
        out += [
            "",
            f"## Replay of `{rep['label']}`'s judged true positives against {rep['against']}",
            "",
            f"{len(rep['still_reported'])} of {rep['tps']} still reported; {len(rep['disappeared'])} disappeared.",
            "",
            "| verdict then | still reported | gone |",
            "|---|---|---|",
            *(f"| {v} | {c['still']} | {c['gone']} |" for v, c in rep["by_verdict"].items()),
        ]
        for row in rep["disappeared"]:
            out.append(f"- gone: `{row['key']}` (line {row['line']})")
    return "\n".join(out) + "\n"


def _fresh_findings(args: argparse.Namespace) -> tuple[list[dict[str, Any]], str]:
    if args.fresh:
        path = HERE / "samples" / f"{args.fresh}.all.jsonl"
        return [row for _, row in _read_jsonl(path)], f"run `{args.fresh}`"
    reviewer = parse_reviewer(args.reviewer)
    reviews = collect((args.dir or default_dir()).expanduser().resolve(), reviewer, args.jobs)
    return [public(r) for review in reviews for r in review.findings], f"a fresh review by `{' '.join(reviewer)}`"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", required=True, help="the judged sample to report on")
    parser.add_argument("--replay", metavar="OLD", help="check OLD's judged TPs against a fresh review")
    parser.add_argument("--fresh", metavar="NEW", help="with --replay: compare with samples/NEW.all.jsonl instead")
    parser.add_argument("--reviewer", help="with --replay: the reviewer command for the fresh review")
    parser.add_argument("--dir", type=Path, help="with --replay: the fetched packages")
    parser.add_argument("--jobs", type=int, default=1, help="with --replay: reviewer worker processes")
    parser.add_argument("--samples", type=Path, default=HERE / "samples", help="samples folder")
    parser.add_argument("--judgements", type=Path, default=HERE / "judgements", help="judgements folder")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where precision.md/json go")
    args = parser.parse_args(argv)
    try:
        sample = load_sample(args.samples / f"{args.label}.jsonl")
        files = judgement_files(args.judgements, args.label)
        if not files:
            raise JudgementError(
                f"no judgements for {args.label!r} in {args.judgements} (judges write {args.label}.jsonl)"
            )
        judgements, conflicts = load_judgements(files, sample)
        fig = figures(sample, judgements)
        fig["conflicts"] = conflicts
        meta_path = args.samples / f"{args.label}.meta.json"
        meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else None
        rep = None
        if args.replay:
            old_sample = load_sample(args.samples / f"{args.replay}.jsonl")
            old_files = judgement_files(args.judgements, args.replay)
            if not old_files:
                raise JudgementError(f"no judgements for {args.replay!r} in {args.judgements}")
            old_judgements, _ = load_judgements(old_files, old_sample)
            fresh, against = _fresh_findings(args)
            rep = {"label": args.replay, "against": against, **replay(old_sample, old_judgements, fresh)}
    except (JudgementError, ReviewError, OSError, ValueError) as exc:
        print(f"report: {exc}", file=sys.stderr)
        return 1
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "precision.md").write_text(render_markdown(args.label, meta, fig, rep), encoding="utf-8")
    data = {"label": args.label, "meta": meta, "figures": fig, "replay": rep}
    (args.results / "precision.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(render_markdown(args.label, meta, fig, rep))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
