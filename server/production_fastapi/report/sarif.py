"""``--format sarif``: SARIF 2.1.0 for GitHub code scanning and other viewers.

What code scanning needs, and this writes: every rule that fired (and PF000 when it did) in
``tool.driver.rules`` with ``id``, ``name``, ``shortDescription``, ``fullDescription``, ``help`` (text and markdown)
and a default level; every result with ``ruleId``/``ruleIndex``, a level, a message, a location whose URI is
relative to the repository root (``%SRCROOT%``) with a 1-based region, and ``partialFingerprints`` so an alert keeps
its identity when unrelated lines move.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote

from production_fastapi import __version__
from production_fastapi.review.findings import PARSE_ERROR_CODE, PARSE_ERROR_NAME, Finding, Report
from production_fastapi.rules import get_rule
from production_fastapi.rules.docs import fence_language

__all__ = ["SARIF_SCHEMA", "render_sarif", "report_to_sarif"]

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFORMATION_URI = "https://github.com/production-fastapi/production-fastapi"
_LEVELS = {"error": "error", "warning": "warning", "info": "note"}
_FINGERPRINT = "productionFastapi/v1"


def _rule_descriptor(code: str) -> dict[str, Any]:
    if code == PARSE_ERROR_CODE:
        text = "The file could not be read or parsed, so no other rule could check it."
        return {
            "id": code,
            "name": PARSE_ERROR_NAME,
            "shortDescription": {"text": "File could not be parsed"},
            "fullDescription": {"text": text},
            "help": {"text": text, "markdown": text},
            "defaultConfiguration": {"level": "error"},
        }
    rule = get_rule(code)
    docs = rule.docs
    language = fence_language(docs.example_filename)
    markdown = "\n\n".join(
        [
            f"**What it does.** {docs.what_it_does}",
            f"**Why it matters in production.** {docs.why}",
            f"**Example**\n\n```{language}\n{docs.example.rstrip()}\n```",
            f"**Use instead**\n\n```{language}\n{docs.use_instead.rstrip()}\n```",
        ]
    )
    help_text = f"{docs.what_it_does}\n\n{docs.why}" + (f"\n\nFix: {rule.fix_title}" if rule.fix_title else "")
    return {
        "id": code,
        "name": rule.name,
        "shortDescription": {"text": rule.message},
        "fullDescription": {"text": docs.what_it_does},
        "help": {"text": help_text, "markdown": markdown},
        "helpUri": f"{INFORMATION_URI}/blob/main/docs/rules.md#{code.lower()}-{rule.name}",
        "defaultConfiguration": {"level": _LEVELS[rule.severity]},
        "properties": {
            "tags": ["fastapi", "production", rule.area],
            "precision": "high",
            "problem.severity": rule.severity if rule.severity != "info" else "recommendation",
        },
    }


def _uri(path: str) -> tuple[str, bool]:
    """A relative POSIX path stays relative (to %SRCROOT%); an absolute one becomes a file:// URI."""
    pure = Path(path)
    if pure.is_absolute():
        return pure.as_uri(), False
    return quote(pure.as_posix(), safe="/"), True


def _line_text(path: str, line: int, cache: dict[str, list[str] | None]) -> str:
    if path not in cache:
        try:
            cache[path] = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            cache[path] = None
    lines = cache[path]
    if lines is None or not 0 < line <= len(lines):
        return ""
    return "".join(lines[line - 1].split())


def _fingerprints(findings: list[Finding]) -> list[str]:
    """Stable across unrelated edits: the rule, the file and the flagged line's text (whitespace-insensitive),
    plus a counter for identical lines, but not the line number."""
    seen: Counter[tuple[str, str, str]] = Counter()
    cache: dict[str, list[str] | None] = {}
    prints: list[str] = []
    for f in findings:
        key = (f.code, f.path, _line_text(f.path, f.line, cache) or f.message)
        seen[key] += 1
        digest = hashlib.sha256("\0".join(key).encode()).hexdigest()[:32]
        prints.append(f"{digest}:{seen[key]}")
    return prints


def report_to_sarif(report: Report) -> dict[str, Any]:
    codes = sorted({f.code for f in report.findings})
    index = {code: i for i, code in enumerate(codes)}
    results: list[dict[str, Any]] = []
    for finding, fingerprint in zip(report.findings, _fingerprints(report.findings), strict=True):
        uri, relative = _uri(finding.path)
        location: dict[str, Any] = {"uri": uri}
        if relative:
            location["uriBaseId"] = "%SRCROOT%"
        region = {
            "startLine": finding.line,
            "startColumn": finding.column,
            "endLine": max(finding.end_line, finding.line),
            "endColumn": max(finding.end_column, 1),
        }
        if region["endLine"] == region["startLine"] and region["endColumn"] < region["startColumn"]:
            region["endColumn"] = region["startColumn"]
        result: dict[str, Any] = {
            "ruleId": finding.code,
            "ruleIndex": index[finding.code],
            "level": _LEVELS[finding.severity],
            "message": {"text": finding.message + (f" ({finding.fix_note()})" if finding.fixable else "")},
            "locations": [{"physicalLocation": {"artifactLocation": location, "region": region}}],
            "partialFingerprints": {_FINGERPRINT: fingerprint},
        }
        if finding.fixable:
            # SARIF's own `fixes` need the replacement text; the applicability is what consumers must know.
            result["properties"] = {
                "fix": {"applicability": finding.fix_applicability, "title": finding.fix_title,
                        "applies": finding.fix_applies(report.unsafe_fixes)}
            }
        results.append(result)
    invocation: dict[str, Any] = {"executionSuccessful": not report.errors}
    if report.errors:
        invocation["toolExecutionNotifications"] = [
            {"level": "error", "message": {"text": error}} for error in report.errors
        ]
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "production-fastapi",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": [_rule_descriptor(code) for code in codes],
                    }
                },
                "invocations": [invocation],
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


def render_sarif(report: Report) -> str:
    return json.dumps(report_to_sarif(report), indent=2, ensure_ascii=False) + "\n"
