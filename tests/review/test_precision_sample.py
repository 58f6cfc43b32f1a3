"""The precision benchmark's collection side on real files: unpacking what pip downloads, reviewing a small project
with the installed reviewer (keys, fix offered, the fix's own diff, excerpts), and the scripts' one-line errors.

The 14-package run itself is benchmarks/precision (see benchmarks/README.md); this is its small real slice.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from helpers import REPO

from benchmarks.precision.collect import collect, default_reviewer, fix_diff, fix_offered
from benchmarks.precision.fetch import _unpack_sdist, _unpack_wheel
from benchmarks.precision.sample import draw

APP = """import httpx

from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class Item(BaseModel):
    name: str

    class Config:
        extra = "forbid"


@app.get("/")
async def root() -> dict[str, str]:
    return {"ok": "yes"}

httpx.get("https://example.com", timeout=None)
"""


def _project(root: Path) -> Path:
    folder = root / "demo-1.0"
    (folder / "demo").mkdir(parents=True)
    (folder / "demo" / "app.py").write_text(APP, encoding="utf-8")
    (folder / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "1.0"\ndependencies = ["fastapi>=0.115", "pydantic>=2.7"]\n',
        encoding="utf-8",
    )
    entry = {"name": "demo", "version": "1.0", "kind": "test", "folder": "demo-1.0", "files": 1, "lines": 17}
    (root / "manifest.json").write_text(json.dumps([entry]), encoding="utf-8")
    return folder


def test_review_keys_excerpts_and_fix_diff(tmp_path: Path) -> None:
    folder = _project(tmp_path)
    reviewer = default_reviewer()
    (review,) = collect(tmp_path, reviewer, jobs=1)
    by_code = {r["code"]: r for r in review.findings}
    printed = by_code["PF706"]
    assert printed["key"].startswith("demo==1.0:demo/app.py:PF706:")
    assert (printed["line"], printed["fix_offered"]) == (20, "none")
    assert printed["abs_path"] == str((folder / "demo" / "app.py").resolve())
    config = by_code["PF602"]
    assert config["fix_offered"] == "safe"
    diff = fix_diff(reviewer, folder, config)
    assert "-    class Config:" in diff
    assert "+    model_config = ConfigDict(" in diff
    assert fix_diff(reviewer, folder, printed) == ""
    # The same code one blank line lower keeps every key.
    (folder / "demo" / "app.py").write_text("\n" + APP, encoding="utf-8")
    (moved,) = collect(tmp_path, reviewer, jobs=1)
    assert sorted(r["key"] for r in moved.findings) == sorted(r["key"] for r in review.findings)
    assert {r["line"] for r in moved.findings if r["code"] == "PF706"} == {21}
    # One finding for each rule: every rule's minimum outweighs a smaller --size.
    codes = {r["code"] for r in review.findings}
    assert len(codes) >= 2, codes
    drawn = draw(review.findings, 1, seed=1)
    assert len(drawn) == len(codes)
    assert all(r["stratum_sampled"] == 1 for r in drawn)


def test_sdist_unpacks_without_its_top_folder_and_refuses_escapes(tmp_path: Path) -> None:
    archive = tmp_path / "pkg-1.0.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        for name, data in (("pkg-1.0/pyproject.toml", b"[project]\n"), ("pkg-1.0/pkg/app.py", b"x = 1\n")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    _unpack_sdist(archive, tmp_path / "out")
    assert (tmp_path / "out" / "pyproject.toml").read_bytes() == b"[project]\n"
    assert (tmp_path / "out" / "pkg" / "app.py").is_file()
    hostile = tmp_path / "evil-1.0.tar.gz"
    with tarfile.open(hostile, "w:gz") as tf:
        link = tarfile.TarInfo("evil-1.0/escape")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tf.addfile(link)
    with pytest.raises(tarfile.TarError):
        _unpack_sdist(hostile, tmp_path / "evil")


@pytest.mark.parametrize(
    ("item", "offered"),
    [
        ({"fixable": True, "fix_title": "Rename"}, "safe"),
        ({"fixable": False, "fix_title": "Merge the handlers"}, "suggestion"),
        ({"fixable": False, "fix_title": None}, "none"),
        ({"fixable": True, "fix_applicability": "Unsafe"}, "unsafe"),
        ({"fixable": True, "fix": {"applicability": "unsafe"}}, "unsafe"),
    ],
)
def test_fix_offered_reads_what_the_reviewer_declares(item: dict[str, object], offered: str) -> None:
    assert fix_offered(item) == offered


def test_wheel_fallback_writes_its_requirements(tmp_path: Path) -> None:
    wheel = tmp_path / "pkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("pkg/app.py", "x = 1\n")
        zf.writestr(
            "pkg-1.0.dist-info/METADATA",
            "Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\nRequires-Dist: pydantic<2\n"
            'Requires-Dist: faker==13.*; extra == "faker"\n',
        )
    _unpack_wheel(wheel, tmp_path / "out")
    assert (tmp_path / "out" / "pkg" / "app.py").is_file()
    lines = (tmp_path / "out" / "requirements.txt").read_text(encoding="utf-8").splitlines()
    assert lines[1:] == ["pydantic<2", 'faker==13.*; extra == "faker"']


def _sample(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "benchmarks.precision.sample", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_sample_cli_writes_the_files_and_fails_in_one_line(tmp_path: Path) -> None:
    folder = _project(tmp_path / "pkgs")
    out = tmp_path / "samples"
    done = _sample("--label", "t", "--dir", str(tmp_path / "pkgs"), "--out", str(out), "--size", "1")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in (out / "t.jsonl").read_text(encoding="utf-8").splitlines()]
    found = {json.loads(line)["code"] for line in (out / "t.all.jsonl").read_text(encoding="utf-8").splitlines()}
    assert len(rows) == len(found) >= 2  # one per rule, more than --size 1
    for row in rows:
        assert ">" in row["excerpt"]
        assert {"key", "fix_offered", "fix_diff", "enclosing", "abs_path", "stratum_size"} <= row.keys()
    meta = json.loads((out / "t.meta.json").read_text(encoding="utf-8"))
    everything = (out / "t.all.jsonl").read_text(encoding="utf-8")
    assert meta["packages"][0]["findings"] == len(everything.splitlines())
    # Another reviewer command (here the same reviewer spelled as a module run) gives the same findings.
    reviewer = f"{sys.executable} -m production_fastapi"
    done = _sample("--label", "m", "--dir", str(tmp_path / "pkgs"), "--out", str(out), "--reviewer", reviewer)
    assert done.returncode == 0, done.stderr
    assert (out / "m.all.jsonl").read_text(encoding="utf-8") == everything
    assert json.loads((out / "m.meta.json").read_text(encoding="utf-8"))["reviewer"]["command"] == reviewer
    failures = {
        "--seed must be an integer, not 'x'": ["--seed", "x"],
        "is not an executable file or a command on PATH": ["--reviewer", str(tmp_path / "nope")],
        "no fetched packages in": ["--dir", str(tmp_path / "empty")],
    }
    for message, extra in failures.items():
        done = _sample("--label", "t", "--out", str(out), *extra)
        assert done.returncode != 0
        assert message in done.stderr
        assert done.stderr.count("\n") == 1
    (folder / "demo" / "app.py").unlink()
    (folder / "demo").rmdir()
    folder.rename(tmp_path / "moved")
    done = _sample("--label", "t", "--dir", str(tmp_path / "pkgs"), "--out", str(out))
    assert done.returncode == 1
    assert "package folder" in done.stderr
    assert "is missing: rerun benchmarks.precision.fetch" in done.stderr
