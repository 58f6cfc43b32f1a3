"""libcst fixes for area 6 (Pydantic v1 -> v2 renames that keep meaning). Imported only when a fix is applied.

Each transformer changes only nodes where its rule reported a fixable violation; the rule (on ``ast``) already
decided that the occurrence has an exact v2 spelling, and the transformer re-checks the shape it rewrites.
"""

from __future__ import annotations

from typing import ClassVar

import libcst as cst

from production_fastapi.rules.fixes import FixTransformer
from production_fastapi.rules.pydantic import CONFIG_RENAMES, CONFIG_SAME, FIELD_RENAMES, SETTINGS_KEYS

__all__ = ["BaseSettingsImport", "ConfigClassToConfigDict", "FieldArgumentsToV2", "ValidatorToV2"]

_EXTRA_VALUES = frozenset({"forbid", "allow", "ignore"})


def _code(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)


class FieldArgumentsToV2(FixTransformer):
    """Before: ``Field(regex=r"^a", min_items=1, allow_mutation=False)``.
    After: ``Field(pattern=r"^a", min_length=1, frozen=True)``."""

    def leave_Arg(self, original_node: cst.Arg, updated_node: cst.Arg) -> cst.Arg:
        if original_node.keyword is None or not self.is_target(original_node):
            return updated_node
        old = original_node.keyword.value
        new = FIELD_RENAMES.get(old)
        if new is None:
            return updated_node
        if old == "allow_mutation":
            if not (isinstance(original_node.value, cst.Name) and original_node.value.value == "False"):
                return updated_node
            return updated_node.with_changes(keyword=cst.Name(new), value=cst.Name("True"))
        return updated_node.with_changes(keyword=cst.Name(new))


class BaseSettingsImport(FixTransformer):
    """Before: ``from pydantic import BaseSettings, Field``.
    After: ``from pydantic import Field`` and ``from pydantic_settings import BaseSettings``."""

    def leave_ImportFrom(self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom) -> cst.ImportFrom:
        if not self.is_target(original_node) or isinstance(updated_node.names, cst.ImportStar):
            return updated_node
        if not (isinstance(updated_node.module, cst.Name) and updated_node.module.value == "pydantic"):
            return updated_node
        names = list(updated_node.names)
        moving = [a for a in names if isinstance(a.name, cst.Name) and a.name.value == "BaseSettings"]
        if not moving:
            return updated_node
        if len(names) == 1:  # the whole import moves: keep its alias and formatting
            return updated_node.with_changes(module=cst.Name("pydantic_settings"))
        if moving[0].asname is not None:
            return updated_node
        kept = [a for a in names if a not in moving]
        kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        self.add_import("pydantic_settings", "BaseSettings")
        return updated_node.with_changes(names=kept)


class ValidatorToV2(FixTransformer):
    """Before: ``@validator("email", pre=True)`` / ``@root_validator(pre=True)`` on a ``(cls, value)`` method.
    After: ``@field_validator("email", mode="before")`` / ``@model_validator(mode="before")`` plus ``@classmethod``.
    """

    _NEW: ClassVar[dict[str, str]] = {"validator": "field_validator", "root_validator": "model_validator"}

    def _rewrite(self, call: cst.Call) -> cst.Call | None:
        func = call.func
        old = func.value if isinstance(func, cst.Name) else func.attr.value if isinstance(func, cst.Attribute) else ""
        new = self._NEW.get(old)
        if new is None:
            return None
        args: list[cst.Arg] = []
        for arg in call.args:
            keyword = arg.keyword.value if arg.keyword else None
            if keyword == "allow_reuse":
                continue
            if keyword == "pre":
                if isinstance(arg.value, cst.Name) and arg.value.value == "True":
                    args.append(arg.with_changes(keyword=cst.Name("mode"), value=cst.SimpleString('"before"')))
                continue
            args.append(arg)
        if args:
            args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        if isinstance(func, cst.Name):
            self.add_import("pydantic", new)
            self.remove_import_if_unused("pydantic", old)
            new_func: cst.BaseExpression = cst.Name(new)
        else:
            assert isinstance(func, cst.Attribute)
            new_func = func.with_changes(attr=cst.Name(new))
        return call.with_changes(func=new_func, args=args)

    def leave_FunctionDef(self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef) -> cst.FunctionDef:
        decorators = list(updated_node.decorators)
        changed = False
        for index, (original, decorator) in enumerate(zip(original_node.decorators, decorators, strict=True)):
            if not (isinstance(original.decorator, cst.Call) and self.is_target(original.decorator)):
                continue
            assert isinstance(decorator.decorator, cst.Call)
            rewritten = self._rewrite(decorator.decorator)
            if rewritten is None:
                continue
            decorators[index] = decorator.with_changes(decorator=rewritten)
            changed = True
        if not changed:
            return updated_node
        has_classmethod = any(
            isinstance(d.decorator, cst.Name) and d.decorator.value == "classmethod" for d in decorators
        )
        if not has_classmethod:
            # Directly above the def: the v2 decorators wrap the classmethod.
            decorators.append(cst.Decorator(decorator=cst.Name("classmethod")))
        return updated_node.with_changes(decorators=decorators)


