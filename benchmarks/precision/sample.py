"""Review the fetched packages and draw a stratified random sample of findings for judges.

    .venv/bin/python -m benchmarks.precision.sample --label before [--seed 12] [--size 120] [--dir DIR]
        [--reviewer "/path/to/production-fastapi"] [--jobs 1]

Writes benchmarks/precision/samples/<label>.jsonl (one finding per line, with a code excerpt, the enclosing
function/class headers and the unpacked file's absolute path, so a judge can judge from the file alone),
<label>.all.jsonl (every finding's key and location, no code: what a later run is compared against) and
<label>.meta.json (the reviewer, the seed, and per-package totals).

Stratified by rule code: every code present gets min(count, 3) findings and the rest of the budget goes to the
codes in proportion to their remaining counts (largest remainder), so a rule with 3 findings is judged as surely
as one with 600 and the big rules still dominate as they do in real output.
"""

from __future__ import annotations

import argparse
import json
import random
import shlex
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from benchmarks.precision.collect import (
    PARSE_ERROR_CODE,
    ReviewError,
    collect,
    enclosing_headers,
    excerpt,
    fix_diff,
    parse_reviewer,
    public,
)
from benchmarks.precision.packages import default_dir

__all__ = ["allocate", "draw", "main"]

HERE = Path(__file__).resolve().parent
MIN_PER_CODE = 3
# What a later run needs to match findings against this one; the code and excerpts live in the sample only.
ALL_FIELDS = ("key", "package", "version", "path", "line", "hash", "code", "fix_offered")


def allocate(counts: dict[str, int], size: int) -> dict[str, int]:
    """How many findings to draw per code: min(count, 3) each, the remainder proportional to what is left.

    The per-code minimum wins over `size`: with many rare rules the sample is larger than asked, never thinner.
    """
    take = {code: min(n, MIN_PER_CODE) for code, n in counts.items()}
    budget = min(size, sum(counts.values())) - sum(take.values())
    left = {code: counts[code] - take[code] for code in counts}
    total_left = sum(left.values())
    if budget <= 0 or total_left == 0:
        return take
    shares = {code: budget * n / total_left for code, n in left.items()}
    for code, share in shares.items():
        take[code] += int(share)
    remaining = budget - sum(int(s) for s in shares.values())
    # Largest remainder first; ties broken by code so the allocation never depends on dict order.
    by_remainder = sorted(shares, key=lambda c: (-(shares[c] - int(shares[c])), c))
    for code in by_remainder:
        if remaining == 0:
            break
        if take[code] < counts[code]:
            take[code] += 1
            remaining -= 1
    return take


def draw(records: list[dict[str, Any]], size: int, seed: int) -> list[dict[str, Any]]:
    """The stratified sample, each record annotated with its stratum's size and sample count."""
    by_code: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in sorted(records, key=lambda r: r["key"]):
        if record["code"] != PARSE_ERROR_CODE:
            by_code[record["code"]].append(record)
    take = allocate({code: len(items) for code, items in by_code.items()}, size)
    rng = random.Random(seed)
    sample = []
    for code in sorted(by_code):
        for record in rng.sample(by_code[code], take[code]):
            sample.append({**record, "stratum_size": len(by_code[code]), "stratum_sampled": take[code]})
    rng.shuffle(sample)  # judges read in this order: mixing rules keeps one rule's pattern from anchoring a verdict
    return sample


def _git(checkout: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(checkout), *args], capture_output=True, text=True, check=False
    ).stdout.strip()


