"""``production-fastapi rule PF702`` explains one rule (code or name); ``rule --all`` lists them, like ``ruff rule``."""

from __future__ import annotations

import argparse
import json

from production_fastapi.cli import EXIT_OK, CommandError

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("rule", nargs="?", help="a rule code (PF702) or name (blocking-sleep-in-async)")
    parser.add_argument("--all", action="store_true", help="list every rule")
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="text (markdown) or json (default: text)"
    )


def _as_dict(code: str) -> dict[str, object]:
    from production_fastapi.rules import get_rule

    rule = get_rule(code)
    docs = rule.docs
    return {
        "code": rule.code,
        "name": rule.name,
        "area": rule.area,
        "severity": rule.severity,
        "tier": rule.tier,
        "opt_in_reason": rule.opt_in or None,
        "contexts": list(rule.contexts),
        "kind": rule.kind,
        "message": rule.message,
        "fix_title": rule.fix_title,
        "fixable": rule.fixable,
        "fix_applicability": rule.fix_applicability if rule.fixable else None,
        "versions": rule.versions or None,
        "skill_section": rule.skill_section,
        "template": rule.template,
        "what_it_does": docs.what_it_does,
        "why": docs.why,
        "example": docs.example,
        "use_instead": docs.use_instead,
        "fix_safety": docs.fix_safety,
    }


def run(args: argparse.Namespace) -> int:
    from production_fastapi.rules import all_rules, get_rule
    from production_fastapi.rules.docs import render_rule

    if args.all == (args.rule is not None):
        raise CommandError("name one rule (e.g. PF702) or pass --all")
    if args.all:
        rules = all_rules()
        if args.format == "json":
            print(json.dumps([_as_dict(rule.code) for rule in rules], indent=2))
        else:
            width = max((len(rule.name) for rule in rules), default=0)
            for rule in rules:
                fix = " [*]" if rule.safe_fix else " [unsafe fix]" if rule.fixable else ""
                tier = " (opt-in)" if rule.opt_in else ""
                print(f"{rule.code}  {rule.name:<{width}}  {rule.severity:<7}  {rule.message}{fix}{tier}")
        return EXIT_OK
    try:
        rule = get_rule(args.rule)
    except KeyError:
        raise CommandError(f"unknown rule {args.rule!r}; `production-fastapi rule --all` lists them") from None
    if args.format == "json":
        print(json.dumps(_as_dict(rule.code), indent=2))
    else:
        print(render_rule(rule, level="#"), end="")
    return EXIT_OK
