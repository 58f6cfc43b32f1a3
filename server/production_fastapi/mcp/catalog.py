"""The rule catalog as MCP resources: one Markdown page per rule and an index, rendered from the rules' metadata.

The rules package is imported on first read, not when the server starts, so the cold start stays short.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from production_fastapi.rules import Rule

__all__ = ["RULES_URI", "UnknownRule", "rule_page", "rule_uri", "rules_index"]

RULES_URI = "production-fastapi://rules"


class UnknownRule(LookupError):
    """No rule has this code or name."""


def rule_uri(code: str) -> str:
    return f"{RULES_URI}/{code}"


def _fence(source: str, filename: str) -> str:
    language = "python" if filename.endswith(".py") else ""
    return f"```{language}\n{source.rstrip()}\n```"


def _render(rule: Rule) -> str:
    docs = rule.docs
    lines = [
        f"# {rule.code} {rule.name}",
        "",
        f"Severity: {rule.severity}. Area: {rule.area}. Message: {rule.message}",
        f"Opt-in (runs only when selected by code): {rule.opt_in}."
        if rule.opt_in
        else "In the default set (review_file and review_project run it).",
        f"Applies to: {', '.join(rule.contexts)} code.",
    ]
    if rule.skill_section:
        lines.append(f"SKILL.md section: {rule.skill_section}.")
    if rule.template:
        lines.append(f"Template: {rule.template} (get_template or production-fastapi://templates/{rule.template}).")
    lines += ["", "## What it does", docs.what_it_does.strip(), "", "## Why is this bad?", docs.why.strip()]
    lines += ["", "## Example", _fence(docs.example, docs.example_filename)]
    lines += ["", "## Use instead", _fence(docs.use_instead, docs.example_filename)]
    if rule.versions:
        lines.append(f"Applies when the project may use {rule.versions}.")
    if rule.fix_title:
        applicability = {
            "safe": " (automatic and safe: `review --fix` applies it)",
            "unsafe": " (automatic but unsafe: it may change behaviour; `--unsafe-fixes`, after a human says yes)",
        }.get(rule.fix_applicability or "", "")
        lines += ["", "## Fix", rule.fix_title + applicability]
    if docs.fix_safety.strip():
        lines += ["", "## Fix safety", docs.fix_safety.strip()]
    return "\n".join(lines) + "\n"


def rule_page(code: str) -> str:
    """The Markdown page of one rule, by code (``PF101``) or name (``on-event-handler``)."""
    from production_fastapi.rules import get_rule

    try:
        rule = get_rule(code)
    except KeyError:
        raise UnknownRule(f"No rule is called {code[:40]!r}; read {RULES_URI} for the list.") from None
    return _render(rule)


def rules_index() -> str:
    """Every rule on one line each, grouped by area, with the URI of its page."""
    from production_fastapi.rules import all_rules

    lines = ["# production-fastapi rules", "", "Read one with its URI; codes are grouped by area.", ""]
    area = ""
    for rule in all_rules():
        if rule.area != area:
            area = rule.area
            lines += ["", f"## {area}"]
        tier = ", opt-in" if rule.opt_in else ""
        lines.append(f"- {rule.code} {rule.name} ({rule.severity}{tier}): {rule.message} <{rule_uri(rule.code)}>")
    return "\n".join(lines).replace("\n\n\n", "\n\n") + "\n"
