"""Each fix's safety claim, checked by running the code before and after the fix on the versions it claims.

A "safe" fix must keep behaviour on every version the project targets: the original and the fixed module are both
imported and fed the same inputs, edge cases included, and must agree. An "unsafe" fix is shown to change behaviour
on at least one input (that is why it needs ``--unsafe-fixes`` and a human's yes). Pydantic 1 semantics come from
``pydantic.v1``, which ships inside Pydantic 2.
"""

from __future__ import annotations

import asyncio
import types
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from production_fastapi.review import Config, fix_source, review_source


def _module(source: str, name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the v1 spellings warn on Pydantic 2: that is what the rules are about
        exec(compile(source, f"<{name}>", "exec"), module.__dict__)
    return module


#: A project that declares pydantic 2, as the projects these safe fixes are promised for do: with no declared range
#: the project may still run on pydantic 1, and every version-dependent rewrite is offered as unsafe.
V2_PROJECT = Config(root=Path.cwd(), targets=(("pydantic", ">=2.5"),))


def _fixed(source: str, code: str, *, unsafe: bool = False) -> str:
    after, remaining = fix_source(source, "app/models.py", select=[code], unsafe_fixes=unsafe, config=V2_PROJECT)
    assert after != source, f"{code} did not fix its own case"
    assert not [f for f in remaining if f.code == code]
    return after


def _outcome(call: Callable[[], Any]) -> object:
    """A call's result, or the kinds of validation errors it raised, comparable across the two modules."""
    from pydantic import ValidationError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = call()
    except ValidationError as exc:
        return ("invalid", sorted(str(e["type"]) for e in exc.errors()))
    return result.model_dump() if hasattr(result, "model_dump") else result


def _applicability(source: str, code: str) -> set[str | None]:
    found = review_source(source, "app/models.py", select=[code], config=V2_PROJECT)
    return {f.fix_applicability for f in found if f.code == code}


# --- safe fixes: same behaviour on Pydantic 2 --------------------------------------------------------------------

FIELD_RENAMES = '''\
from pydantic import BaseModel, Field, conlist


class Order(BaseModel):
    tags: list[str] = Field(default_factory=list, min_items=1, max_items=2)
    ref: str = Field("", allow_mutation=False)
'''


def test_field_renames_keep_behaviour_on_v2() -> None:
    assert _applicability(FIELD_RENAMES, "PF604") == {"safe"}
    before, after = _module(FIELD_RENAMES, "before"), _module(_fixed(FIELD_RENAMES, "PF604"), "after")
    for tags in ([], ["a"], ["a", "b"], ["a", "b", "c"], "not a list"):
        assert _outcome(lambda m=before, t=tags: m.Order(tags=t)) == _outcome(lambda m=after, t=tags: m.Order(tags=t))

    def assign(module: types.ModuleType) -> object:
        order = module.Order(tags=["a"])
        order.ref = "changed"
        return order

    assert _outcome(lambda: assign(before)) == _outcome(lambda: assign(after)) == ("invalid", ["frozen_field"])


CONFIG = '''\
from pydantic import BaseModel, Extra


class User(BaseModel):
    user_name: str = ""
    email: str

    class Config:
        str_strip_whitespace = True
        validate_assignment = True
        extra = Extra.forbid
'''


class _Row:
    user_name = "  ann "
    email = "a@example.com"


def test_config_class_to_configdict_keeps_behaviour_on_v2() -> None:
    assert _applicability(CONFIG, "PF602") == {"safe"}
    fixed = _fixed(CONFIG, "PF602")
    assert "from pydantic import BaseModel, ConfigDict\n" in fixed, "Extra is dropped, ConfigDict merged in order"
    before, after = _module(CONFIG, "before"), _module(fixed, "after")
    inputs: list[object] = [{"email": " b@example.com "}, {"email": "x", "other": 1}, {"user_name": 3, "email": "x"},
                            _Row()]
    for data in inputs:
        assert _outcome(lambda m=before, d=data: m.User.model_validate(d)) == _outcome(
            lambda m=after, d=data: m.User.model_validate(d)
        )

    def assign(module: types.ModuleType) -> object:
        user = module.User(email="e")
        user.user_name = 5
        return user

    assert _outcome(lambda: assign(before)) == _outcome(lambda: assign(after)) == ("invalid", ["string_type"])


def test_config_with_keys_v2_ignores_gets_an_unsafe_fix() -> None:
    """Pydantic 2 only warns about `orm_mode` in `class Config` and ignores it: the rewrite switches it on."""
    source = CONFIG.replace("        str_strip_whitespace = True\n", "        orm_mode = True\n")
    assert _applicability(source, "PF602") == {"unsafe"}
    before, after = _module(source, "before"), _module(_fixed(source, "PF602", unsafe=True), "after")
    assert _outcome(lambda: before.User.model_validate(_Row())) == ("invalid", ["model_type"])
    assert _outcome(lambda: after.User.model_validate(_Row())) == {"user_name": "  ann ", "email": "a@example.com"}


VALIDATORS = '''\
from typing import Any

from pydantic import (
    BaseModel,
    root_validator,
    validator,
)


class Signup(BaseModel):
    email: str
    name: str = "anonymous"

    @validator("email", pre=True, allow_reuse=True)
    def strip(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @validator("name")
    def no_admin(cls, value: str) -> str:
        if value == "admin":
            raise ValueError("reserved")
        return value.title()

    @root_validator(pre=True)
    def defaults(cls, values: Any) -> Any:
        if isinstance(values, dict) and "mail" in values:
            values = {**values, "email": values["mail"]}
        return values
'''


def test_validators_to_v2_keep_behaviour_on_v2() -> None:
    assert _applicability(VALIDATORS, "PF603") == {"safe"}
    fixed = _fixed(VALIDATORS, "PF603")
    assert "from pydantic import BaseModel, field_validator, model_validator\n" in fixed, "no ( leftover"
    before, after = _module(VALIDATORS, "before"), _module(fixed, "after")

    class Row:
        email = " orm@example.com "
        name = "bob"

    inputs: list[object] = [{"email": "  a@b.c "}, {"mail": "m@b.c", "name": "eve"}, {"email": "x", "name": "admin"},
                            {"email": 5}, {}, "not a dict"]
    for data in inputs:
        assert _outcome(lambda m=before, d=data: m.Signup.model_validate(d)) == _outcome(
            lambda m=after, d=data: m.Signup.model_validate(d)
        )
    for module in (before, after):
        module.Signup.model_config["from_attributes"] = True
        module.Signup.model_rebuild(force=True)
    assert _outcome(lambda: before.Signup.model_validate(Row())) == _outcome(lambda: after.Signup.model_validate(Row()))


# --- unsafe fixes: behaviour changes on some input ----------------------------------------------------------------

REGEX = '''\
from pydantic import BaseModel, Field


class Comment(BaseModel):
    text: str = Field(regex="[a-z]+")
'''


def test_regex_to_pattern_is_unsafe_because_v1_anchors_and_v2_searches() -> None:
    assert _applicability(REGEX, "PF604") == {"unsafe"}
    assert fix_source(REGEX, "app/models.py", select=["PF604"])[0] == REGEX, "--fix alone leaves it"
    v1 = _module(REGEX.replace("from pydantic import", "from pydantic.v1 import"), "v1")
    v2 = _module(_fixed(REGEX, "PF604", unsafe=True), "v2")
    from pydantic.v1 import ValidationError as V1ValidationError

    with pytest.raises(V1ValidationError):
        v1.Comment(text="<script>abc")  # v1: re.match, anchored at the start
    assert v2.Comment(text="<script>abc").text == "<script>abc"  # v2: search anywhere
    assert v1.Comment(text="abc<script>").text == v2.Comment(text="abc<script>").text  # both accept this one


SETTINGS = '''\
from pydantic import BaseSettings, Field


class Settings(BaseSettings):
    url: str = Field("sqlite://", env="LEGACY_DATABASE_URL")
'''


def test_basesettings_move_is_unsafe_because_v1_settings_features_change(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _applicability(SETTINGS, "PF605") == {"unsafe"}
    monkeypatch.setenv("LEGACY_DATABASE_URL", "postgresql://db")
    v1 = _module(SETTINGS.replace("from pydantic import", "from pydantic.v1 import"), "v1")
    after = _module(_fixed(SETTINGS, "PF605", unsafe=True), "after")
    assert v1.Settings().url == "postgresql://db"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert after.Settings().url == "sqlite://"  # pydantic-settings ignores Field(env=...)


SLEEP = '''\
import time

events: list[str] = []


async def slow() -> None:
    events.append("start")
    time.sleep(0.01)
    events.append("end")
'''


def test_sleep_fix_is_unsafe_because_other_tasks_now_run_during_it() -> None:
    assert {f.fix_applicability for f in review_source(SLEEP, "app/jobs.py", select=["PF702"])} == {"unsafe"}
    fixed, _ = fix_source(SLEEP, "app/jobs.py", select=["PF702"], unsafe_fixes=True)

    async def race(module: types.ModuleType) -> list[str]:
        async def other() -> None:
            module.events.append("other")

        await asyncio.gather(module.slow(), other())
        return list(module.events)

    assert asyncio.run(race(_module(SLEEP, "before"))) == ["start", "end", "other"]
    assert asyncio.run(race(_module(fixed, "after"))) == ["start", "other", "end"]
