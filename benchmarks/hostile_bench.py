"""Replay the hostile-checkout race scenarios (issue 13) for a fixed number of rounds and count what must be zero.

Each scenario runs the real code (the MCP review tools, the reviewer's walk, the scaffolder) while a thread swaps a
path component for a symbolic link to a folder outside, or while the tree holds a FIFO or a ``/dev/zero`` link.
Counted per scenario:

- outside reads / writes: a result that shows the outside file's content or finding, a file written outside;
- "Created" that lied: a scaffold that answered success although the project is not at the destination;
- hangs: calls that did not return within 30 s (each call runs in a thread joined with a timeout);
- unclear refusals: a refusal that is not one line, or carries a traceback.

Every scenario runs through the kernel's ``openat2`` when available and again through the portable descriptor walk.

    python benchmarks/hostile_bench.py --rounds 3000 --out benchmarks/results/hostile.md
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from production_fastapi import fsaccess

HANG_SECONDS = 30.0
CLEAN = "x = 1\n"
FLAGGED = "import time\n\n\nasync def handler() -> None:\n    time.sleep(1)  # OUTSIDE-MARKER\n"


@dataclass
class Tally:
    scenario: str
    mode: str
    rounds: int = 0
    answered: int = 0
    refused: int = 0
    outside: int = 0
    lies: int = 0
    hangs: int = 0
    unclear: int = 0
    seconds: float = 0.0
    examples: list[str] = field(default_factory=list)

    def refusal(self, message: str) -> None:
        self.refused += 1
        if "\n" in message.strip() or "Traceback" in message or not message.strip():
            self.unclear += 1
            if len(self.examples) < 3:
                self.examples.append(message[:200])


def _timed(call: Callable[[], object]) -> tuple[bool, object, BaseException | None]:
    """(finished in time, result, exception) of ``call`` in a thread joined with HANG_SECONDS."""
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["result"] = call()
        except BaseException as exc:  # every outcome is counted, none may escape the bench
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(HANG_SECONDS)
    if thread.is_alive():
        return False, None, None
    error = box.get("error")
    return True, box.get("result"), error if isinstance(error, BaseException) else None


@contextmanager
def _swapper(folder: Path, name: str, target: Path) -> Iterator[None]:
    """``folder/name`` flips between itself and a link to ``target``, one atomic exchange per flip where the system
    can (else two renames), in a thread, for as long as the block runs; it ends as the real folder."""
    link = f".{name}.link"
    (folder / link).symlink_to(target, target_is_directory=True)
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    stop = threading.Event()

    def flip() -> None:
        if not fsaccess.rename_flags(fd, name, fd, link, fsaccess.RENAME_EXCHANGE):
            os.rename(name, ".swap", src_dir_fd=fd, dst_dir_fd=fd)
            os.rename(link, name, src_dir_fd=fd, dst_dir_fd=fd)
            os.rename(".swap", link, src_dir_fd=fd, dst_dir_fd=fd)

    def run() -> None:
        flips = 0
        while not stop.is_set() or flips % 2:
            flip()
            flips += 1
            time.sleep(0.0003)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(30)
        os.close(fd)


def _workspace(base: Path) -> tuple[Path, Path]:
    allowed = base / "allowed"
    (allowed / "app").mkdir(parents=True)
    (allowed / "app" / "main.py").write_text(CLEAN)
    outside = base / "outside"
    (outside / "app").mkdir(parents=True)
    (outside / "app" / "main.py").write_text(FLAGGED)
    return allowed, outside


def review_file_race(base: Path, rounds: int, tally: Tally) -> None:
    from mcp.server.mcpserver.exceptions import ToolError

    from production_fastapi.mcp.paths import PathPolicy
    from production_fastapi.mcp.reviewing import review_file

    allowed, outside = _workspace(base)
    policy = PathPolicy.from_dirs([allowed])
    with _swapper(allowed, "app", outside / "app"):
        for _ in range(rounds):
            tally.rounds += 1
            done, result, error = _timed(lambda: review_file(policy, "app/main.py", None, None, 25))
            if not done:
                tally.hangs += 1
            elif isinstance(error, ToolError):
                tally.refusal(str(error))
            elif error is not None:
                tally.refusal(f"Traceback: {type(error).__name__}: {error}")
            else:
                tally.answered += 1
                tally.outside += getattr(result, "total", 0)  # the inside file has no finding at all


def review_project_race(base: Path, rounds: int, tally: Tally) -> None:
    from mcp.server.mcpserver.exceptions import ToolError

    from production_fastapi.mcp.paths import PathPolicy
    from production_fastapi.mcp.reviewing import review_project

    allowed, outside = _workspace(base)
    policy = PathPolicy.from_dirs([allowed])
    with _swapper(allowed, "app", outside / "app"):
        for _ in range(rounds):
            tally.rounds += 1
            done, result, error = _timed(lambda: review_project(policy, "app", 25))
            if not done:
                tally.hangs += 1
            elif isinstance(error, ToolError):
                tally.refusal(str(error))
            elif error is not None:
                tally.refusal(f"Traceback: {type(error).__name__}: {error}")
            else:
                tally.answered += 1
                tally.outside += getattr(result, "total", 0)
                for message in getattr(result, "errors", []):
                    if "\n" in message or "Traceback" in message:
                        tally.unclear += 1


def reviewer_walk_race(base: Path, rounds: int, tally: Tally) -> None:
    from production_fastapi.review import Config, review_paths

    allowed, outside = _workspace(base)
    with _swapper(allowed, "app", outside / "app"):
        for _ in range(rounds):
            tally.rounds += 1
            done, result, error = _timed(
                lambda: review_paths([allowed], config=Config(root=allowed), select=["PF702"], cache=False, jobs=1)
            )
            if not done:
                tally.hangs += 1
            elif error is not None:
                tally.refusal(f"Traceback: {type(error).__name__}: {error}")
            else:
                tally.answered += 1
                tally.outside += len(getattr(result, "findings", []))
                for message in getattr(result, "errors", []):
                    tally.refusal(message)


def special_files(base: Path, rounds: int, tally: Tally) -> None:
    """A FIFO .gitignore, a /dev/zero .gitignore, a FIFO and a /dev/zero link named directly: each call returns."""
    from production_fastapi.review import Config, review_paths

    root = base / "special"
    for kind in ("fifo", "zero"):
        (root / kind).mkdir(parents=True)
        (root / kind / "main.py").write_text(CLEAN)
    os.mkfifo(root / "fifo" / ".gitignore")
    (root / "zero" / ".gitignore").symlink_to("/dev/zero")
    os.mkfifo(root / "pipe.py")
    (root / "dev.py").symlink_to("/dev/zero")
    targets = [root / "fifo", root / "zero", root / "pipe.py", root / "dev.py"]
    for index in range(rounds):
        tally.rounds += 1
        target = targets[index % len(targets)]
        done, result, error = _timed(
            lambda: review_paths([target], config=Config(root=root), cache=False, jobs=1)  # noqa: B023
        )
        if not done:
            tally.hangs += 1
        elif error is not None:
            tally.refusal(f"Traceback: {type(error).__name__}: {error}")
        else:
            tally.answered += 1
            errors = list(getattr(result, "errors", []))
            if not errors:
                tally.unclear += 1  # a special file must be reported, never skipped silently
            for message in errors:
                tally.refusal(message)


def scaffold_parent_race(base: Path, rounds: int, tally: Tally) -> None:
    from production_fastapi.scaffold import ScaffoldError, generate

    allowed = base / "allowed"
    (allowed / "parent").mkdir(parents=True)
    target = base / "outside-target"
    target.mkdir()
    with _swapper(allowed, "parent", target):
        for index in range(rounds):
            tally.rounds += 1
            dest = allowed / "parent" / f"s{index}"
            done, _, error = _timed(
                lambda: generate("svc", dest, within=lambda real: real.is_relative_to(allowed))  # noqa: B023
            )
            if not done:
                tally.hangs += 1
            elif isinstance(error, ScaffoldError):
                tally.refusal(str(error))
                if str(base / "outside") in str(error):
                    tally.unclear += 1
            elif error is not None:
                tally.refusal(f"Traceback: {type(error).__name__}: {error}")
            else:
                tally.answered += 1
                # Checked once the swapper has stopped below; remember what was claimed.
                tally.examples.append(f"created:{dest.name}")
    claimed = [e.removeprefix("created:") for e in tally.examples if e.startswith("created:")]
    tally.examples = [e for e in tally.examples if not e.startswith("created:")]
    tally.lies += sum(not (allowed / "parent" / name / "svc" / "app.py").is_file() for name in claimed)
    tally.outside += sum(1 for _ in target.rglob("*"))


SCENARIOS: dict[str, Callable[[Path, int, Tally], None]] = {
    "review_file under a swapper (MCP)": review_file_race,
    "review_project under a swapper (MCP)": review_project_race,
    "reviewer walk under a swapper (CLI)": reviewer_walk_race,
    "FIFO / /dev/zero files (CLI)": special_files,
    "scaffold with its parent swapped (MCP)": scaffold_parent_race,
}
#: Scaffolds write ~40 files each: they get a tenth of the rounds.
_SCALE = {"scaffold with its parent swapped (MCP)": 0.1, "FIFO / /dev/zero files (CLI)": 0.1}


def run(rounds: int, modes: tuple[str, ...] = ("openat2", "walk")) -> list[Tally]:
    tallies: list[Tally] = []
    saved = fsaccess._openat2
    try:
        for mode in modes:
            if mode == "openat2" and saved is None:
                continue
            fsaccess._openat2 = saved if mode == "openat2" else None
            for name, scenario in SCENARIOS.items():
                tally = Tally(name, mode)
                count = max(4, int(rounds * _SCALE.get(name, 1.0)))
                base = Path(tempfile.mkdtemp(prefix="hostile-bench-"))
                started = time.perf_counter()
                try:
                    scenario(base, count, tally)
                finally:
                    tally.seconds = time.perf_counter() - started
                    shutil.rmtree(base, ignore_errors=True)
                tallies.append(tally)
    finally:
        fsaccess._openat2 = saved
    return tallies


def render(tallies: list[Tally], rounds: int) -> str:
    lines = [
        "# Hostile-checkout benchmark",
        "",
        f"Generated by `benchmarks/hostile_bench.py --rounds {rounds}` on "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"Linux {platform.release()}, {platform.machine()}, {os.cpu_count()} cores; openat2 "
        f"{'available' if fsaccess.has_openat2() else 'not available'}.",
        "",
        "Each scenario runs the real code while a thread swaps a path component for a link to a folder outside "
        "(one `renameat2` exchange per flip), or against FIFOs and `/dev/zero` links. `openat2` is the kernel path, "
        "`walk` the portable descriptor walk. The last four columns must be 0.",
        "",
        '| scenario | mode | rounds | answered | refused | s | outside reads/writes | lying "Created" | hangs > 30 s '
        "| unclear refusals |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for t in tallies:
        lines.append(
            f"| {t.scenario} | {t.mode} | {t.rounds} | {t.answered} | {t.refused} | {t.seconds:.1f} | {t.outside} "
            f"| {t.lies} | {t.hangs} | {t.unclear} |"
        )
    bad = [t for t in tallies if t.outside or t.lies or t.hangs or t.unclear]
    lines += ["", "Result: " + ("all zero." if not bad else f"{len(bad)} scenario(s) failed.")]
    for t in bad:
        lines.extend(f"- {t.scenario} ({t.mode}): {example}" for example in t.examples)
    return "\n".join(lines) + "\n"


def failures(tallies: list[Tally]) -> int:
    return sum(t.outside + t.lies + t.hangs + t.unclear for t in tallies)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3000, help="rounds per race scenario (default 3000)")
    parser.add_argument("--out", type=Path, help="write the markdown report here")
    args = parser.parse_args()
    tallies = run(args.rounds)
    report = render(tallies, args.rounds)
    if args.out:
        args.out.write_text(report, encoding="utf-8")
    print(report)
    return 1 if failures(tallies) else 0


if __name__ == "__main__":
    raise SystemExit(main())
