"""Version guards: code that runs one way on one version of a library and another way on another is deliberate.

The shapes come from real compatibility code (fastapi's ``_compat``, sqlmodel's ``_compat``, pydantic-settings
fallbacks); each is reviewed as a project that targets current releases, where the same code unguarded is flagged.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from production_fastapi.review import fix_source, review_paths, review_source
from production_fastapi.rules.guards import version_guards

V1_BODY = '''\
    class Item(BaseModel):
        name: str = Field(regex="[a-z]+")

        class Config:
            orm_mode = True

        @validator("name")
        def lower(cls, value: str) -> str:
            return value.lower()
'''

GUARDS = {
    "if-flag": ("from pydantic import BaseModel, Field, validator\nfrom app.compat import PYDANTIC_V2\n\n"
                "if not PYDANTIC_V2:\n" + V1_BODY),
    "if-is-flag-else": ("from pydantic import BaseModel, Field, validator\nfrom app.compat import IS_PYDANTIC_V2\n\n"
                        "if IS_PYDANTIC_V2:\n    pass\nelse:\n" + V1_BODY),
    "startswith": ("import pydantic\nfrom pydantic import BaseModel, Field, validator\n"
                   "PYDANTIC_VERSION = pydantic.VERSION\n\nif PYDANTIC_VERSION.startswith(\"1\"):\n" + V1_BODY),
    "module-version": ("import pydantic\nfrom pydantic import BaseModel, Field, validator\n\n"
                       "if pydantic.VERSION[0] == \"1\":\n" + V1_BODY),
    "major-number": ("from pydantic import BaseModel, Field, validator\nfrom app.compat import PYDANTIC_MAJOR_VERSION\n"
                     "\nif PYDANTIC_MAJOR_VERSION == 1:\n" + V1_BODY),
    "packaging-parse": ("import pydantic\nfrom packaging import version\nfrom pydantic import BaseModel, Field, "
                        "validator\n\nif version.parse(pydantic.__version__) < version.parse(\"2\"):\n" + V1_BODY),
    "metadata-version": ("from importlib.metadata import version\nfrom pydantic import BaseModel, Field, validator\n"
                         "\nif version(\"pydantic\").startswith(\"1.\"):\n" + V1_BODY),
    "hasattr": ("import pydantic\nfrom pydantic import BaseModel, Field, validator\n\n"
                "if not hasattr(pydantic, \"field_validator\"):\n" + V1_BODY),
    "aliased-version-import": ("from pydantic import BaseModel, Field, validator\n"
                               "from pydantic.version import VERSION as P_VERSION\n\n"
                               "if P_VERSION.startswith(\"1.\"):\n" + V1_BODY),
    "minor-tuple": ("from pydantic import BaseModel, Field, validator\n"
                    "from fastapi._compat import PYDANTIC_VERSION_MINOR_TUPLE\n\n"
                    "if PYDANTIC_VERSION_MINOR_TUPLE < (2, 0):\n" + V1_BODY),
}


def _pydantic_codes(source: str) -> list[tuple[str, int]]:
    return [(f.code, f.line) for f in review_source(source, "app/models.py", select=["PF6"])]


def test_the_unguarded_body_is_flagged() -> None:
    plain = "from pydantic import BaseModel, Field, validator\n\nif True:\n" + V1_BODY
    assert {code for code, _ in _pydantic_codes(plain)} == {"PF602", "PF603", "PF604"}


@pytest.mark.parametrize("source", GUARDS.values(), ids=GUARDS.keys())
def test_findings_inside_a_version_guard_are_not_reported(source: str) -> None:
    found = _pydantic_codes(source)
    guarded = [(code, line) for code, line in found if line >= source.count("\n", 0, source.index("class Item"))]
    assert guarded == []


def test_v1_import_with_a_fallback_is_deliberate() -> None:
    source = (
        "try:\n    from pydantic.v1 import BaseModel\nexcept ImportError:  # pydantic < 1.10.17\n"
        "    from pydantic import BaseModel\n"
    )
    assert _pydantic_codes(source) == []
    assert [code for code, _ in _pydantic_codes("from pydantic.v1 import BaseModel\n")] == ["PF605"]


def test_duck_typing_between_model_apis_is_deliberate() -> None:
    source = (
        "from pydantic import BaseModel\n\n\nclass Item(BaseModel):\n    name: str\n\n\n"
        "def dump(item: Item) -> dict[str, object]:\n"
        "    if hasattr(item, \"model_dump\"):\n        return item.model_dump()\n    return item.dict()\n"
    )
    assert _pydantic_codes(source) == []
    assert _pydantic_codes(source.replace("hasattr(item, \"model_dump\")", "item.name")) == [("PF601", 11)]


def test_settings_fallback_import_is_deliberate() -> None:
    source = (
        "try:\n    from pydantic_settings import BaseSettings\nexcept ImportError:  # pydantic 1\n"
        "    from pydantic import BaseSettings\n\n\nclass Settings(BaseSettings):\n    debug: bool = False\n"
    )
    assert _pydantic_codes(source) == []


def test_v1_imported_only_to_detect_v1_models_is_not_reported() -> None:
    detect = (
        "from pydantic import BaseModel, v1\n\n\ndef is_model(obj: object) -> bool:\n"
        "    return isinstance(obj, (BaseModel, v1.BaseModel))\n"
    )
    assert _pydantic_codes(detect) == []
    uses_v1 = "from pydantic import v1\n\n\nclass Old(v1.BaseModel):\n    name: str\n"
    assert [code for code, _ in _pydantic_codes(uses_v1)] == ["PF605"]


def test_a_file_with_a_guard_is_compatibility_code_outside_it_too() -> None:
    """The guard shows the file supports both versions: outside it, the old spelling both accept is not news, and a
    fix would add ``from pydantic import field_validator`` unconditionally, the import the guard avoids. What breaks
    on v2 (``Field(regex=...)`` raises there) is still reported, with no fix."""
    source = (
        "from pydantic import BaseModel, Field, validator\nfrom app.compat import PYDANTIC_V2\n\n"
        "if PYDANTIC_V2:\n    from pydantic import field_validator\n\n\n"
        "class Item(BaseModel):\n    name: str\n    sku: str = Field(regex=\"^[A-Z]+$\")\n\n"
        "    @validator(\"name\")\n"
        "    def lower(cls, value: str) -> str:\n        return value.lower()\n"
    )
    found = review_source(source, "app/models.py", select=["PF603", "PF604"])
    assert [(f.code, f.fixable) for f in found] == [("PF604", False)]
    assert fix_source(source, "app/models.py", select=["PF603", "PF604"], unsafe_fixes=True)[0] == source
    unguarded = source.replace("if PYDANTIC_V2:\n    from pydantic import field_validator\n", "")
    assert {f.code for f in review_source(unguarded, "app/models.py", select=["PF603", "PF604"])} == {
        "PF603",
        "PF604",
    }


def test_guard_ranges_cover_both_branches_and_name_the_library() -> None:
    import ast

    from production_fastapi.rules.context import FileContext

    source = (
        "import sqlalchemy\nif sqlalchemy.__version__.startswith('1.'):\n    a = 1\nelse:\n    a = 2\n"
        "x = 1 if IS_PYDANTIC_V2 else 2\n"
        "try:\n    import aioredis\nexcept ModuleNotFoundError:\n    aioredis = None\n"
        "if pydantic_extra:\n    pass\n"  # a model's extras, not a version: no guard
    )
    guards = version_guards(FileContext("app/x.py", source, ast.parse(source)))
    assert guards == {"sqlalchemy": [(2, 5)], "pydantic": [(6, 6)], "redis": [(7, 10)]}


def test_installed_compatibility_code_is_left_alone() -> None:
    """fastapi's own ``_compat`` detects v1 models inside ``try: from pydantic import v1 / except ImportError``."""
    from tests.helpers import installed_package_dir

    compat = installed_package_dir("fastapi") / "_compat"
    report = review_paths([compat], select=["PF6"], cache=False, jobs=1)
    assert (report.findings, report.errors) == ([], [])


