"""Area 6, Pydantic v2: the v1 API that still runs with warnings (or not at all), and strict mode that rejects JSON."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from production_fastapi.rules._helpers import (
    V1_MODEL_BASES,
    ModelClass,
    ModelIndex,
    annotation_names,
    dotted,
    file_models,
    function_nodes,
    is_true,
    keyword,
    method_call_gate,
    model_index,
    routes,
)
from production_fastapi.rules.base import DEPRECATION_CONTEXTS, RuleDocs, Violation, file_rule, project_rule
from production_fastapi.rules.context import FileContext, ProjectContext

# --- PF601 ----------------------------------------------------------------------------------------------------

#: v1 method -> its v2 name. Class-level ones are called on the model class, the others on an instance.
V1_CLASS_METHODS: dict[str, str] = {
    "parse_obj": "model_validate",
    "parse_raw": "model_validate_json",
    "parse_file": "model_validate_json",
    "from_orm": "model_validate",
    "schema": "model_json_schema",
    "schema_json": "model_json_schema",
    "construct": "model_construct",
    "update_forward_refs": "model_rebuild",
}
V1_INSTANCE_METHODS: dict[str, str] = {
    "dict": "model_dump",
    "json": "model_dump_json",
    "copy": "model_copy",
    "schema": "model_json_schema",
}
#: Calls that produce a model instance when called on a model class.
_PRODUCERS = frozenset(
    {"model_validate", "model_validate_json", "model_validate_strings", "model_construct", "parse_obj", "parse_raw",
     "from_orm", "construct", "model_copy", "copy"}
)


def _unwrap(annotation: ast.expr) -> list[ast.expr]:
    """The types a value annotated this way may have, through ``Annotated``, ``Optional`` and ``|``; None dropped."""
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        try:
            annotation = ast.parse(annotation.value, mode="eval").body
        except SyntaxError:
            return []
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        return _unwrap(annotation.left) + _unwrap(annotation.right)
    if isinstance(annotation, ast.Subscript):
        head = dotted(annotation.value) or ""
        inner = annotation.slice
        if head.rpartition(".")[2] == "Annotated" and isinstance(inner, ast.Tuple) and inner.elts:
            return _unwrap(inner.elts[0])
        if head.rpartition(".")[2] == "Optional":
            return _unwrap(inner)
        if head.rpartition(".")[2] == "Union":
            return [t for e in (inner.elts if isinstance(inner, ast.Tuple) else [inner]) for t in _unwrap(e)]
        return [annotation]
    if isinstance(annotation, ast.Constant) and annotation.value is None:
        return []
    return [annotation]


def _annotation_is_model(index: ModelIndex, ctx: FileContext, annotation: ast.expr | None) -> bool:
    if annotation is None:
        return False
    types = _unwrap(annotation)
    return bool(types) and all(index.resolve(ctx, t) is not None for t in types)


def _produces_model(index: ModelIndex, ctx: FileContext, value: ast.expr) -> bool:
    if isinstance(value, ast.Await):
        return False
    if not isinstance(value, ast.Call):
        return False
    func = value.func
    if index.resolve(ctx, func) is not None:
        return True  # Model(...)
    return (
        isinstance(func, ast.Attribute)
        and func.attr in _PRODUCERS
        and (index.resolve(ctx, func.value) is not None)
    )


class _Receivers:
    """Decides whether a name in a function holds a model instance, from what the code says about it."""

    def __init__(self, index: ModelIndex, ctx: FileContext) -> None:
        self.index = index
        self.ctx = ctx

    def _enclosing_model_method(self, node: ast.AST) -> bool:
        function = self.ctx.enclosing_function(node)
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return False
        owner = self.ctx.parent(function)
        if not isinstance(owner, ast.ClassDef):
            return False
        decorators = {dotted(d) for d in function.decorator_list}
        if decorators & {"staticmethod", "classmethod"}:
            return False
        model = self.index.resolve(self.ctx, ast.Name(id=owner.name)) if self.ctx.parent(owner) is self.ctx.tree \
            else None
        return model is not None

    def instance(self, receiver: ast.expr, at: ast.AST) -> bool:
        ctx, index = self.ctx, self.index
        if isinstance(receiver, ast.Call):
            return _produces_model(index, ctx, receiver)
        if not isinstance(receiver, ast.Name):
            return False
        if receiver.id == "self":
            return self._enclosing_model_method(at)
        function = ctx.enclosing_function(at)
        scope: ast.AST = function if function is not None else ctx.tree
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = function.args
            for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
                if arg.arg == receiver.id:
                    return _annotation_is_model(index, ctx, arg.annotation)
        verdicts: list[bool] = []
        for node in ast.walk(scope):
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == receiver.id for t in node.targets
            ):
                verdicts.append(_produces_model(index, ctx, node.value))
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and (
                node.target.id == receiver.id
            ):
                verdicts.append(_annotation_is_model(index, ctx, node.annotation))
            elif isinstance(node, (ast.For, ast.AsyncFor, ast.With, ast.AsyncWith, ast.NamedExpr, ast.AugAssign)):
                targets: list[ast.AST] = []
                if isinstance(node, (ast.For, ast.AsyncFor)):
                    targets = [node.target]
                elif isinstance(node, (ast.With, ast.AsyncWith)):
                    targets = [i.optional_vars for i in node.items if i.optional_vars is not None]
                else:
                    targets = [node.target]
                if any(isinstance(n, ast.Name) and n.id == receiver.id for t in targets for n in ast.walk(t)):
                    verdicts.append(False)
        return bool(verdicts) and all(verdicts)


#: A file that calls no method of these names has nothing for PF601 to look at.
_V1_METHOD_CALL = method_call_gate({*V1_CLASS_METHODS, *V1_INSTANCE_METHODS})


@project_rule(
    code="PF601",
    versions="pydantic>=2",
    contexts=DEPRECATION_CONTEXTS,
    name="pydantic-v1-method",
    severity="warning",
    message="Pydantic v1 method on a model",
    skill_section="Pydantic v2",
    template=None,
    # Models live in files that import pydantic, routes in files that import fastapi: the rest can be skipped.
    requires=("pydantic", "fastapi", "sqlmodel"),
    docs=RuleDocs(
        what_it_does="Flags `.dict()`, `.json()`, `.copy()`, `.parse_obj()`, `.parse_raw()`, `.from_orm()`, "
        "`.schema()`, `.construct()`, `.update_forward_refs()` when the code shows the receiver is a Pydantic "
        "model: its class (bases followed across the project), a parameter annotated with it, a variable assigned "
        "from it, or `self` in its methods. `response.json()` on an HTTP response, `dict.copy()` and anything it "
        "cannot place are left alone.",
        why="Pydantic 2 keeps these only as deprecated shims that warn on every call (an error under "
        "`-W error` test runs) and will remove them; several behave differently from their replacements "
        "(`.copy()` skips validation and ignores `include`/`exclude` semantics of `model_copy`, `.json()` "
        "no longer accepts `encoder=` or `json.dumps` arguments).",
        example='''\
from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class Order(BaseModel):
    sku: str


@app.post("/orders")
async def create_order(order: Order) -> dict[str, object]:
    return order.dict()
''',
        use_instead='''\
from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class Order(BaseModel):
    sku: str


@app.post("/orders")
async def create_order(order: Order) -> dict[str, object]:
    return order.model_dump()
''',
    ),
)
def pydantic_v1_method(project: ProjectContext) -> Iterator[Violation]:
    index = model_index(project)
    if not index.models:
        return
    for ctx in project.files:
        if not ctx.search(_V1_METHOD_CALL):
            continue
        receivers = _Receivers(index, ctx)
        for call in ctx.nodes(ast.Call):
            func = call.func
            if not isinstance(func, ast.Attribute):
                continue
            method = func.attr
            replacement: str | None = None
            if method in V1_CLASS_METHODS and index.resolve(ctx, func.value) is not None:
                replacement = V1_CLASS_METHODS[method]
            elif method in V1_INSTANCE_METHODS and receivers.instance(func.value, call):
                replacement = V1_INSTANCE_METHODS[method]
            if replacement is not None:
                breaks = method == "json" and _json_breaks_on_v2(call)
                message = f"Pydantic v1 `.{method}()` on a model: use `.{replacement}()`"
                if breaks:
                    message += " (v2's `.json()` raises TypeError on json.dumps arguments, `encoder`, `models_as_dict`)"
                yield ctx.violation(call, message, end_node=func, breaking=breaks)


#: The keyword arguments v2's deprecated ``BaseModel.json()`` still accepts; any other raises TypeError there.
_V2_JSON_KEYWORDS = frozenset({"include", "exclude", "by_alias", "exclude_unset", "exclude_defaults", "exclude_none"})


def _json_breaks_on_v2(call: ast.Call) -> bool:
    """``model.json(ensure_ascii=False)``, ``.json(indent=2)``, ``.json(encoder=...)``: fine on v1, TypeError on v2."""
    return bool(call.args) or any(kw.arg is not None and kw.arg not in _V2_JSON_KEYWORDS for kw in call.keywords)


# --- PF602 ----------------------------------------------------------------------------------------------------

#: v1 ``Config`` keys and their v2 ``ConfigDict`` names (None: removed, no mechanical equivalent).
CONFIG_RENAMES: dict[str, str | None] = {
    "orm_mode": "from_attributes",
    "allow_population_by_field_name": "populate_by_name",
    "anystr_lower": "str_to_lower",
    "anystr_upper": "str_to_upper",
    "anystr_strip_whitespace": "str_strip_whitespace",
    "min_anystr_length": "str_min_length",
    "max_anystr_length": "str_max_length",
    "validate_all": "validate_default",
    "schema_extra": "json_schema_extra",
    "keep_untouched": "ignored_types",
    "allow_mutation": None,
    "smart_union": None,
    "underscore_attrs_are_private": None,
    "copy_on_model_validation": None,
    "fields": None,
    "json_loads": None,
    "json_dumps": None,
    "error_msg_templates": None,
    "getter_dict": None,
    "post_init_call": None,
}
#: Keys with the same name and meaning in v2 (``ConfigDict`` or pydantic-settings' ``SettingsConfigDict``).
CONFIG_SAME = frozenset(
    {
        "title", "str_strip_whitespace", "str_to_lower", "str_to_upper", "str_min_length", "str_max_length",
        "extra", "frozen", "arbitrary_types_allowed", "use_enum_values", "validate_assignment", "json_encoders",
        "populate_by_name", "from_attributes", "validate_default", "json_schema_extra", "alias_generator",
        "protected_namespaces", "allow_inf_nan", "hide_input_in_errors", "defer_build", "strict",
        "env_file", "env_prefix", "env_file_encoding", "case_sensitive", "env_nested_delimiter", "secrets_dir",
        "env_ignore_empty", "env_parse_none_str",
    }
)
SETTINGS_KEYS = frozenset(
    {"env_file", "env_prefix", "env_file_encoding", "case_sensitive", "env_nested_delimiter", "secrets_dir",
     "env_ignore_empty", "env_parse_none_str"}
)
_CONFIG_DICTS = frozenset({"pydantic.ConfigDict", "pydantic.config.ConfigDict", "pydantic_settings.SettingsConfigDict"})


def config_fixable(ctx: FileContext, config: ast.ClassDef, owner: ast.ClassDef) -> bool:
    """Whether a nested ``class Config`` converts mechanically to ``model_config = ConfigDict(...)``."""
    if any(
        isinstance(s, (ast.Assign, ast.AnnAssign))
        and any(isinstance(t, ast.Name) and t.id == "model_config" for t in _targets(s))
        for s in owner.body
    ):
        return False
    last = getattr(config, "end_lineno", config.lineno) or config.lineno
    if any("#" in ctx.line_text(n) for n in range(config.lineno, last + 1)):
        return False  # a comment inside would be lost
    for statement in config.body:
        if isinstance(statement, ast.Pass) or (
            isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)
        ):
            continue
        if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1):
            return False
        target = statement.targets[0]
        if not isinstance(target, ast.Name):
            return False
        if target.id == "allow_mutation":
            if not (isinstance(statement.value, ast.Constant) and isinstance(statement.value.value, bool)):
                return False
            continue
        if target.id == "extra" and isinstance(statement.value, ast.Attribute):
            if ctx.qualified_name(statement.value.value) not in ("pydantic.Extra", "pydantic.config.Extra"):
                return False
            continue
        if target.id not in CONFIG_SAME and CONFIG_RENAMES.get(target.id) is None:
            return False
    return True


def _targets(statement: ast.Assign | ast.AnnAssign | ast.stmt) -> list[ast.expr]:
    if isinstance(statement, ast.Assign):
        return list(statement.targets)
    if isinstance(statement, ast.AnnAssign):
        return [statement.target]
    return []


def _looks_like_v1_config(config: ast.ClassDef) -> bool:
    """A ``Config`` whose keys only a Pydantic v1 model would use (for classes whose base we can't resolve)."""
    keys = {t.id for s in config.body for t in _targets(s) if isinstance(t, ast.Name)}
    return bool(keys & (set(CONFIG_RENAMES) | SETTINGS_KEYS | {"arbitrary_types_allowed", "validate_assignment"}))


@file_rule(
    code="PF602",
    contexts=DEPRECATION_CONTEXTS,
    name="pydantic-v1-config",
    severity="warning",
    message="Pydantic v1 `class Config`: use `model_config = ConfigDict(...)`",
    fix_title="Convert to `model_config = ConfigDict(...)`",
    skill_section="Pydantic v2",
    template="settings.py",
    requires=("pydantic", "pydantic_settings", "sqlmodel"),
    fix="production_fastapi.rules.pydantic_fixes:ConfigClassToConfigDict",
    fix_applicability="safe",
    versions="pydantic>=2",
    docs=RuleDocs(
        what_it_does="Flags a nested `class Config:` in a Pydantic model or settings class (or one using v1-only "
        "keys such as `orm_mode`), and v1 key names (`orm_mode`, `allow_population_by_field_name`...) passed to "
        "`ConfigDict(...)`.",
        why="Pydantic 2 reads `class Config` only through a deprecation shim and will drop it; renamed keys are "
        "worse: `ConfigDict(orm_mode=True)` is silently ignored, so `model_validate(orm_object)` fails at runtime "
        "with a validation error instead of reading attributes.",
        example='''\
from pydantic import BaseModel


class UserOut(BaseModel):
    public_id: str

    class Config:
        orm_mode = True
''',
        use_instead='''\
from pydantic import BaseModel, ConfigDict


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    public_id: str
''',
        fix_safety="Safe on a project that targets Pydantic 2 only (v1 ignores `model_config`, so a project "
        "allowing both gets no fix) when `class Config` uses only keys whose name v2 kept: v2 reads those through "
        "its shim, so behaviour is unchanged. Unsafe (`--unsafe-fixes`) when it holds a key v2 renamed or removed "
        "(`orm_mode`, `allow_mutation`...): v2 only warns about those and ignores them, so the rewrite switches "
        "on a setting that is off today (tested by running both). Offered when every line of `class Config` is "
        "a plain `name = value` whose key has a direct v2 "
        "equivalent (renamed keys are renamed, `Extra.forbid` becomes `\"forbid\"`, `allow_mutation = False` "
        "becomes `frozen=True`), the class has no `model_config` yet and no comment inside `Config` would be "
        "lost. Settings classes get pydantic-settings' `SettingsConfigDict`. Anything else is reported only.",
    ),
)
def pydantic_v1_config(ctx: FileContext) -> Iterator[Violation]:
    if not ctx.mentions("Config"):
        return  # a `class Config` or a `ConfigDict(...)` call
    index = file_models(ctx)
    model_nodes = {id(m.node) for m in index.models.values()}
    # Models built on `pydantic.v1` keep `class Config` on purpose: it is that API's only spelling. A file that
    # imports `pydantic.v1` and defines no v2 model is such a file (its bases come from other v1 modules).
    v1_nodes = {id(m.node) for m in ModelIndex([ctx], roots=V1_MODEL_BASES).models.values()}
    v1_file = not model_nodes and ctx.mentions("pydantic.v1")
    for owner in ctx.nodes(ast.ClassDef):
        if id(owner) in v1_nodes or v1_file:
            continue
        for statement in owner.body:
            if not (isinstance(statement, ast.ClassDef) and statement.name == "Config"):
                continue
            if id(owner) in model_nodes or (
                owner.bases and _looks_like_v1_config(statement) and _unresolved_bases(ctx, owner)
            ):
                # Pydantic 2 ignores renamed and removed keys in `class Config` (it only warns): the rewrite
                # switches them on, a change of behaviour, and the model already misbehaves on v2.
                ignored = _ignored_on_v2(statement)
                yield ctx.violation(
                    statement,
                    fixable=config_fixable(ctx, statement, owner),
                    end_node=statement.body[0] if statement.body else statement,
                    unsafe_fix=ignored,
                    breaking=ignored,
                )
    for call in ctx.nodes(ast.Call):
        if ctx.qualified_name(call.func) in _CONFIG_DICTS:
            for kw in call.keywords:
                if kw.arg in CONFIG_RENAMES:
                    new = CONFIG_RENAMES[kw.arg]
                    advice = f"use `{new}`" if new else "it has no v2 equivalent"
                    yield ctx.violation(kw, f"v1 config key `{kw.arg}` is ignored by Pydantic v2: {advice}",
                                        fixable=False, breaking=True)


def _ignored_on_v2(config: ast.ClassDef) -> bool:
    """A v1 key Pydantic 2 renamed or removed (``orm_mode``, ``allow_mutation``...): v2 warns and ignores it."""
    return any(isinstance(t, ast.Name) and t.id in CONFIG_RENAMES for s in config.body for t in _targets(s))


def _unresolved_bases(ctx: FileContext, owner: ast.ClassDef) -> bool:
    """Bases imported from the project (or unknown): a v1-keyed Config there is a model's."""
    plain_roots = ("builtins", "enum", "typing", "abc")
    return all((ctx.qualified_name(b) or "").partition(".")[0] not in plain_roots for b in owner.bases)


# --- PF603 ----------------------------------------------------------------------------------------------------

_VALIDATORS = {
    "pydantic.validator": "field_validator",
    "pydantic.class_validators.validator": "field_validator",
    "pydantic.root_validator": "model_validator",
    "pydantic.class_validators.root_validator": "model_validator",
}


def validator_fixable(ctx: FileContext, decorator: ast.expr, function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """``@validator(...)`` with ``(cls, value)`` and only ``pre``/``allow_reuse``/``check_fields`` keywords, or
    ``@root_validator(pre=True)`` with ``(cls, values)``: both have an exact v2 spelling."""
    kind = _VALIDATORS.get(ctx.qualified_name(decorator.func if isinstance(decorator, ast.Call) else decorator) or "")
    args = function.args
    plain = (
        len(args.args) == 2
        and not args.posonlyargs
        and not args.kwonlyargs
        and args.vararg is None
        and args.kwarg is None
        and not args.defaults
    )
    if not plain or not isinstance(decorator, ast.Call):
        return False
    keywords = {kw.arg for kw in decorator.keywords}
    if kind == "field_validator":
        if None in keywords or not keywords <= {"pre", "allow_reuse", "check_fields"}:
            return False
        pre = keyword(decorator, "pre")
        return pre is None or (isinstance(pre, ast.Constant) and isinstance(pre.value, bool))
    if kind == "model_validator":
        return keywords <= {"pre", "allow_reuse"} and is_true(keyword(decorator, "pre")) and not decorator.args
    return False


@file_rule(
    code="PF603",
    contexts=DEPRECATION_CONTEXTS,
    name="pydantic-v1-validator",
    severity="warning",
    message="Pydantic v1 validator decorator",
    fix_title="Replace with `@field_validator` / `@model_validator(mode=\"before\")`",
    skill_section="Pydantic v2",
    template=None,
    requires=("pydantic",),
    fix="production_fastapi.rules.pydantic_fixes:ValidatorToV2",
    fix_applicability="safe",
    versions="pydantic>=2",
    docs=RuleDocs(
        what_it_does="Flags `@validator` and `@root_validator` imported from Pydantic.",
        why="Both are deprecated in Pydantic 2 and warn at import time (a failure under `-W error`). Their "
        "signatures differ from the v2 decorators (`values` became `info.data`, after-mode root validators "
        "receive the model), so leaving them in place postpones a migration that gets harder as they spread.",
        example='''\
from pydantic import BaseModel, validator


class Signup(BaseModel):
    email: str

    @validator("email")
    def lower_email(cls, value: str) -> str:
        return value.lower()
''',
        use_instead='''\
from pydantic import BaseModel, field_validator


class Signup(BaseModel):
    email: str

    @field_validator("email")
    @classmethod
    def lower_email(cls, value: str) -> str:
        return value.lower()
''',
        fix_safety="Safe on a project that targets Pydantic 2 only, for `@validator(...)` on a "
        "`(cls, value)` method whose keywords are only `pre`, "
        "`allow_reuse` or `check_fields` (`pre=True` becomes `mode=\"before\"`, `allow_reuse` is dropped: v2 "
        "doesn't need it) and for `@root_validator(pre=True)` on `(cls, values)`, which becomes "
        "`@model_validator(mode=\"before\")`; `@classmethod` is added. Validators that take `values`, `field`, "
        "`config`, use `always`/`each_item`, or post-mode root validators change meaning and are only reported. "
        "Pydantic 2 runs the v1 decorators through shims with exactly these semantics (tested by running both).",
    ),
)
def pydantic_v1_validator(ctx: FileContext) -> Iterator[Violation]:
    if not ctx.mentions("validator"):
        return
    for function in function_nodes(ctx):
        for decorator in function.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            kind = _VALIDATORS.get(ctx.qualified_name(target) or "")
            if kind is None:
                continue
            name = "validator" if kind == "field_validator" else "root_validator"
            yield ctx.violation(
                decorator,
                f"Pydantic v1 `@{name}`: use `@{kind}`",
                fixable=validator_fixable(ctx, decorator, function),
                # A post-mode root validator without skip_on_failure=True is refused by Pydantic 2.
                breaking=kind == "model_validator" and not _root_validator_runs_on_v2(decorator),
            )


def _root_validator_runs_on_v2(decorator: ast.expr) -> bool:
    """Pydantic 2 refuses ``@root_validator`` (bare, or post-mode) unless ``skip_on_failure=True`` is passed."""
    if not isinstance(decorator, ast.Call):
        return False
    return is_true(keyword(decorator, "pre")) or is_true(keyword(decorator, "skip_on_failure"))


# --- PF604 ----------------------------------------------------------------------------------------------------

FIELD_RENAMES: dict[str, str | None] = {
    "regex": "pattern",
    "min_items": "min_length",
    "max_items": "max_length",
    "allow_mutation": "frozen",
    "const": None,
    "unique_items": None,
}
_FIELD_FUNCTIONS = frozenset(
    {"pydantic.Field", "pydantic.fields.Field", "pydantic.conlist", "pydantic.conset", "pydantic.constr",
     "pydantic.types.conlist", "pydantic.types.constr"}
    | {f"fastapi.{p}" for p in ("Query", "Path", "Body", "Header", "Cookie", "Form", "File")}
    | {f"fastapi.params.{p}" for p in ("Query", "Path", "Body", "Header", "Cookie", "Form", "File")}
    | {"sqlmodel.Field"}
)


def field_argument_fixable(kw: ast.keyword) -> bool:
    new = FIELD_RENAMES.get(kw.arg or "")
    if new is None:
        return False
    if kw.arg == "allow_mutation":
        return isinstance(kw.value, ast.Constant) and kw.value.value is False
    return True


@file_rule(
    code="PF604",
    contexts=DEPRECATION_CONTEXTS,
    name="pydantic-v1-field-argument",
    severity="warning",
    message="Pydantic v1 field argument",
    fix_title="Rename to the Pydantic v2 argument",
    skill_section="Pydantic v2",
    template=None,
    requires=("pydantic", "fastapi", "sqlmodel"),
    fix="production_fastapi.rules.pydantic_fixes:FieldArgumentsToV2",
    fix_applicability="safe",
    versions="pydantic>=2",
    docs=RuleDocs(
        what_it_does="Flags `regex=`, `min_items=`, `max_items=`, `const=`, `unique_items=` and `allow_mutation=` "
        "in `Field()`, `conlist()`/`constr()` and FastAPI's `Query()`, `Path()`, `Body()`, `Header()`, "
        "`Cookie()`, `Form()`.",
        why="Pydantic 2 accepts some of these only with a deprecation warning and drops others on the floor: "
        "a `const=True` or `unique_items=True` constraint silently stops being enforced, so invalid input that "
        "used to get a 422 now reaches the handler.",
        example='''\
from pydantic import BaseModel, Field


class Transfer(BaseModel):
    account: str = Field(regex=r"^[A-Z0-9]{10}$")
''',
        use_instead='''\
from pydantic import BaseModel, Field


class Transfer(BaseModel):
    account: str = Field(pattern=r"^[A-Z0-9]{10}$")
''',
        fix_safety="Safe on a project that targets Pydantic 2 only, for the renames Pydantic 2 itself applies "
        "(with a deprecation warning): `min_items` -> `min_length`, `max_items` -> `max_length`, and "
        "`allow_mutation=False` -> `frozen=True`. `regex` -> `pattern` is unsafe (`--unsafe-fixes`): v1's `regex` "
        "matched at the start of the string, v2's `pattern` searches anywhere, so `\"<script>abc\"` goes from "
        "rejected to accepted against `regex=\"[a-z]+\"`; anchor the pattern with `^` when you accept it. "
        "`const` and `unique_items` have no one-word equivalent (a `Literal` type, a `set`) and are only reported.",
    ),
)
def pydantic_v1_field_argument(ctx: FileContext) -> Iterator[Violation]:
    for call in ctx.nodes(ast.Call):
        if ctx.qualified_name(call.func) not in _FIELD_FUNCTIONS:
            continue
        for kw in call.keywords:
            if kw.arg in FIELD_RENAMES:
                new = FIELD_RENAMES[kw.arg]
                advice = f"use `{new}`" if new else "it has no direct v2 equivalent"
                if kw.arg == "allow_mutation":
                    advice = "use `frozen=True`"
                yield ctx.violation(kw, f"Pydantic v1 argument `{kw.arg}=`: {advice}",
                                    fixable=field_argument_fixable(kw),
                                    # v1's regex matched at the start only; v2's pattern searches anywhere.
                                    unsafe_fix=kw.arg == "regex",
                                    breaking=_breaks_on_v2(ctx, call, kw))


def _breaks_on_v2(ctx: FileContext, call: ast.Call, kw: ast.keyword) -> bool:
    """Pydantic 2 raises on ``regex``/``const``/``unique_items`` in ``Field`` and on every v1 keyword of the
    ``con*`` functions (their signatures changed); ``min_items``/``max_items``/``allow_mutation`` only warn."""
    if (ctx.qualified_name(call.func) or "").rpartition(".")[2] in ("conlist", "conset", "constr"):
        return True
    return kw.arg in ("regex", "const", "unique_items")


class _Detection:
    """``pydantic.v1`` imported only to recognise v1 models (``isinstance(x, v1.BaseModel)``, ``issubclass``):
    compatibility code that supports both, not v1 code. The type-check arguments are collected once per file."""

    def __init__(self, ctx: FileContext) -> None:
        self._ctx = ctx
        #: Per loaded name: whether every use is a type-check argument (None until first asked).
        self._only_detects: dict[str, bool] | None = None

    def only(self, node: ast.Import | ast.ImportFrom) -> bool:
        if self._only_detects is None:
            detecting: set[int] = set()
            for call in self._ctx.nodes(ast.Call):
                name = call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", "")
                if name.endswith(("isinstance", "issubclass")) and len(call.args) >= 2:
                    detecting.update(id(n) for n in ast.walk(call.args[1]))
            self._only_detects = {}
            for name in self._ctx.nodes(ast.Name):
                if isinstance(name.ctx, ast.Load):
                    previous = self._only_detects.get(name.id, True)
                    self._only_detects[name.id] = previous and id(name) in detecting
        bound = {alias.asname or alias.name.partition(".")[0] for alias in node.names}
        found = [self._only_detects[b] for b in bound if b in self._only_detects]
        return bool(found) and all(found)


# --- PF605 ----------------------------------------------------------------------------------------------------


@file_rule(
    code="PF605",
    contexts=DEPRECATION_CONTEXTS,
    name="pydantic-v1-import",
    severity="error",
    message="Pydantic v1 import",
    fix_title="Import `BaseSettings` from `pydantic_settings`",
    skill_section="Pydantic v2",
    template="settings.py",
    requires=("pydantic",),
    fix="production_fastapi.rules.pydantic_fixes:BaseSettingsImport",
    fix_applicability="unsafe",
    versions="pydantic>=2",
    docs=RuleDocs(
        what_it_does="Flags `from pydantic import BaseSettings` and any import of `pydantic.v1`, except one used "
        "only in `isinstance`/`issubclass` to recognise v1 models (code that supports both).",
        why="`pydantic.BaseSettings` moved to the `pydantic-settings` package: with Pydantic 2 the import raises "
        "at startup, so the service never boots. `pydantic.v1` runs the old library inside the new one: none of "
        "v2's speed or fixes, two model systems that don't mix (v1 models can't be FastAPI v2 response models), "
        "and no support on new Python versions.",
        example='''\
from pydantic import BaseSettings


class Settings(BaseSettings):
    database_url: str = "sqlite+aiosqlite:///./app.db"
''',
        use_instead='''\
from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    database_url: str = "sqlite+aiosqlite:///./app.db"
''',
        fix_safety="Unsafe (applied with `--unsafe-fixes`): it needs the `pydantic-settings` package, and v1 "
        "settings features (`Field(env=...)`, `Config.fields`, how complex values are read from the environment) "
        "work differently there. For `from pydantic import BaseSettings` (with or without an alias, alongside other "
        "names): it becomes `from pydantic_settings import BaseSettings`, which the v2 settings class is. "
        "Needs the `pydantic-settings` package installed. `pydantic.v1` imports are only reported.",
    ),
)
def pydantic_v1_import(ctx: FileContext) -> Iterator[Violation]:
    detection = _Detection(ctx)
    for node in ctx.nodes(ast.ImportFrom):
        if node.level:
            continue
        if node.module == "pydantic":
            for alias in node.names:
                if alias.name == "BaseSettings":
                    # An aliased BaseSettings among other names would need a second import statement: report only.
                    fixable = not (alias.asname and len(node.names) > 1)
                    yield ctx.violation(node, "`BaseSettings` moved to `pydantic_settings`: this import fails "
                                        "with Pydantic 2", fixable=fixable, breaking=True)
                elif alias.name == "v1" and not detection.only(node):
                    yield ctx.violation(node, "`pydantic.v1` is the legacy v1 API: migrate to v2", fixable=False)
        elif (
            node.module
            and (node.module == "pydantic.v1" or node.module.startswith("pydantic.v1."))
            and not detection.only(node)
        ):
            yield ctx.violation(node, "`pydantic.v1` is the legacy v1 API: migrate to v2", fixable=False)
    for imported in ctx.nodes(ast.Import):
        if detection.only(imported):
            continue
        if any(a.name == "pydantic.v1" or a.name.startswith("pydantic.v1.") for a in imported.names):
            yield ctx.violation(imported, "`pydantic.v1` is the legacy v1 API: migrate to v2", fixable=False)


# --- PF606 ----------------------------------------------------------------------------------------------------

#: Types that JSON can only carry as strings or floats: strict mode rejects those in FastAPI's Python-mode validation.
_JSON_UNFRIENDLY = frozenset(
    {"Decimal", "datetime", "date", "time", "timedelta", "UUID", "UUID1", "UUID3", "UUID4", "UUID5", "Path",
     "IPv4Address", "IPv6Address", "IPvAnyAddress", "AwareDatetime", "NaiveDatetime", "PastDate", "FutureDate",
     "PastDatetime", "FutureDatetime"}
)
_ENUM_BASES = frozenset({"enum.Enum", "enum.StrEnum", "enum.IntEnum"})


def _strict_call(node: ast.AST) -> bool | None:
    """``strict=True/False`` passed to any call inside ``node`` (``Field(strict=True)``, ``ConfigDict(...)``)."""
    for inner in ast.walk(node):
        if isinstance(inner, ast.Call):
            value = keyword(inner, "strict")
            if isinstance(value, ast.Constant) and isinstance(value.value, bool):
                return value.value
        elif isinstance(inner, (ast.Name, ast.Attribute)) and (dotted(inner) or "").endswith("Strict"):
            return True  # typing marker `Strict()` or pydantic's `Strict` annotation
    return None


def _model_strict(index: ModelIndex, model: ModelClass) -> bool:
    """Whether ``model_config`` (on the class or a project base) sets ``strict=True``."""
    for statement in model.node.body:
        if any(isinstance(t, ast.Name) and t.id == "model_config" for t in _targets(statement)):
            value = getattr(statement, "value", None)
            if value is not None:
                strict = _strict_call(value)
                if strict is not None:
                    return strict
    for base in model.node.bases:
        parent = index.resolve(model.ctx, base)
        if parent is not None and _model_strict(index, parent):
            return True
    return False


def _enum_class(index: ModelIndex, ctx: FileContext, expr: ast.expr) -> bool:
    name = dotted(expr)
    if name is None:
        return False
    for node in ctx.tree.body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            return any(ctx.qualified_name(b) in _ENUM_BASES for b in node.bases)
    return False


def _body_models(index: ModelIndex, project: ProjectContext) -> list[ModelClass]:
    """Models FastAPI validates from a request: route parameters' types and the models nested in their fields."""
    found: dict[str, ModelClass] = {}
    pending: list[ModelClass] = []
    for ctx in project.files:
        for route in routes(ctx):
            args = route.function.args
            for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
                for reference in annotation_names(arg.annotation):
                    model = index.resolve(ctx, reference)
                    if model is not None:
                        pending.append(model)
    while pending:
        model = pending.pop()
        if model.key in found:
            continue
        found[model.key] = model
        for field_ctx, field, _ in index.fields(model):
            for reference in annotation_names(field.annotation):
                nested = index.resolve(field_ctx, reference)
                if nested is not None:
                    pending.append(nested)
    return list(found.values())


@project_rule(
    code="PF606",
    versions="pydantic>=2",
    name="strict-field-rejects-json",
    severity="error",
    message="strict field of a type JSON cannot carry: every request will get a 422",
    skill_section="Pydantic v2",
    template=None,
    # Models live in files that import pydantic, routes in files that import fastapi: the rest can be skipped.
    requires=("pydantic", "fastapi", "sqlmodel"),
    docs=RuleDocs(
        what_it_does="In models that FastAPI validates from requests (route parameters and the models nested in "
        "them, across the project), flags `Decimal`, `datetime`, `date`, `time`, `timedelta`, `UUID`, `Path`, IP "
        "address and enum fields that are strict, through `ConfigDict(strict=True)` or `Field(strict=True)`.",
        why="FastAPI validates the already-parsed JSON in Python mode. In strict Python mode a `Decimal` accepts "
        "only a `Decimal`, a `datetime` only a `datetime`: JSON has neither, so the field rejects every value a "
        "client can send and the endpoint answers 422 to every request. Make only the fields JSON carries "
        "natively strict (`StrictInt`, `Field(strict=True)` on a `str`), and test the model through a request.",
        example='''\
from decimal import Decimal

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict

app = FastAPI()


class Transfer(BaseModel):
    model_config = ConfigDict(strict=True)

    to_account: str
    amount: Decimal


@app.post("/transfers")
async def transfer(body: Transfer) -> dict[str, str]:
    return {"status": "queued"}
''',
        use_instead='''\
from decimal import Decimal
from typing import Annotated

from fastapi import FastAPI
from pydantic import BaseModel, Field

app = FastAPI()


class Transfer(BaseModel):
    to_account: Annotated[str, Field(strict=True)]
    amount: Annotated[Decimal, Field(gt=0)]


@app.post("/transfers")
async def transfer(body: Transfer) -> dict[str, str]:
    return {"status": "queued"}
''',
    ),
)
def strict_field_rejects_json(project: ProjectContext) -> Iterator[Violation]:
    index = model_index(project)
    if not index.models:
        return
    for model in _body_models(index, project):
        model_strict = _model_strict(index, model)
        for statement in model.node.body:
            if not (isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)):
                continue
            field_strict = _strict_call(statement.annotation)
            if field_strict is None and statement.value is not None:
                field_strict = _strict_call(statement.value)
            strict = field_strict if field_strict is not None else model_strict
            if not strict:
                continue
            ctx = model.ctx
            for reference in annotation_names(statement.annotation):
                short = (dotted(reference) or "").rpartition(".")[2]
                if short in _JSON_UNFRIENDLY or _enum_class(index, ctx, reference):
                    yield ctx.violation(
                        statement, f"strict `{short}` field `{statement.target.id}`: JSON has no `{short}`, so "
                        "FastAPI answers 422 to every request; drop strict on this field"
                    )
                    break


__all__ = [
    "CONFIG_RENAMES",
    "CONFIG_SAME",
    "FIELD_RENAMES",
    "SETTINGS_KEYS",
    "V1_CLASS_METHODS",
    "V1_INSTANCE_METHODS",
    "config_fixable",
    "field_argument_fixable",
    "validator_fixable",
]
