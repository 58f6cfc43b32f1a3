"""``production-fastapi install``: put the skill folder where an agent looks for skills.

Claude Code reads ``.claude/skills/<name>/`` (project) and ``~/.claude/skills/<name>/`` (user); Codex, Copilot and
Gemini CLI read ``.agents/skills/<name>/``. The folder gets SKILL.md, templates/, references/ and
``scripts/production-fastapi``, a launcher that runs the CLI even when it is not on ``PATH``. An existing folder
with the same content is left alone; a different one is replaced only with ``--force``, and the replacement is
built beside it and swapped in by rename so an interrupted install never leaves half a skill.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
from pathlib import Path

from production_fastapi import bundle
from production_fastapi.cli import EXIT_OK, CommandError

SKILL_NAME = "production-fastapi"
LAUNCHER = "production-fastapi"
#: Beside the launcher: the Python that installed the skill (one absolute path).
INSTALLED_BY = "installed-by-python.txt"
_AGENT_DIRS = {"claude": ".claude", "agents": ".agents"}
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".mypy_cache", ".ruff_cache")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scope",
        choices=("project", "user"),
        default="project",
        help="project: under --project (default: the current directory); user: under your home directory",
    )
    parser.add_argument(
        "--agent",
        choices=tuple(_AGENT_DIRS),
        default="claude",
        help="claude: .claude/skills/ (Claude Code); agents: .agents/skills/ (Codex, Copilot, Gemini CLI)",
    )
    parser.add_argument("--project", type=Path, default=Path.cwd(), help="project root for --scope project")
    parser.add_argument("--force", action="store_true", help="replace an existing folder whose content differs")


def destination(scope: str, agent: str, project: Path, home: Path | None = None) -> Path:
    base = (home or Path.home()) if scope == "user" else project
    return base / _AGENT_DIRS[agent] / "skills" / SKILL_NAME


def _stage(target: Path) -> Path:
    """Copy the skill into a fresh folder beside ``target`` (same file system, so the final rename is atomic)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{SKILL_NAME}-", dir=target.parent))
    root = bundle.bundle_root()
    shutil.copy2(root / "SKILL.md", staging / "SKILL.md")
    for folder in ("templates", "references"):
        shutil.copytree(root / folder, staging / folder, ignore=_IGNORE)
    # Only the launcher: the checkout's other scripts (test, demo) are for developing this package.
    (staging / "scripts").mkdir()
    shutil.copy2(root / "scripts" / LAUNCHER, staging / "scripts" / LAUNCHER)
    # The interpreter that ran this install can run the CLI: the launcher tries it when nothing is on PATH (an
    # agent's shell rarely has the virtual environment the user installed into).
    (staging / "scripts" / INSTALLED_BY).write_text(sys.executable + "\n", encoding="utf-8")
    return staging


def _same_tree(left: Path, right: Path) -> bool:
    comparison = filecmp.dircmp(left, right, ignore=["__pycache__", ".mypy_cache", ".ruff_cache"])
    if comparison.left_only or comparison.right_only or comparison.funny_files:
        return False
    _, mismatch, errors = filecmp.cmpfiles(left, right, comparison.common_files, shallow=False)
    if mismatch or errors:
        return False
    return all(_same_tree(left / sub, right / sub) for sub in comparison.common_dirs)


def install(target: Path, *, force: bool = False) -> str:
    """Install the skill at ``target``; returns what happened (``installed``, ``unchanged`` or ``replaced``)."""
    if target.exists() and not target.is_dir():
        raise CommandError(f"{target} exists and is not a folder; move it away first")
    staging = _stage(target)
    try:
        if not target.exists():
            staging.rename(target)
            return "installed"
        if _same_tree(staging, target):
            return "unchanged"
        if not force:
            raise CommandError(f"{target} already exists with different content; pass --force to replace it")
        retired = target.with_name(f".{target.name}.old")
        shutil.rmtree(retired, ignore_errors=True)
        target.rename(retired)
        staging.rename(target)
        shutil.rmtree(retired, ignore_errors=True)
        return "replaced"
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def run(args: argparse.Namespace) -> int:
    target = destination(args.scope, args.agent, args.project.resolve())
    try:
        outcome = install(target, force=args.force)
    except bundle.BundleError as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(f"cannot write {target}: {exc.strerror or exc}") from None
    print(f"{outcome}: {target}")
    return EXIT_OK
