"""Fetch the reviewer's real-world corpus: pinned wheels of FastAPI-heavy projects, their .py files unpacked into
one folder per package (gitignored; never commit it).

Usage: python3 scripts/corpus.py [DIR] [ci|small|full]   (defaults: corpus, small)
  ci:    fastapi-users (what .ci/run reviews in the normal suite)
  small: adds prefect and apache-airflow-core (about 350k lines)
  full:  adds chromadb, gradio, litellm, mlflow, open-webui (about 2.1M lines; benchmarks/review_bench.py)
Pinned versions keep benchmark figures comparable from run to run.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

CI = ("fastapi-users==15.0.5",)
SMALL = (*CI, "prefect==3.9.1", "apache-airflow-core==3.3.2")
FULL = (*SMALL, "chromadb==1.5.9", "gradio==6.31.0", "litellm==1.110.2", "mlflow==3.18.0", "open-webui==0.12.4")
SIZES = {"ci": CI, "small": SMALL, "full": FULL}


def fetch(spec: str, corpus: Path) -> Path:
    """Download one pinned wheel (no dependencies) and unpack its Python files into corpus/<module name>."""
    name = spec.partition("==")[0]
    module = name.replace("-", "_")
    target = corpus / module
    if target.is_dir():
        return target
    wheels = corpus / ".wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps"]
    done = subprocess.run([*command, "--only-binary=:all:", "-d", str(wheels), spec], check=False)
    if done.returncode != 0:
        raise SystemExit(f"corpus: could not download {spec} (pip exit {done.returncode})")
    found = sorted(wheels.glob(f"{module}-*.whl"))
    if not found:
        raise SystemExit(f"corpus: pip downloaded no wheel for {spec} into {wheels}")
    with zipfile.ZipFile(found[0]) as wheel:
        wheel.extractall(target, [member for member in wheel.namelist() if member.endswith(".py")])
    return target


def main(argv: list[str]) -> int:
    if len(argv) > 2 or (len(argv) == 2 and argv[1] not in SIZES):
        print(f"usage: python3 scripts/corpus.py [DIR] [{'|'.join(SIZES)}]", file=sys.stderr)
        return 2
    corpus = Path(argv[0] if argv else "corpus")
    packages = [fetch(spec, corpus) for spec in SIZES[argv[1] if len(argv) == 2 else "small"]]
    files = [path for package in packages for path in package.rglob("*.py")]
    lines = sum(path.read_bytes().count(b"\n") for path in files)
    print(f"corpus: {corpus}: {len(packages)} packages, {len(files)} files, {lines} lines")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
