"""Project names become package names, or one clear error says why they can't."""

from __future__ import annotations

import pytest

from production_fastapi.scaffold import ScaffoldError, package_name_for
from production_fastapi.scaffold.spec import make_spec


@pytest.mark.parametrize(
    ("name", "package"),
    [
        ("orders-service", "orders_service"),
        ("Orders.Service", "orders_service"),
        ("billing", "billing"),
        ("a--b__c", "a_b__c"),
        ("svc2", "svc2"),
        ("match", "match"),  # a soft keyword imports fine
        ("None", "none"),  # the checks apply to the package name, which is lower case
    ],
)
def test_package_name_is_derived(name: str, package: str) -> None:
    assert package_name_for(name) == package


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "invalid project name ''"),
        ("a b", "invalid project name 'a b'"),
        ("-orders", "invalid project name '-orders'"),
        ("orders-", "invalid project name 'orders-'"),
        ("café", "invalid project name 'café'"),
        ("../evil", "invalid project name '../evil'"),
        ("9lives", "package name '9lives', which is not a Python identifier"),
        ("class", "package name 'class', which is a Python keyword"),
        ("json", "would hide the standard-library module 'json'"),
        ("asyncio", "would hide the standard-library module 'asyncio'"),
        ("fastapi", "would hide a module the service itself imports"),
        ("tests", "would hide a module the service itself imports"),
        ("migrations", "would hide a module the service itself imports"),
    ],
)
def test_bad_names_are_refused_with_the_reason(name: str, message: str) -> None:
    with pytest.raises(ScaffoldError) as caught:
        package_name_for(name)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_options_are_checked() -> None:
    spec = make_spec("orders-service", database="postgres", redis=True, python="3.12")
    assert (spec.package, spec.database, spec.redis, spec.python_tag) == ("orders_service", "postgres", True, "py312")
    with pytest.raises(ScaffoldError, match="unknown database 'mysql': choose one of sqlite, postgres"):
        make_spec("orders-service", database="mysql", redis=False, python="3.11")
    with pytest.raises(ScaffoldError, match=r"unsupported Python '3\.9': choose one of 3\.11"):
        make_spec("orders-service", database="sqlite", redis=False, python="3.9")