def _reviewer_identity(reviewer: list[str]) -> dict[str, Any]:
    """Which reviewer produced the findings: its command, its version and, when it runs from a git checkout (an
    editable install), the checkout's HEAD, the last commit that changed the reviewer's code (server/), and whether
    that code has uncommitted edits."""
    version = subprocess.run([*reviewer, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    identity: dict[str, Any] = {"command": shlex.join(reviewer), "version": version}
    for parent in Path(reviewer[0]).resolve().parents:
        if (parent / ".git").exists():
            identity["checkout"] = str(parent)
            identity["head"] = _git(parent, "rev-parse", "HEAD")
            identity["code_commit"] = _git(parent, "log", "-1", "--format=%H", "--", "server")
            identity["uncommitted_code"] = bool(_git(parent, "status", "--porcelain", "--", "server"))
            break
    return identity


def _sample_line(record: dict[str, Any], reviewer: list[str]) -> dict[str, Any]:
    lines: list[str] = record["_lines"]
    out = public(record)
    out["fix_diff"] = fix_diff(reviewer, record["_folder"], record)
    out["excerpt"] = excerpt(lines, record["line"], record["end_line"])
    out["enclosing"] = enclosing_headers(record["_tree"], lines, record["line"])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", required=True, help="sample name, e.g. before / after-rules-v2")
    parser.add_argument("--seed", default="12", help="random seed, an integer (default: %(default)s)")
    parser.add_argument("--size", type=int, default=120, help="findings to draw (default: %(default)s)")
    parser.add_argument("--dir", type=Path, default=default_dir(), help="fetched packages (default: %(default)s)")
    parser.add_argument("--reviewer", help="reviewer command (default: production-fastapi beside this Python)")
    parser.add_argument("--jobs", type=int, default=1, help="reviewer worker processes (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=HERE / "samples", help="output folder (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        seed = int(args.seed)
    except ValueError:
        print(f"sample: --seed must be an integer, not {args.seed!r}", file=sys.stderr)
        return 2
    if not args.label or "/" in args.label or args.label.startswith("."):
        print(f"sample: --label must be a plain file name, not {args.label!r}", file=sys.stderr)
        return 2
    if args.size < 1 or args.jobs < 1:
        print("sample: --size and --jobs must be at least 1", file=sys.stderr)
        return 2
    try:
        reviewer = parse_reviewer(args.reviewer)
        reviews = collect(args.dir.expanduser().resolve(), reviewer, args.jobs)
    except (ReviewError, FileNotFoundError, ValueError) as exc:
        print(f"sample: {exc}", file=sys.stderr)
        return 1
    for review in reviews:
        if review.errors:
            # Kept in the meta file: a file the reviewer failed on has no findings, which would flatter precision.
            print(
                f"sample: warning: {len(review.errors)} run errors in {review.name}: {review.errors[0]}",
                file=sys.stderr,
            )
    records = [r for review in reviews for r in review.findings]
    sample = draw(records, args.size, seed)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    with (out / f"{args.label}.jsonl").open("w", encoding="utf-8") as fh:
        for record in sample:
            fh.write(json.dumps(_sample_line(record, reviewer), ensure_ascii=False) + "\n")
    with (out / f"{args.label}.all.jsonl").open("w", encoding="utf-8") as fh:
        for record in records:
            slim = {k: record[k] for k in ALL_FIELDS}
            fh.write(json.dumps(slim, ensure_ascii=False) + "\n")
    meta = {
        "label": args.label,
        "seed": seed,
        "size": len(sample),
        "reviewer": _reviewer_identity(reviewer),
        "packages": [
            {
                "name": r.name,
                "version": r.version,
                "kind": r.kind,
                "files_checked": r.files_checked,
                "lines": r.lines,
                "findings": len(r.findings),
                "by_code": dict(sorted(Counter(f["code"] for f in r.findings).items())),
                "errors": r.errors,
            }
            for r in reviews
        ],
        "by_code": dict(sorted(Counter(r["code"] for r in records).items())),
        "sampled_by_code": dict(sorted(Counter(r["code"] for r in sample).items())),
    }
    (out / f"{args.label}.meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    print(f"sample: {len(records)} findings in {len(reviews)} packages; drew {len(sample)} -> {out / args.label}.jsonl")
    for code, n in meta["by_code"].items():
        print(f"  {code}: {n} found, {meta['sampled_by_code'].get(code, 0)} sampled")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