class ConfigClassToConfigDict(FixTransformer):
    """Before: ``class Config:`` with ``orm_mode = True`` inside a model.
    After: ``model_config = ConfigDict(from_attributes=True)`` in its place (``SettingsConfigDict`` for settings).
    """

    def _settings_owner(self, owner: cst.ClassDef) -> bool:
        for base in owner.bases:
            value = base.value
            name = value.value if isinstance(value, cst.Name) else value.attr.value if isinstance(
                value, cst.Attribute) else ""
            if name == "BaseSettings":
                return True
        return False

    def _convert(self, config: cst.ClassDef, settings: bool) -> cst.SimpleStatementLine | None:
        entries: list[str] = []
        keys: set[str] = set()
        body = config.body
        statements = body.body if isinstance(body, cst.IndentedBlock) else [body]
        for line in statements:
            if not isinstance(line, cst.SimpleStatementLine):
                return None
            for small in line.body:
                if isinstance(small, cst.Pass) or (
                    isinstance(small, cst.Expr) and isinstance(small.value, (cst.SimpleString, cst.Ellipsis))
                ):
                    continue
                if not (isinstance(small, cst.Assign) and len(small.targets) == 1):
                    return None
                target = small.targets[0].target
                if not isinstance(target, cst.Name):
                    return None
                key, value = target.value, small.value
                if key == "allow_mutation":
                    if isinstance(value, cst.Name) and value.value == "False":
                        entries.append("frozen=True")
                    elif not (isinstance(value, cst.Name) and value.value == "True"):
                        return None
                    continue
                if key == "extra" and isinstance(value, cst.Attribute) and value.attr.value in _EXTRA_VALUES:
                    entries.append(f'extra="{value.attr.value}"')
                    self.remove_import_if_unused("pydantic", "Extra")
                    continue
                new = key if key in CONFIG_SAME else CONFIG_RENAMES.get(key)
                if new is None:
                    return None
                keys.add(key)
                entries.append(f"{new}={_code(value)}")
        use_settings = settings or bool(keys & SETTINGS_KEYS)
        factory = "SettingsConfigDict" if use_settings else "ConfigDict"
        self.add_import("pydantic_settings" if use_settings else "pydantic", factory)
        statement = cst.parse_statement(f"model_config = {factory}({', '.join(entries)})\n")
        assert isinstance(statement, cst.SimpleStatementLine)
        return statement.with_changes(leading_lines=config.leading_lines)

    def leave_ClassDef(self, original_node: cst.ClassDef, updated_node: cst.ClassDef) -> cst.ClassDef:
        body = updated_node.body
        if not isinstance(body, cst.IndentedBlock):
            return updated_node
        new_body: list[cst.BaseStatement] = []
        changed = False
        originals = original_node.body.body if isinstance(original_node.body, cst.IndentedBlock) else ()
        for original, statement in zip(originals, body.body, strict=False):
            if (
                isinstance(original, cst.ClassDef)
                and isinstance(statement, cst.ClassDef)
                and original.name.value == "Config"
                and self.is_target(original)
            ):
                converted = self._convert(statement, self._settings_owner(updated_node))
                if converted is not None:
                    new_body.append(converted)
                    changed = True
                    continue
            new_body.append(statement)
        if not changed:
            return updated_node
        return updated_node.with_changes(body=body.with_changes(body=new_body))
