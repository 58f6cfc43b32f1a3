"""``production-fastapi template NAME`` prints a template; ``--list`` lists them with their purpose and rules."""

from __future__ import annotations

import argparse
import sys

from production_fastapi import bundle
from production_fastapi.cli import EXIT_OK, CommandError


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", help="template file name or stem, e.g. middleware or Dockerfile")
    parser.add_argument("--list", action="store_true", help="list the templates with what each is for")


def run(args: argparse.Namespace) -> int:
    try:
        if args.list:
            templates = bundle.list_templates()
            width = max(len(t.name) for t in templates)
            for template in templates:
                rules = f"  [{', '.join(template.rules)}]" if template.rules else ""
                print(f"{template.name:<{width}}  {template.purpose}{rules}")
        elif args.name is None:
            raise CommandError("name a template, or pass --list to see them")
        else:
            sys.stdout.write(bundle.get_template(args.name).content)
    except bundle.BundleError as exc:
        raise CommandError(str(exc)) from None
    return EXIT_OK