def test_other_libraries_guards(tmp_path: Path) -> None:
    source = (
        "from fastapi import FastAPI\nfrom app.compat import STARLETTE_VERSION\n\napp = FastAPI()\n\n"
        "if STARLETTE_VERSION < (0, 26):\n    @app.on_event(\"startup\")\n    async def s() -> None:\n        pass\n"
    )
    assert review_source(source, "app/main.py", select=["PF101"]) == []


def test_json_arguments_v2_refuses_still_count_in_compatibility_code() -> None:
    """``.json(ensure_ascii=False)`` works on v1 and raises TypeError on v2: news even in a file that supports both."""
    source = (
        "try:\n    from pydantic.v1 import BaseSettings\nexcept ImportError:\n    from pydantic import BaseSettings\n"
        "from pydantic import BaseModel\n\n\nclass Chunk(BaseModel):\n    text: str\n\n\n"
        "def render(chunk: Chunk) -> str:\n"
        "    plain = chunk.json(exclude_unset=True)\n"
        "    return plain + chunk.json(exclude_unset=True, ensure_ascii=False)\n"
    )
    found = review_source(source, "app/stream.py", select=["PF601"])
    assert [(f.code, f.line) for f in found] == [("PF601", 14)]
    assert "TypeError" in found[0].message
