"""``production-fastapi review PATH...``: check files and folders, print findings, exit 0 / 1 / 2.

Exit codes: 0 nothing at or above ``--fail-on``; 1 findings at or above it (with ``--diff``: changes to apply);
2 a usage, configuration or I/O error (or a rule crashed: a bug of ours, reported, never a traceback).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from production_fastapi.cli import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, CommandError

if TYPE_CHECKING:
    from production_fastapi.review.config import Config
    from production_fastapi.review.findings import Report

__all__ = ["configure", "run"]

_FORMATS = ("text", "json", "sarif", "markdown", "github")
_SEVERITIES = ("error", "warning", "info")


def _codes(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", type=Path, help="files and folders to review (default: .); - reads stdin")
    parser.add_argument("--format", choices=_FORMATS, default="text", help="output format (default: text)")
    parser.add_argument("-o", "--output-file", type=Path, help="write the report here instead of stdout")
    parser.add_argument(
        "--fail-on", choices=_SEVERITIES, help="lowest severity that makes the exit code 1 (default: warning)"
    )
    parser.add_argument(
        "--select",
        type=_codes,
        action="extend",
        help="only these rules (PF, PF7, PF702, ALL; commas); opt-in rules only by full code or ALL",
    )
    parser.add_argument("--ignore", type=_codes, action="extend", help="skip these rules (added to the config's)")
    parser.add_argument(
        "--extend-select", type=_codes, action="extend", help="add rules to the selection (e.g. the opt-in PF203)"
    )
    parser.add_argument("--fix", action="store_true", help="apply the safe fixes to the files")
    parser.add_argument(
        "--unsafe-fixes",
        action="store_true",
        help="also apply (with --fix/--diff) and show as fixable the unsafe fixes, which may change behaviour",
    )
    parser.add_argument("--diff", action="store_true", help="print the fixes as a unified diff; change nothing")
    parser.add_argument("--no-cache", action="store_true", help="check every file, ignoring and not writing the cache")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        help="cache folder (default: $PRODUCTION_FASTAPI_CACHE_DIR, else a per-project folder under "
        "$XDG_CACHE_HOME/production-fastapi or ~/.cache/production-fastapi; never inside the reviewed folder)",
    )
    parser.add_argument("--config", type=Path, help="a pyproject.toml to use instead of discovering one")
    parser.add_argument("--jobs", type=int, help="worker processes (default: one per core; 1 = in process)")
    parser.add_argument("--stdin-filename", help="the name to report stdin as (with -); decides Python vs Dockerfile")
    parser.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are findings")
    parser.add_argument("-q", "--quiet", action="store_true", help="text format: findings only, no summary line")


def _stdin_report(args: argparse.Namespace, config: Config | None) -> Report:
    """``review -``: the source comes from stdin (editors, pipelines), reported under ``--stdin-filename``."""
    from production_fastapi.review import Report, review_source

    if args.fix or args.diff:
        raise CommandError("--fix and --diff work on files, not on stdin")
    filename = args.stdin_filename or "stdin.py"
    source = sys.stdin.buffer.read().decode("utf-8", errors="replace")
    if config is None:
        # An editor pipes a file of the project it has open: judge it against the versions that project declares.
        from production_fastapi.review.config import Config, find_config, with_targets

        folder = Path(filename).parent
        project = with_targets(find_config(folder if folder.is_dir() else Path(".")))
        config = Config(root=Path.cwd(), targets=project.targets)
    findings = review_source(
        source, filename, select=args.select, ignore=args.ignore, extend_select=args.extend_select, config=config
    )
    return Report(findings=findings, files_checked=1, unsafe_fixes=args.unsafe_fixes)


def run(args: argparse.Namespace) -> int:
    from production_fastapi.report import render
    from production_fastapi.review import ConfigError, review_paths
    from production_fastapi.review.config import find_config, load_config

    if args.fix and args.diff:
        raise CommandError("choose --fix (write the changes) or --diff (show them), not both")
    if args.jobs is not None and args.jobs < 1:
        raise CommandError("--jobs must be at least 1")
    paths: list[Path] = args.paths or [Path(".")]
    try:
        config = load_config(args.config) if args.config else None
        if [str(p) for p in paths] == ["-"]:
            report = _stdin_report(args, config)
        else:
            if any(str(p) == "-" for p in paths):
                raise CommandError("- (stdin) cannot be mixed with paths")
            report = review_paths(
                paths,
                select=args.select,
                ignore=args.ignore,
                extend_select=args.extend_select,
                config=config,
                fix=args.fix,
                diff=args.diff,
                unsafe_fixes=args.unsafe_fixes,
                cache=not args.no_cache,
                cache_dir=args.cache_dir,
                jobs=args.jobs,
            )
        fail_on = args.fail_on or (config or find_config(paths[0] if str(paths[0]) != "-" else Path("."))).fail_on
    except ConfigError as exc:
        raise CommandError(str(exc)) from None
    if args.diff:
        sys.stdout.write("".join(report.diffs[path] for path in report.changed))
        would = len(report.changed)
        if would:
            print(f"Would fix {would} file{'s' if would != 1 else ''}.", file=sys.stderr)
        for error in report.errors:
            print(f"error: {error}", file=sys.stderr)
        if report.errors:
            return EXIT_ERROR
        return EXIT_FINDINGS if would and not args.exit_zero else EXIT_OK
    output = render(report, args.format)
    if args.format == "text" and args.quiet:
        output = "".join(line + "\n" for line in output.splitlines()[:-1])
    if args.format == "text":
        for error in report.errors:
            print(f"error: {error}", file=sys.stderr)
    if args.output_file:
        try:
            args.output_file.write_text(output, encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"cannot write {args.output_file}: {exc.strerror or exc}") from None
    else:
        sys.stdout.write(output)
    if report.errors:
        return EXIT_ERROR
    if args.exit_zero:
        return EXIT_OK
    return EXIT_FINDINGS if report.at_or_above(fail_on) else EXIT_OK
