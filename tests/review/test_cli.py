"""``production-fastapi review`` and ``production-fastapi rule``: output, exit codes, options, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from production_fastapi.cli import main

SLEEPY = "import time\n\n\nasync def f() -> None:\n    time.sleep(1)\n"
INFO_ONLY_SELECT = ["--select", "PF702"]


def _project(tmp_path: Path, source: str = SLEEPY, table: str = "") -> Path:
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "demo"\n[tool.production-fastapi]\n{table}\n')
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.py").write_text(source, encoding="utf-8")
    return tmp_path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["review", "--no-cache", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_text_output_and_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _project(tmp_path)
    code, out, _ = _run(capsys, str(root / "app"), *INFO_ONLY_SELECT)
    lines = out.splitlines()
    assert code == 1
    # PF702's fix is unsafe: no [*] without --unsafe-fixes, and the summary says a fix is hidden (as ruff does).
    assert lines[0].endswith("app/main.py:5:5: PF702 `time.sleep()` inside `async def` blocks the event loop")
    assert lines[1] == (
        "Found 1 finding in 1 file. 1 hidden fix can be enabled with the `--unsafe-fixes` option."
    )
    code, out, _ = _run(capsys, str(root / "app"), "--unsafe-fixes", *INFO_ONLY_SELECT)
    lines = out.splitlines()
    assert lines[0].endswith("app/main.py:5:5: PF702 [*] `time.sleep()` inside `async def` blocks the event loop")
    assert lines[1] == "Found 1 finding in 1 file (1 fixable with `production-fastapi review --fix --unsafe-fixes`)."


def test_clean_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _project(tmp_path, "x = 1\n")
    code, out, _ = _run(capsys, str(root), *INFO_ONLY_SELECT)
    assert code == 0
    assert out == "All checks passed! (1 file checked)\n"


@pytest.mark.parametrize(("fail_on", "expected"), [("error", 1), ("warning", 1), ("info", 1)])
def test_fail_on_with_an_error_finding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fail_on: str, expected: int
) -> None:
    root = _project(tmp_path)
    assert _run(capsys, str(root), "--fail-on", fail_on, *INFO_ONLY_SELECT)[0] == expected


def test_fail_on_error_ignores_warnings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _project(tmp_path, "import fastapi\n\nprint(fastapi)\n")  # PF201 is a warning
    assert _run(capsys, str(root), "--select", "PF201")[0] == 1
    assert _run(capsys, str(root), "--select", "PF201", "--fail-on", "error")[0] == 0


def test_fail_on_from_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _project(tmp_path, "import fastapi\n\nprint(fastapi)\n", table='fail-on = "error"')
    code, out, _ = _run(capsys, str(root), "--select", "PF201")
    assert code == 0
    assert "PF201" in out


def test_exit_zero_and_quiet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _project(tmp_path)
    code, out, _ = _run(capsys, str(root), "--exit-zero", "-q", *INFO_ONLY_SELECT)
    assert code == 0
    assert len(out.splitlines()) == 1
    assert "PF702" in out


def test_select_and_ignore(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _project(tmp_path)
    assert _run(capsys, str(root), "--select", "PF7", "--ignore", "PF702")[0] == 0
    assert _run(capsys, str(root), "--select", "PF2,PF7")[0] == 1


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--select", "E501"], "'E501' is not a rule selector"),
        (["--fix", "--diff"], "choose --fix"),
        (["--jobs", "0"], "--jobs must be at least 1"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str
) -> None:
    root = _project(tmp_path)
    code, out, err = _run(capsys, str(root), *argv)
    assert code == 2
    assert out == ""
    assert err.startswith("production-fastapi review: ")
    assert fragment in err
    assert len(err.strip().splitlines()) == 1


def test_bad_config_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _project(tmp_path, table='selekt = ["PF"]')
    code, _, err = _run(capsys, str(root))
    assert code == 2
    assert "unknown key 'selekt'" in err


def test_missing_path_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, str(tmp_path / "missing"))
    assert code == 2
    assert "no such file or directory" in err


def test_output_file_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _project(tmp_path)
    target = tmp_path / "out.json"
    code, out, _ = _run(capsys, str(root), "--format", "json", "-o", str(target), *INFO_ONLY_SELECT)
    assert (code, out) == (1, "")
    data = json.loads(target.read_text())
    assert [f["code"] for f in data["findings"]] == ["PF702"]


def test_fix_rewrites_and_reports_remaining(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _project(tmp_path, SLEEPY + "\n\nasync def g() -> None:\n    x = time.sleep(2)\n")
    code, out, _ = _run(capsys, str(root), "--fix", *INFO_ONLY_SELECT)
    assert "await asyncio" not in (root / "app" / "main.py").read_text(), "--fix alone applies no unsafe fix"
    assert out.splitlines()[-1].endswith("1 hidden fix can be enabled with the `--unsafe-fixes` option.")
    code, out, _ = _run(capsys, str(root), "--fix", "--unsafe-fixes", *INFO_ONLY_SELECT)
    assert code == 1
    assert "await asyncio.sleep(1)" in (root / "app" / "main.py").read_text()
    assert out.splitlines()[-1] == "Found 2 findings (1 fixed, 1 remaining)."


def test_diff_prints_a_patch_and_exits_1_without_writing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _project(tmp_path)
    assert _run(capsys, str(root), "--diff", *INFO_ONLY_SELECT)[:2] == (0, ""), "no safe fix to show"
    code, out, err = _run(capsys, str(root), "--diff", "--unsafe-fixes", *INFO_ONLY_SELECT)
    assert code == 1
    assert out.startswith("--- a/")
    assert "+    await asyncio.sleep(1)" in out
    assert err.strip() == "Would fix 1 file."
    assert (root / "app" / "main.py").read_text() == SLEEPY


def test_stdin(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(SLEEPY.encode())))
    code, out, _ = _run(capsys, "-", "--stdin-filename", "svc/app.py", *INFO_ONLY_SELECT)
    assert code == 1
    assert out.startswith("svc/app.py:5:5: PF702")


def test_stdin_is_judged_against_the_project_versions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    (tmp_path / "pyproject.toml").write_text('[project]\nname = "svc"\ndependencies = ["pydantic~=1.10"]\n')
    (tmp_path / "app").mkdir()
    monkeypatch.chdir(tmp_path)
    model = "from pydantic import BaseModel\n\n\nclass A(BaseModel):\n    class Config:\n        orm_mode = True\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(model.encode())))
    code, out, _ = _run(capsys, "-", "--stdin-filename", "app/models.py", "--select", "PF6")
    assert (code, out) == (0, "All checks passed! (1 file checked)\n")


def test_rule_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rule", "PF702"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("# PF702 blocking-sleep-in-async")
    assert "**Why it matters in production.**" in text
    assert main(["rule", "blocking-sleep-in-async", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["code"] == "PF702"
    assert main(["rule", "--all"]) == 0
    assert any(line.startswith("PF702  blocking-sleep-in-async") for line in capsys.readouterr().out.splitlines())
    assert main(["rule", "PF999"]) == 2
    assert "unknown rule 'PF999'" in capsys.readouterr().err
    assert main(["rule"]) == 2


def test_real_process_over_a_project(tmp_path: Path) -> None:
    """The installed console script, end to end, with the cache on (a second run gives the same answer)."""
    root = _project(tmp_path)
    script = Path(sys.executable).with_name("production-fastapi")
    command = [str(script), "review", "app", "--select", "PF702", "--format", "sarif"]
    first = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=60, check=False)
    second = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=60, check=False)
    assert (first.returncode, second.returncode) == (1, 1)
    assert first.stderr == ""
    assert first.stdout == second.stdout
    result = json.loads(first.stdout)["runs"][0]["results"][0]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "app/main.py"
    assert not (root / ".production-fastapi-cache").exists()  # the cache lives in the per-user folder


def test_pre_commit_hooks_point_at_the_real_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The hook file is valid for pre-commit (ids, entry, language) and its entry runs on staged-file lists."""
    import re
    import shlex

    text = (Path(__file__).resolve().parents[2] / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    entries = re.findall(r"^\s+entry: (.+)$", text, flags=re.MULTILINE)
    ids = re.findall(r"^- id: (\S+)$", text, flags=re.MULTILINE)
    assert ids == ["production-fastapi", "production-fastapi-fix"]
    assert re.findall(r"^\s+language: (\S+)$", text, flags=re.MULTILINE) == ["python", "python"]
    root = _project(tmp_path)
    (root / "README.md").write_text("# not python\n")
    staged = [str(root / "app" / "main.py"), str(root / "README.md"), str(root / "pyproject.toml")]
    for entry in entries:
        argv = shlex.split(entry)
        assert argv[:2] == ["production-fastapi", "review"]
        code = main(["review", *argv[2:], "--no-cache", "--select", "PF702", *staged])
        out = capsys.readouterr().out
        assert code == 1  # PF702's fix is unsafe: even the fix hook (safe fixes only) leaves it for a human
        assert "PF000" not in out  # README.md and pyproject.toml are skipped, not parsed as Python
