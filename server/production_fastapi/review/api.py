"""The Python API the CLI, the MCP server and the evals call."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath

from production_fastapi.review.config import Config
from production_fastapi.review.engine import check_project, check_python, check_text
from production_fastapi.review.files import classify
from production_fastapi.review.findings import Finding, Report
from production_fastapi.review.fixing import fix_loop
from production_fastapi.rules import all_rules
from production_fastapi.rules.base import Rule
from production_fastapi.rules.context import module_name_for

__all__ = ["fix_source", "review_paths", "review_source", "rules_for"]


def rules_for(config: Config, path: Path) -> tuple[Rule, ...]:
    """The rules selected by ``config`` that per-file ignores leave on for ``path``."""
    return _selected(config, config.ignored_for(path))


@functools.lru_cache(maxsize=256)
def _selected(config: Config, ignored: tuple[str, ...]) -> tuple[Rule, ...]:
    # Thousands of files share a handful of (configuration, per-file ignores) pairs.
    return tuple(
        rule
        for rule in all_rules()
        if config.is_selected(rule.code, bool(rule.opt_in))
        and not any(s == "ALL" or rule.code.startswith(s) for s in ignored)
    )


def _source_config(
    config: Config | None,
    select: Sequence[str] | None,
    ignore: Sequence[str] | None,
    extend_select: Sequence[str] | None = None,
) -> Config:
    base = config or Config(root=Path.cwd())
    return base.with_overrides(select=select, ignore=ignore, extend_select=extend_select)


def review_source(
    source: str,
    filename: str = "app/main.py",
    *,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] | None = None,
    config: Config | None = None,
    project_rules: bool = True,
    extend_select: Sequence[str] | None = None,
) -> list[Finding]:
    """Review one file's text as if it lived at ``filename`` (which decides Python vs Dockerfile etc.).

    Project rules see this one file as an incomplete project (``ProjectContext.complete`` is False), so rules about
    something *missing* from the whole app stay silent unless the file itself settles it.
    """
    cfg = _source_config(config, select, ignore, extend_select)
    rules = rules_for(cfg, Path(filename))
    all_globs = tuple(glob for rule in all_rules() for glob in rule.files)
    if classify(Path(filename), all_globs, explicit=True) == "text":
        return check_text(filename, source, rules, cfg.targets).findings
    module = module_name_for(PurePosixPath(filename).as_posix())
    outcome, ctx = check_python(filename, source, rules, module, targets=cfg.targets)
    findings = outcome.findings
    if ctx is not None and project_rules:
        codes = frozenset(r.code for r in rules)
        findings += check_project(
            [ctx], rules, complete=False, allowed={filename: codes}, targets=cfg.targets
        ).findings
    if outcome.internal_errors:
        raise RuntimeError("; ".join(outcome.internal_errors))
    return sorted(findings, key=Finding.sort_key)


def fix_source(
    source: str,
    filename: str = "app/main.py",
    *,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] | None = None,
    config: Config | None = None,
    unsafe_fixes: bool = False,
    extend_select: Sequence[str] | None = None,
) -> tuple[str, list[Finding]]:
    """Apply every safe fix (and the unsafe ones with ``unsafe_fixes``), to a fixed point; return the new source
    with the findings that remain. ``config.targets`` are the library versions the code targets."""
    cfg = _source_config(config, select, ignore, extend_select)
    rules = rules_for(cfg, Path(filename))
    module = module_name_for(PurePosixPath(filename).as_posix())
    result = fix_loop(filename, source, rules, module, targets=cfg.targets, unsafe_fixes=unsafe_fixes)
    return result.source, result.remaining


def review_paths(
    paths: Iterable[Path | str],
    *,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] | None = None,
    extend_select: Sequence[str] | None = None,
    config: Config | None = None,
    fix: bool = False,
    diff: bool = False,
    unsafe_fixes: bool = False,
    cache: bool = True,
    cache_dir: Path | None = None,
    jobs: int | None = None,
) -> Report:
    """Review files and directories (Python files and the deployment files text rules read).

    Configuration comes from the nearest ``[tool.production-fastapi]`` upward of each path unless ``config`` is
    given; ``select``/``ignore``/``extend_select`` override it (opt-in rules run only when named by code).
    ``fix`` rewrites files with the safe fixes (and the unsafe ones with ``unsafe_fixes``, which also makes the
    report count them as fixable); ``diff`` computes the same changes into ``Report.diffs`` without writing.
    ``jobs`` caps worker processes (1 runs everything in process).
    The cache lives outside the reviewed folders (``cache_dir``, else ``$PRODUCTION_FASTAPI_CACHE_DIR``, else a
    per-project folder under ``$XDG_CACHE_HOME/production-fastapi``); ``cache=False`` neither reads nor writes it.
    """
    from production_fastapi.review.runner import Runner

    runner = Runner(
        config=config,
        select=select,
        ignore=ignore,
        extend_select=extend_select,
        cache=cache,
        cache_dir=cache_dir,
        jobs=jobs,
    )
    return runner.run([Path(p) for p in paths], fix=fix, diff=diff, unsafe_fixes=unsafe_fixes)
