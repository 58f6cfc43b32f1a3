"""Download the judged set's packages (benchmarks/precision/packages.py) and unpack each as its own project.

    .venv/bin/python -m benchmarks.precision.fetch [--dir DIR]

DIR defaults to ~/.cache/production-fastapi-precision (or $PF_PRECISION_DIR): outside the repository, so the
packages' code is never committed. Each package is fetched as an sdist (`pip download --no-deps --no-binary :all:`)
because an sdist carries pyproject.toml / setup.cfg / requirements files, which the reviewer reads to learn the
versions a project targets. When pip cannot prepare a package's sdist (some are broken upstream), the wheel is used
instead and its METADATA Requires-Dist lines are written to requirements.txt in the project folder; the manifest
records which source each package came from. A package already unpacked is left alone, so a rerun is cheap.
"""

from __future__ import annotations

import argparse
import email.parser
import json
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

from benchmarks.precision.packages import PACKAGES, SETS, Package, default_dir, manifest_path

__all__ = ["fetch_all", "main"]


class FetchError(Exception):
    """One package could not be fetched; the message is one line."""


def _pip_download(spec: str, dest: Path, *, sdist: bool) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for old in dest.iterdir():
        old.unlink()
    binary = ["--no-binary", ":all:"] if sdist else ["--only-binary", ":all:"]
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", *binary, "-d", str(dest), spec]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    got = sorted(dest.iterdir())
    if done.returncode != 0 or len(got) != 1:
        last = [ln for ln in done.stderr.splitlines() if ln.strip() and not ln.startswith("WARNING")]
        raise FetchError(f"pip download {spec} ({'sdist' if sdist else 'wheel'}): {last[-1] if last else 'no file'}")
    return got[0]


def _strip_top(name: str) -> str | None:
    """An sdist member's path without its `name-version/` top folder; None for the folder itself."""
    parts = PurePosixPath(name).parts
    return str(PurePosixPath(*parts[1:])) if len(parts) > 1 else None


def _unpack_sdist(archive: Path, target: Path) -> None:
    if archive.suffix == ".zip":
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                rel = _strip_top(info.filename)
                if rel is None or info.is_dir() or ".." in PurePosixPath(rel).parts:
                    continue
                out = target / rel
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(zf.read(info))
        return
    with tarfile.open(archive) as tf:
        members = []
        for member in tf.getmembers():
            rel = _strip_top(member.name)
            if rel is None:
                continue
            member.name = rel
            members.append(member)
        # The data filter refuses absolute paths, links out of the tree and device files from a stranger's archive.
        tf.extractall(target, members=members, filter="data")


def _unpack_wheel(wheel: Path, target: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        requires: list[str] = []
        for info in zf.infolist():
            if info.is_dir() or ".." in PurePosixPath(info.filename).parts:
                continue
            out = target / info.filename
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(zf.read(info))
            if info.filename.endswith(".dist-info/METADATA"):
                meta = email.parser.Parser().parsestr(zf.read(info).decode("utf-8"))
                requires = meta.get_all("Requires-Dist") or []
    # A wheel has no pyproject.toml; its declared requirements are the only record of the versions it targets.
    lines = ["# From the wheel's METADATA Requires-Dist (no usable sdist on PyPI)", *requires]
    (target / "requirements.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _count(target: Path) -> tuple[int, int]:
    files = lines = 0
    for path in target.rglob("*.py"):
        if path.is_file():
            files += 1
            lines += path.read_bytes().count(b"\n")
    return files, lines


def fetch_one(package: Package, root: Path) -> dict[str, object]:
    target = root / package.folder
    marker = target / ".fetched.json"
    if marker.is_file():
        recorded: dict[str, object] = json.loads(marker.read_text(encoding="utf-8"))
        return recorded
    if target.exists():
        shutil.rmtree(target)  # a half-unpacked folder from an interrupted run
    download = root / ".downloads" / package.folder
    try:
        archive = _pip_download(package.spec, download, sdist=True)
        source, why = "sdist", ""
    except FetchError as sdist_error:
        archive = _pip_download(package.spec, download, sdist=False)
        source, why = "wheel", str(sdist_error)
    target.mkdir(parents=True)
    if source == "sdist":
        _unpack_sdist(archive, target)
    else:
        _unpack_wheel(archive, target)
    files, lines = _count(target)
    entry: dict[str, object] = {
        "name": package.name,
        "version": package.version,
        "kind": package.kind,
        "source": source,
        "archive": archive.name,
        "folder": package.folder,
        "files": files,
        "lines": lines,
    }
    if why:
        entry["sdist_error"] = why
    marker.write_text(json.dumps(entry, indent=2) + "\n", encoding="utf-8")
    return entry


def fetch_all(root: Path, packages: tuple[Package, ...] = PACKAGES) -> list[dict[str, object]]:
    root.mkdir(parents=True, exist_ok=True)
    entries = []
    for package in packages:
        entry = fetch_one(package, root)
        print(f"{package.spec:32} {entry['source']:5} {entry['files']:5} files {entry['lines']:8} lines", flush=True)
        entries.append(entry)
    manifest_path(root).write_text(json.dumps(entries, indent=2) + "\n", encoding="utf-8")
    return entries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=None, help=f"where to unpack (default: {default_dir()}, and "
                        "its holdout/ folder for --set holdout)")
    parser.add_argument("--set", choices=tuple(SETS), default="judged", help="which package list (default: judged)")
    args = parser.parse_args(argv)
    chosen: Path = args.dir if args.dir is not None else (
        default_dir() if args.set == "judged" else default_dir() / args.set
    )
    root = chosen.expanduser().resolve()
    try:
        entries = fetch_all(root, SETS[args.set])
    except (FetchError, OSError, tarfile.TarError, zipfile.BadZipFile) as exc:
        print(f"fetch: {exc}", file=sys.stderr)
        return 1
    files = sum(int(str(e["files"])) for e in entries)
    lines = sum(int(str(e["lines"])) for e in entries)
    print(f"fetch: {len(entries)} packages in {root}: {files} files, {lines} lines")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
