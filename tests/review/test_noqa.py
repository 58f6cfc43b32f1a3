"""Suppressions that other linters' comments carry over: a line a maintainer silenced for ruff's or flake8-async's
twin of one of our rules is silenced for ours too (``review.noqa.EQUIVALENT``)."""

from __future__ import annotations

from production_fastapi.review import review_source
from production_fastapi.review.noqa import EQUIVALENT
from production_fastapi.rules import all_rules


def test_a_suppressed_twin_from_ruff_or_flake8_async_suppresses_ours() -> None:
    source = (
        "import asyncio\nimport time\n\n\nasync def handler() -> None:\n"
        "    asyncio.create_task(work())  # noqa: RUF006\n"
        "    time.sleep(1)  # noqa: ASYNC251\n"
        "    time.sleep(2)  # noqa: E501\n"
    )
    found = [(f.code, f.line) for f in review_source(source, filename="app/main.py", select=["PF707", "PF702"])]
    assert found == [("PF702", 8)]



def test_every_twin_names_one_of_our_rules_and_a_foreign_code() -> None:
    ours = {rule.code for rule in all_rules()}
    assert set(EQUIVALENT) <= ours
    assert all(not code.startswith("PF") for twins in EQUIVALENT.values() for code in twins)


def test_bandits_nosec_silences_our_twins_of_its_checks_only() -> None:
    source = (
        "import requests\n\n\n"
        "def predict(url: str) -> bytes:\n"
        "    a = requests.post(url)  # nosec\n"
        "    b = requests.post(url)  # nosec B113\n"
        "    c = requests.post(url)  # nosec: B602\n"
        "    d = requests.post(url)  # noqa: S113\n"
        '    e = requests.post(url, data="# nosec")\n'
        "    f = requests.post(url)  # nosec B113  # noqa: E501\n"
        "    return a.content + b.content + c.content + d.content + e.content + f.content\n"
    )
    found = [f.line for f in review_source(source, filename="app/client.py", select=["PF706"])]
    assert found == [7, 9]
