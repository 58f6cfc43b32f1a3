"""Output formats: SARIF 2.1.0 against the official schema and GitHub's requirements; json, markdown, github, text."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from production_fastapi.report import FORMATS, render
from production_fastapi.review import Config, Report, review_paths
from production_fastapi.review.findings import Finding

SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
SOURCE = (
    "import time\n\nfrom fastapi import FastAPI\n\napp = FastAPI()\n\n\n"
    "@app.get('/')\nasync def root() -> dict[str, str]:\n    time.sleep(1)\n    print('héllo')\n    time.sleep(1)\n"
    "    return {}\n"
)


@pytest.fixture
def report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Report:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.py").write_text(SOURCE, encoding="utf-8")
    (tmp_path / "app" / "broken.py").write_text("def (:\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    # PF201 is opt-in: selected by code, its non-ASCII message line is part of what every format must carry.
    result = review_paths([Path("app")], config=Config(root=tmp_path), extend_select=["PF201"], cache=False, jobs=1)
    assert {f.code for f in result.findings} >= {"PF000", "PF201", "PF702"}
    return result


def test_sarif_is_valid_against_the_official_schema(report: Report) -> None:
    document = json.loads(render(report, "sarif"))
    jsonschema.Draft4Validator.check_schema(SCHEMA)
    errors = sorted(jsonschema.Draft4Validator(SCHEMA).iter_errors(document), key=str)
    assert errors == []


def test_sarif_has_what_github_code_scanning_requires(report: Report) -> None:
    run = json.loads(render(report, "sarif"))["runs"][0]
    driver = run["tool"]["driver"]
    rules = driver["rules"]
    assert driver["name"] == "production-fastapi"
    assert [r["id"] for r in rules] == sorted({f.code for f in report.findings})
    for rule in rules:
        assert rule["shortDescription"]["text"]
        assert rule["fullDescription"]["text"]
        assert rule["help"]["text"]
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")
    assert len(run["results"]) == len(report.findings)
    fingerprints = set()
    for result, finding in zip(run["results"], report.findings, strict=True):
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"] == finding.code
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"] == {"uri": finding.path, "uriBaseId": "%SRCROOT%"}
        region = location["region"]
        assert region["startLine"] >= 1
        assert region["startColumn"] >= 1
        assert (region["startLine"], region["startColumn"]) == (finding.line, finding.column)
        fingerprint = result["partialFingerprints"]["productionFastapi/v1"]
        fingerprints.add(fingerprint)
    # Two identical `time.sleep(1)` lines still get distinct fingerprints (an occurrence counter).
    assert len(fingerprints) == len(run["results"])


def test_sarif_fingerprints_survive_unrelated_line_moves(report: Report, tmp_path: Path) -> None:
    before = json.loads(render(report, "sarif"))["runs"][0]["results"]
    main = tmp_path / "app" / "main.py"
    main.write_text("# a new first line\n" + SOURCE, encoding="utf-8")
    moved = review_paths(
        [Path("app")], config=Config(root=tmp_path), extend_select=["PF201"], cache=False, jobs=1
    )
    after = json.loads(render(moved, "sarif"))["runs"][0]["results"]

    def prints(results: list[dict[str, dict[str, str]]]) -> list[str]:
        return sorted(r["partialFingerprints"]["productionFastapi/v1"] for r in results)

    assert prints(before) == prints(after)


def test_sarif_reports_run_errors_as_notifications() -> None:
    document = json.loads(render(Report(errors=["x.py: cannot read (Permission denied)"]), "sarif"))
    invocation = document["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert invocation["toolExecutionNotifications"][0]["message"]["text"].startswith("x.py")
    assert list(jsonschema.Draft4Validator(SCHEMA).iter_errors(document)) == []


def test_json_format(report: Report) -> None:
    data = json.loads(render(report, "json"))
    assert data["tool"] == "production-fastapi"
    assert data["summary"]["findings"] == len(report.findings)
    finding = next(f for f in data["findings"] if f["code"] == "PF702")
    assert set(finding) >= {
        "code", "name", "severity", "message", "path", "line", "column", "end_line", "end_column", "fixable",
        "fix_title", "skill_section", "template",
    }  # fmt: skip
    assert finding["path"] == "app/main.py"


def test_markdown_format(report: Report) -> None:
    text = render(report, "markdown")
    assert text.startswith("## production-fastapi review\n")
    assert "### `app/main.py`" in text
    assert "| 10:5 | `PF702` blocking-sleep-in-async | error |" in text
    assert "### Why these matter" in text
    assert "- **PF702 blocking-sleep-in-async** (error):" in text


def test_github_format_escapes_and_levels() -> None:
    finding = Finding(
        path="app/a,b.py",
        line=3,
        column=2,
        code="PF201",
        end_line=3,
        end_column=9,
        name="print-call",
        severity="warning",
        message="100% bad\nreally",
    )
    text = render(Report(findings=[finding], errors=["oops"]), "github")
    assert text.splitlines() == [
        "::warning file=app/a%2Cb.py,line=3,col=2,endLine=3,endColumn=9,title=PF201 (print-call)::100%25 bad%0Areally",
        "::error title=production-fastapi::oops",
    ]


def test_every_format_renders_an_empty_report() -> None:
    for name in FORMATS:
        render(Report(files_checked=3), name)
    assert render(Report(files_checked=3), "text") == "All checks passed! (3 files checked)\n"
    with pytest.raises(ValueError, match="unknown format 'xml'"):
        render(Report(), "xml")


FIXES = '''\
import time

from pydantic import BaseModel, Field


class Order(BaseModel):
    tags: list[str] = Field(default_factory=list, min_items=1)


async def pause() -> None:
    time.sleep(1)
'''


@pytest.mark.parametrize("unsafe", [False, True], ids=["default", "unsafe-fixes"])
def test_every_format_shows_fix_applicability(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, unsafe: bool) -> None:
    """PF604's min_items rename is safe, PF702's sleep rewrite unsafe: each format tells them apart."""
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "jobs.py").write_text(FIXES, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    # The project declares pydantic 2: only a declared range lets a version-dependent rewrite be safe.
    (tmp_path / "requirements.txt").write_text("pydantic>=2.5\n", encoding="utf-8")
    report = review_paths([Path("app")], config=Config(root=tmp_path), select=["PF604", "PF702"], cache=False,
                          jobs=1, unsafe_fixes=unsafe)
    assert [(f.code, f.fix_applicability) for f in report.findings] == [("PF604", "safe"), ("PF702", "unsafe")]

    text = render(report, "text").splitlines()
    assert " PF604 [*] " in text[0]
    assert (" PF702 [*] " in text[1]) is unsafe
    if unsafe:
        assert text[-1].endswith("(2 fixable with `production-fastapi review --fix --unsafe-fixes`).")
    else:
        assert text[-1].endswith(
            "(1 fixable with `production-fastapi review --fix`). "
            "1 hidden fix can be enabled with the `--unsafe-fixes` option."
        )

    data = json.loads(render(report, "json"))
    fixes = {f["code"]: f["fix"] for f in data["findings"]}
    assert fixes["PF604"] == {"applicability": "safe", "title": "Rename to the Pydantic v2 argument", "applies": True}
    assert fixes["PF702"]["applicability"] == "unsafe"
    assert fixes["PF702"]["applies"] is unsafe
    assert data["summary"]["hidden_unsafe_fixes"] == (0 if unsafe else 1)

    sarif = json.loads(render(report, "sarif"))
    results = {r["ruleId"]: r for r in sarif["runs"][0]["results"]}
    assert results["PF604"]["properties"]["fix"]["applicability"] == "safe"
    assert results["PF702"]["properties"]["fix"]["applicability"] == "unsafe"
    assert "unsafe fix" in results["PF702"]["message"]["text"]
    jsonschema.validate(sarif, SCHEMA)

    markdown = render(report, "markdown")
    assert "(safe fix) |" in markdown
    assert "(unsafe fix) |" in markdown
    assert ("unsafe fix hidden" in markdown) is not unsafe

    github = render(report, "github").splitlines()
    assert "(safe fix: Rename to the Pydantic v2 argument)" in github[0]
    assert "unsafe fix: " in github[1]
    assert "--unsafe-fixes" in github[1]
