"""Which kind of code a place is (``rules/contexts.py``): paths, migration content, and blocks in service files."""

from __future__ import annotations

import ast

import pytest

from production_fastapi.rules.context import FileContext
from production_fastapi.rules.contexts import context_at, file_context, path_context


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("app/main.py", "service"),
        ("src/orders/api/users.py", "service"),
        ("migrations/versions/3f1a_add.py", "migration"),
        ("orders/alembic/versions/001.py", "migration"),
        ("orders/migrations/0001_initial.py", "migration"),
        ("lnbits/core/migrations.py", "migration"),
        ("tests/test_api.py", "test"),
        ("orders/tests/helpers.py", "test"),
        ("orders/testing/client.py", "test"),
        ("orders/testing.py", "test"),
        ("test_smoke.py", "test"),
        ("orders/api_test.py", "test"),
        ("conftest.py", "test"),
        ("tests/fixtures/app.py", "test"),
        ("examples/tests/test_x.py", "test"),  # a test is a test wherever it lives
        ("examples/cursor/app.py", "example"),
        ("docs/tutorial/app.py", "example"),
        ("docs_src/first_steps/tutorial001.py", "example"),
        ("scripts/seed.py", "script"),
        ("orders/cli/main.py", "script"),
        ("orders/cli.py", "script"),
        ("manage.py", "script"),
        ("orders/__main__.py", "script"),
        ("scripts/start.sh", "script"),
        ("khoj/database/management/commands/seed.py", "script"),  # Django-style one-off commands
        ("orders/commands/create_order.py", "service"),  # command handlers of the service itself
        ("xinference/thirdparty/cosyvoice/cli/model.py", "vendored"),
        ("pkg/_vendor/tests/test_x.py", "vendored"),  # upstream's tests too
        ("orders/vendors.py", "service"),
        ("orders/tasks.py", "service"),  # background tasks run in the service
        ("orders/latest_tests_report.py", "service"),
    ],
)
def test_path_context(path: str, expected: str) -> None:
    assert path_context(path) == expected


def _ctx(source: str, path: str = "app/main.py", module: str | None = "app.main") -> FileContext:
    return FileContext(path, source, ast.parse(source), module)


def test_an_alembic_revision_anywhere_is_a_migration_and_other_files_are_not() -> None:
    revision = 'revision = "0042"\ndown_revision = "0041"\n\n\ndef upgrade() -> None:\n    pass\n'
    assert file_context(_ctx(revision, "db/r0042.py", "db.r0042")) == "migration"
    assert file_context(_ctx('down_revision = "x"  # a variable, no upgrade()\n')) == "service"


def test_the_module_name_places_a_file_in_its_project() -> None:
    # The display path says tests/, but inside the project (module name) the file is service code.
    assert file_context(_ctx("x = 1\n", "tests/review/fixtures/PF301/app/main.py", "app.main")) == "service"
    assert file_context(_ctx("x = 1\n", "pkg/__init__.py", "pkg.testing")) == "test"


BLOCKS = """\
import os

import click
from fastapi import FastAPI

from app.settings import settings

app = FastAPI()


def handler(verbose):
    if settings.DEBUG:
        a = 1
    if os.getenv("ENABLE_PROFILING"):
        b = 2
    if not settings.debug:
        c = 3
    else:
        d = 4
    if settings.ENV == "development":
        e = 5
    if settings.ENV != "development":
        f = 6
    if settings.DEBUG or verbose:
        g = 7
    if settings.DEBUG and verbose:
        h = 8
    if in_debug_mode():
        k = 11
    if not settings.is_dev_mode():
        m = 12
    if feature_enabled():
        n = 13
    return 0


@click.command()
def seed():
    i = 9


if __name__ == "__main__":
    j = 10
"""


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a", "debug"),
        ("b", "debug"),
        ("c", "service"),
        ("d", "debug"),
        ("e", "debug"),
        ("f", "service"),
        ("g", "service"),
        ("h", "debug"),
        ("i", "script"),
        ("j", "script"),
        ("k", "debug"),
        ("m", "service"),
        ("n", "service"),
    ],
)
def test_blocks_inside_a_service_file(name: str, expected: str) -> None:
    ctx = _ctx(BLOCKS)
    line = next(n for n, text in enumerate(BLOCKS.splitlines(), 1) if text.strip().startswith(f"{name} = "))
    assert context_at(ctx, line) == expected
    assert context_at(ctx, 1) == "service"



def test_a_command_line_program_is_a_script_and_a_server_program_is_not() -> None:
    fetcher = (
        "import argparse\n\nimport requests\n\n\ndef fetch(url):\n    return requests.get(url).json()\n\n\n"
        'if __name__ == "__main__":\n    parser = argparse.ArgumentParser()\n    fetch(parser.parse_args().url)\n'
    )
    assert file_context(_ctx(fetcher, "sky/catalog/data_fetchers/fetch_ibm.py", "sky.catalog.fetch_ibm")) == "script"
    server = fetcher.replace("fetch(parser.parse_args().url)", "uvicorn.run(app)")
    assert file_context(_ctx(server, "app/main.py")) == "service"
    gradio = fetcher.replace("fetch(parser.parse_args().url)", "demo.launch(server_port=7860)")
    assert file_context(_ctx(gradio, "fastchat/serve/gradio_web_server.py", "fastchat.serve.web")) == "service"
    # A library module with a demo at the bottom is imported by the service: still the service.
    library = (
        "import requests\n\n\ndef fetch(url):\n    return requests.get(url)\n\n\n"
        "if __name__ == '__main__':\n    fetch('x')\n"
    )
    assert file_context(_ctx(library, "fastchat/conversation.py", "fastchat.conversation")) == "service"
