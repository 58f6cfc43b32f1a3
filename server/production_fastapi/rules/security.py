"""Area 0, security: injection, secrets in source, spoofable client addresses, leaks to the client, debug mode."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from production_fastapi.rules._helpers import (
    ModelIndex,
    annotation_names,
    dotted,
    enclosing_route,
    function_nodes,
    is_true,
    keyword,
    literal_strings,
    model_index,
    name_words,
    routes,
    string_value,
)
from production_fastapi.rules.base import LAUNCH_CONTEXTS, RuleDocs, Violation, file_rule, project_rule, text_rule
from production_fastapi.rules.context import FileContext, ProjectContext, TextContext

# --- PF001 ----------------------------------------------------------------------------------------------------

_TEXT_CALLS = ("sqlalchemy.text", "sqlalchemy.sql.text", "sqlalchemy.sql.expression.text")
#: Methods that send a statement to a database; except ``exec_driver_sql``, only when the string looks like SQL.
_EXECUTE_METHODS = frozenset({"execute", "executemany", "exec_driver_sql", "fetch", "fetchrow", "fetchval"})
_SQL_SHAPE = re.compile(
    r"^\s*(select\s.+\sfrom\s|insert\s+into\s|update\s+\S+\s+set\s|delete\s+from\s|with\s+\S+\s+as\s*\(|"
    r"(create|drop|alter|truncate)\s+(table|index|view|schema)\s)",
    re.IGNORECASE | re.DOTALL,
)


#: Bound-parameter placeholders: `:name` (SQLAlchemy, not a `::cast`), `?`, `$1`, `%(name)s`.
_BIND_MARKER = re.compile(r"(?<![:\w]):[A-Za-z_]\w*|\?|\$\d+|%\([A-Za-z_]\w*\)s")


#: Calls that quote an identifier for the dialect: what they return is a name, not a value a client can inject.
_QUOTERS = frozenset({"quote", "quote_ident", "quote_identifier", "quote_schema", "quoted_name", "format_table"})


def _safe_part(ctx: FileContext, node: ast.expr) -> bool:
    """A spliced value that cannot carry client input: a literal, an UPPER_CASE constant, a module-level string
    constant, or an identifier quoted for the dialect (``preparer.quote(name)``, ``quote_ident(name)``,
    ``quoted_name(...)``). DDL assembled this way is the schema's own text, not injection."""
    if isinstance(node, ast.Constant):
        return True
    if _constant_name(node):
        return True
    if isinstance(node, ast.Call):
        callee = dotted(node.func) or ""
        return callee.rpartition(".")[2] in _QUOTERS
    return isinstance(node, ast.Name) and node.id in _module_strings(ctx)


def _module_strings(ctx: FileContext) -> frozenset[str]:
    """Names the module binds, at its top level, only to string literals (``TABLE = "users"``)."""
    cached: frozenset[str] | None = getattr(ctx, "_pf001_strings", None)
    if cached is None:
        literal: set[str] = set()
        other: set[str] = set()
        for statement in ctx.tree.body:
            if isinstance(statement, ast.Assign):
                names = [t.id for t in statement.targets if isinstance(t, ast.Name)]
                (literal if string_value(statement.value) is not None else other).update(names)
        cached = frozenset(literal - other)
        ctx._pf001_strings = cached  # type: ignore[attr-defined]
    return cached


def _template_text(ctx: FileContext, node: ast.expr) -> str | None:
    """The literal skeleton of a string built from parts (values replaced by ``x``), or None if not built (or
    built only from parts that cannot carry client input, see :func:`_safe_part`)."""
    if isinstance(node, ast.JoinedStr):
        formatted = [v for v in node.values if isinstance(v, ast.FormattedValue)]
        if not formatted or all(_safe_part(ctx, v.value) for v in formatted):
            return None  # only the code's own identifiers and quoted names spliced in
        return "".join(string_value(v) or "x" for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        left = string_value(node.left)
        right = node.right.elts if isinstance(node.right, ast.Tuple) else [node.right]
        if all(_safe_part(ctx, part) for part in right):
            return None
        return left if left is not None and string_value(node.right) is None else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        operands: list[ast.expr] = []
        stack: list[ast.expr] = [node]
        while stack:
            current = stack.pop()
            if isinstance(current, ast.BinOp) and isinstance(current.op, ast.Add):
                stack.extend([current.right, current.left])
            else:
                operands.append(current)
        literals = [string_value(o) for o in operands]
        if all(_safe_part(ctx, o) for o, v in zip(operands, literals, strict=True) if v is None):
            return None
        if any(v is not None for v in literals) and any(v is None for v in literals):
            return "".join(v if v is not None else "x" for v in literals)
        return None
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
        and (node.args or node.keywords)
    ):
        if all(_safe_part(ctx, part) for part in (*node.args, *(kw.value for kw in node.keywords))):
            return None
        return string_value(node.func.value)
    return None


def _constant_name(node: ast.expr) -> bool:
    name = dotted(node)
    last = name.rpartition(".")[2] if name else ""
    return bool(last) and last.isupper()


def _built_string(ctx: FileContext, node: ast.expr) -> str | None:
    """The skeleton of a dynamically built string, following a local variable assigned only that way."""
    direct = _template_text(ctx, node)
    if direct is not None or not isinstance(node, ast.Name):
        return direct
    scope = ctx.enclosing_function(node) or ctx.tree
    skeleton: str | None = None
    for statement in ast.walk(scope):
        if isinstance(statement, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == node.id for t in statement.targets
        ):
            built = _template_text(ctx, statement.value)
            if built is None:
                return None  # assigned a plain value somewhere: can't tell which one reaches the call
            skeleton = built
        elif isinstance(statement, (ast.AugAssign, ast.AnnAssign)) and (
            isinstance(statement.target, ast.Name) and statement.target.id == node.id
        ):
            return None
    return skeleton


@file_rule(
    code="PF001",
    opt_in=(
        "no data flow: it cannot tell request data from internal identifiers, and the judged findings on "
        "unseen packages were DDL names and operator scripts"
    ),
    name="sql-built-from-strings",
    severity="error",
    message="SQL built from a formatted string: pass values as bound parameters",
    skill_section="Security",
    template="database.py",
    requires=("sqlalchemy", "asyncpg", "sqlite3", "psycopg", "psycopg2", "aiosqlite", "pymysql", "databases"),
    docs=RuleDocs(
        what_it_does="Flags SQL assembled with an f-string, `%`, `.format()` or `+` and handed to SQLAlchemy's "
        "`text()`, `exec_driver_sql()` or a driver's `execute()`/`fetch*()` (directly or through a local variable).",
        why="Whatever a client controls ends up inside the statement: a quote in an email address becomes SQL "
        "injection, the classic way a whole table leaks. SQLAlchemy 2 already refuses plain strings in "
        "`execute()`, so the injection risk now lives in `text(f\"...\")` and driver-level calls.",
        example='''\
from fastapi import FastAPI
from sqlalchemy import text

from app.database import SessionDep

app = FastAPI()


@app.get("/users")
async def find_user(email: str, session: SessionDep) -> list[str]:
    result = await session.execute(text(f"SELECT id FROM users WHERE email = '{email}'"))
    return [str(row.id) for row in result]
''',
        use_instead='''\
from fastapi import FastAPI
from sqlalchemy import text

from app.database import SessionDep

app = FastAPI()


@app.get("/users")
async def find_user(email: str, session: SessionDep) -> list[str]:
    result = await session.execute(text("SELECT id FROM users WHERE email = :email"), {"email": email})
    return [str(row.id) for row in result]
''',
    ),
)
def sql_built_from_strings(ctx: FileContext) -> Iterator[Violation]:
    if not (ctx.may_call(*_TEXT_CALLS) or ctx.mentions(*_EXECUTE_METHODS)):
        return
    if ctx.imports("alembic"):
        return  # migrations splice the schema's own identifiers, run by operators, never with request input
    text_calls = frozenset(_TEXT_CALLS)
    for call in ctx.nodes(ast.Call):
        if not call.args:
            continue
        is_text = ctx.qualified_name(call.func) in text_calls
        method = call.func.attr if isinstance(call.func, ast.Attribute) else None
        if not is_text and method not in _EXECUTE_METHODS:
            continue
        skeleton = _built_string(ctx, call.args[0])
        if skeleton is None or _binds_values(ctx, call, skeleton):
            continue
        if is_text or method == "exec_driver_sql" or _SQL_SHAPE.match(skeleton):
            yield ctx.violation(call)


def _binds_values(ctx: FileContext, call: ast.Call, skeleton: str) -> bool:
    """Whether the statement is composed but its values are bound: placeholders in the text, or parameters passed
    next to it. The formatted parts are then table names or SQL fragments the code chose, not client input."""
    first = call.args[0]
    percent_formatted = isinstance(first, ast.BinOp) and isinstance(first.op, ast.Mod)
    if _BIND_MARKER.search(skeleton) and not percent_formatted:
        return True
    parent = ctx.parent(call)
    if isinstance(parent, ast.keyword) and parent.arg in ("server_default", "server_onupdate"):
        return True  # DDL written once by the schema, not per request
    if len(call.args) > 1 or any(kw.arg in ("parameters", "params", "args") for kw in call.keywords):
        return True
    outer = ctx.parent(call)
    return isinstance(outer, ast.Call) and outer.args[:1] == [call] and (len(outer.args) > 1 or bool(outer.keywords))


# --- PF002 ----------------------------------------------------------------------------------------------------

_SECRET_LAST = frozenset({"password", "passwd", "pwd", "secret", "token", "credentials", "passphrase"})
#: ``access_key`` is left out: in S3-style pairs it is the key's public ID (``secret_key`` is the secret).
_SECRET_KEY_QUALIFIERS = frozenset({"api", "secret", "private", "signing", "encryption", "jwt", "auth", "hmac"})
_URL_LAST = frozenset({"url", "dsn", "uri"})
_CREDENTIALS_IN_URL = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@:\s]*:[^/@\s]+@", re.IGNORECASE)
_SECRET_TYPES = frozenset({"SecretStr", "SecretBytes"})


def _is_secret_name(name: str) -> bool:
    words = name_words(name)
    if not words:
        return False
    last = words[-1]
    if last in _SECRET_LAST or last == "apikey":
        return True
    return last == "key" and len(words) > 1 and words[-2] in _SECRET_KEY_QUALIFIERS


def _literal_default(value: ast.expr | None) -> str | None:
    """A string literal a settings field falls back to: ``"x"``, ``SecretStr("x")``, ``Field("x")``/``default="x"``."""
    if value is None:
        return None
    literal = string_value(value)
    if literal is not None:
        return literal
    if isinstance(value, ast.Call) and isinstance(value.func, (ast.Name, ast.Attribute)):
        callee = value.func.attr if isinstance(value.func, ast.Attribute) else value.func.id
        if callee in _SECRET_TYPES and value.args:
            return string_value(value.args[0])
        if callee == "Field":
            default = value.args[0] if value.args else keyword(value, "default")
            return _literal_default(default)
    return None


#: The settings classes PF002 and PF009 read: pydantic-settings' and Pydantic 1's own `BaseSettings`.
_SETTINGS_ROOTS = frozenset({"pydantic_settings.BaseSettings", "pydantic.BaseSettings"})


def _settings_fields(ctx: FileContext) -> Iterator[tuple[ast.AnnAssign, str]]:
    """Every annotated field (and its name) of the file's settings classes."""
    if not ctx.mentions("BaseSettings"):
        return
    for model in ModelIndex([ctx], roots=_SETTINGS_ROOTS).models.values():
        for statement in model.node.body:
            if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
                yield statement, statement.target.id


def _kept_out_of_repr(value: ast.expr | None) -> bool:
    """``Field(repr=False)``: a plain ``str`` kept out of reprs and tracebacks, which is what SecretStr is for."""
    flag = keyword(value, "repr") if isinstance(value, ast.Call) else None
    return isinstance(flag, ast.Constant) and flag.value is False


def _plain_str(annotation: ast.expr) -> bool:
    names = {dotted(n) or "" for n in annotation_names(annotation)}
    short = {n.rpartition(".")[2] for n in names}
    return "str" in short and not (short & _SECRET_TYPES)


@file_rule(
    code="PF002",
    name="secret-with-default",
    severity="error",
    message="secret setting has a literal default",
    skill_section="Security",
    template="settings.py",
    requires=("pydantic_settings", "pydantic"),
    docs=RuleDocs(
        what_it_does="In a `BaseSettings` class, flags fields named like secrets (`*_password`, `*_secret`, "
        "`*_token`, `api_key`, `secret_key`...) that have a literal default, and URL/DSN fields whose default "
        "embeds a password. A secret typed `str` without a default is PF009's (opt-in).",
        why="A default secret ships to every environment that forgets to set the variable: production runs with "
        "the key from the repository, and anyone who has read the code can sign tokens.",
        example='''\
from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    secret_key: str = "change-me"
    database_url: str = "postgresql+asyncpg://app:hunter2@db/app"
''',
        use_instead='''\
from pydantic import SecretStr
from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    secret_key: SecretStr
    database_url: str = "sqlite+aiosqlite:///./app.db"
''',
    ),
)
def secret_with_default(ctx: FileContext) -> Iterator[Violation]:
    for statement, name in _settings_fields(ctx):
        default = _literal_default(statement.value)
        if _is_secret_name(name):
            if default:
                yield ctx.violation(statement, f"secret setting `{name}` has a literal default: require it "
                                    "from the environment")
        elif name_words(name)[-1:] and name_words(name)[-1] in _URL_LAST and default and (
            _CREDENTIALS_IN_URL.match(default)
        ):
            yield ctx.violation(statement, f"setting `{name}` defaults to a URL with a password in it")


@file_rule(
    code="PF009",
    opt_in="judged debatable on unseen code: a plain `str` secret leaks only where the settings are printed or logged",
    name="secret-setting-plain-str",
    severity="warning",
    message="secret setting is a plain `str`: use `SecretStr` so it is masked in logs and tracebacks",
    skill_section="Security",
    template="settings.py",
    requires=("pydantic_settings", "pydantic"),
    docs=RuleDocs(
        what_it_does="In a `BaseSettings` class, flags fields named like secrets (`*_password`, `*_secret`, "
        "`*_token`, `api_key`...) typed `str` with no literal default (a default is PF002's). A field declared "
        "with `Field(repr=False)` is left alone.",
        why="A plain `str` secret prints in full wherever the settings object is logged, printed or shown in a "
        "traceback with locals; `SecretStr` prints `**********` and gives the value only to "
        "`get_secret_value()`.",
        example='''\
from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    smtp_password: str
''',
        use_instead='''\
from pydantic import SecretStr
from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    smtp_password: SecretStr
''',
    ),
)
def secret_setting_plain_str(ctx: FileContext) -> Iterator[Violation]:
    for statement, name in _settings_fields(ctx):
        if (
            _is_secret_name(name)
            and not _literal_default(statement.value)
            and _plain_str(statement.annotation)
            and not _kept_out_of_repr(statement.value)
        ):
            yield ctx.violation(statement, f"secret setting `{name}` is a plain `str`: use `SecretStr` so it is "
                                "masked in logs and tracebacks")


# --- PF003 ----------------------------------------------------------------------------------------------------

_PROXY_MIDDLEWARE = frozenset({"uvicorn.middleware.proxy_headers.ProxyHeadersMiddleware"})
_UVICORN_ENTRY = frozenset({"uvicorn.run", "uvicorn.Config", "uvicorn.config.Config", "uvicorn.main.run"})


def _wildcard(node: ast.expr | None) -> bool:
    values = literal_strings(node)
    return values is not None and any("*" in part.strip() for v in values for part in v.split(","))


@file_rule(
    code="PF003",
    contexts=LAUNCH_CONTEXTS,
    name="proxy-trusts-everyone",
    severity="error",
    message="proxy headers are trusted from every address: any client can spoof its IP and scheme",
    skill_section="Deployment",
    template="gunicorn_conf.py",
    docs=RuleDocs(
        what_it_does="Flags `ProxyHeadersMiddleware(trusted_hosts=\"*\")`, `forwarded_allow_ips=\"*\"` in "
        "`uvicorn.run()`/`uvicorn.Config()` and `forwarded_allow_ips = \"*\"` in a gunicorn config.",
        why="With `*` the server believes `X-Forwarded-For` and `X-Forwarded-Proto` from anyone who can reach it. "
        "A client sets its own address: per-IP rate limits and lockouts stop working, audit logs record an "
        "address of the attacker's choosing, and `https` checks trust a forged scheme. uvicorn already trusts "
        "127.0.0.1; list the proxy's own addresses instead.",
        example='''\
import uvicorn

if __name__ == "__main__":
    uvicorn.run("app.main:app", host="0.0.0.0", forwarded_allow_ips="*")
''',
        use_instead='''\
import uvicorn

if __name__ == "__main__":
    uvicorn.run("app.main:app", host="0.0.0.0", forwarded_allow_ips="10.0.0.5", timeout_graceful_shutdown=20)
''',
    ),
)
def proxy_trusts_everyone(ctx: FileContext) -> Iterator[Violation]:
    if not ctx.mentions("trusted_hosts", "forwarded_allow_ips"):
        return
    for call in ctx.nodes(ast.Call):
        qualified = ctx.qualified_name(call.func)
        if qualified in _UVICORN_ENTRY:
            if _wildcard(keyword(call, "forwarded_allow_ips")):
                yield ctx.violation(call)
            continue
        target = call.args[0] if call.args else None
        middleware = qualified in _PROXY_MIDDLEWARE or (
            target is not None and ctx.qualified_name(target) in _PROXY_MIDDLEWARE
        )
        if middleware and _wildcard(keyword(call, "trusted_hosts")):
            yield ctx.violation(call)
    for statement in ctx.tree.body:  # gunicorn reads module-level names of its config file
        if isinstance(statement, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "forwarded_allow_ips" for t in statement.targets
        ) and _wildcard(statement.value):
            yield ctx.violation(statement)


# --- PF007 ----------------------------------------------------------------------------------------------------

_COMMAND_WILDCARD = re.compile(
    # `--forwarded-allow-ips=*`, `--forwarded-allow-ips "*"`, exec-form `"--forwarded-allow-ips", "*"`, env files,
    # YAML, and a Dockerfile's `ENV FORWARDED_ALLOW_IPS "*"` (the old form with a space for the equals sign).
    r"""(--forwarded-allow-ips["']?(?:\s*[=,]\s*|\s+)["']?|FORWARDED_ALLOW_IPS["']?\s*[=:]\s*"""
    r"""|\bENV[ \t]+FORWARDED_ALLOW_IPS[ \t]+)["']?\*(?![\w.])"""
)


@text_rule(
    code="PF007",
    name="proxy-trusts-everyone-in-command",
    severity="error",
    message="`--forwarded-allow-ips=*`: any client can spoof its IP and scheme",
    skill_section="Deployment",
    template="gunicorn_conf.py",
    files=("Dockerfile", "Dockerfile.*", "*.Dockerfile", "*.dockerfile", "Containerfile", "Procfile", "*.sh",
           "*.yaml", "*.yml", "*.env", ".env"),
    docs=RuleDocs(
        what_it_does="Flags `--forwarded-allow-ips=*` (uvicorn and gunicorn) and `FORWARDED_ALLOW_IPS=*` in "
        "Dockerfiles, Procfiles, scripts, compose/Kubernetes YAML and env files. PF003 covers Python code.",
        why="With `*` the server believes `X-Forwarded-For` and `X-Forwarded-Proto` from anyone who can reach it, "
        "so a client picks its own address: per-IP rate limits and lockouts stop working and audit logs record "
        "whatever the attacker wrote. List the proxy's own addresses (uvicorn already trusts 127.0.0.1).",
        example='''\
web: uvicorn app.main:app --host 0.0.0.0 --port $PORT --forwarded-allow-ips=* --timeout-graceful-shutdown 20
''',
        use_instead='''\
web: uvicorn app.main:app --host 0.0.0.0 --port $PORT --forwarded-allow-ips=10.0.0.5 --timeout-graceful-shutdown 20
''',
        example_filename="Procfile",
    ),
)
def proxy_trusts_everyone_in_command(ctx: TextContext) -> Iterator[Violation]:
    if "*" not in ctx.text:
        return
    for number, line in enumerate(ctx.lines, start=1):
        if line.lstrip().startswith("#"):
            continue
        for match in _COMMAND_WILDCARD.finditer(line):
            yield ctx.violation_at(number, match.start() + 1, match.end() + 1)


# --- PF008 ----------------------------------------------------------------------------------------------------

_SEQUENCES = frozenset({"list", "set", "tuple", "frozenset", "List", "Set", "Tuple", "FrozenSet", "Sequence",
                        "AbstractSet", "MutableSequence"})


def _sequence_annotation(annotation: ast.expr) -> bool:
    """``list[str]``, ``set[str] | None``, ``Optional[tuple[str, ...]]``: a collection the environment spells."""
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        return _sequence_annotation(annotation.left) or _sequence_annotation(annotation.right)
    if isinstance(annotation, ast.Subscript):
        head = (dotted(annotation.value) or "").rpartition(".")[2]
        if head == "Optional":
            return _sequence_annotation(annotation.slice)
        # Only collections of plain values: nobody writes a list of objects comma-separated.
        elements = annotation.slice.elts if isinstance(annotation.slice, ast.Tuple) else [annotation.slice]
        return head in _SEQUENCES and all(_scalar(e) for e in elements)
    return (dotted(annotation) or "").rpartition(".")[2] in ("list", "set", "tuple", "frozenset")


_SCALARS = frozenset({"str", "int", "float", "Decimal", "EmailStr", "IPvAnyNetwork", "IPvAnyAddress", "IPv4Network",
                      "IPv6Network", "IPv4Address", "IPv6Address"})


def _scalar(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant) and node.value is Ellipsis:
        return True  # tuple[str, ...]
    name = (dotted(node) or "").rpartition(".")[2]
    return name in _SCALARS or name.endswith("Url")


def _decoding_disabled(model: ast.ClassDef) -> bool:
    """``model_config = SettingsConfigDict(enable_decoding=False)``: no field is JSON-decoded."""
    for statement in model.body:
        if isinstance(statement, (ast.Assign, ast.AnnAssign)) and statement.value is not None:
            for node in ast.walk(statement.value):
                if isinstance(node, ast.Call):
                    value = keyword(node, "enable_decoding")
                    if isinstance(value, ast.Constant) and value.value is False:
                        return True
    return False


@file_rule(
    code="PF008",
    opt_in=(
        "JSON is pydantic-settings' documented format for list settings; the comma-separated convention "
        "is a house choice"
    ),
    name="settings-list-parsed-as-json",
    severity="warning",
    message="list setting is parsed as JSON from the environment: `A,B` fails at startup",
    skill_section="Security",
    template="settings.py",
    requires=("pydantic_settings",),
    docs=RuleDocs(
        what_it_does="In a pydantic-settings class, flags `list`/`set`/`tuple` fields not marked "
        "`Annotated[..., NoDecode]` (and no `enable_decoding=False` on the class).",
        why="pydantic-settings decodes complex fields from the environment as JSON before any validator runs. "
        "`CORS_ORIGINS=https://a.example,https://b.example`, the way everyone writes it in a manifest, stops the "
        "service at startup with `error parsing value for field`; a splitting validator never gets the chance. "
        "`NoDecode` hands the raw string to the validator.",
        example='''\
from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    cors_origins: list[str] = []
''',
        use_instead='''\
from typing import Annotated

from pydantic import field_validator
from pydantic_settings import BaseSettings, NoDecode


class Settings(BaseSettings):
    cors_origins: Annotated[list[str], NoDecode] = []

    @field_validator("cors_origins", mode="before")
    @classmethod
    def split_origins(cls, value: object) -> object:
        return [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value
''',
    ),
)
def settings_list_parsed_as_json(ctx: FileContext) -> Iterator[Violation]:
    index = ModelIndex([ctx], roots=frozenset({"pydantic_settings.BaseSettings"}))
    for model in index.models.values():
        if _decoding_disabled(model.node):
            continue
        for statement in model.node.body:
            if not (isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)):
                continue
            annotation = statement.annotation
            if any((dotted(n) or "").rpartition(".")[2] == "NoDecode" for n in annotation_names(annotation)):
                continue
            if isinstance(annotation, ast.Subscript) and (dotted(annotation.value) or "").endswith("Annotated"):
                inner = annotation.slice
                annotation = inner.elts[0] if isinstance(inner, ast.Tuple) and inner.elts else inner
            if _sequence_annotation(annotation):
                yield ctx.violation(statement, f"setting `{statement.target.id}` is parsed as JSON from the "
                                    "environment: `A,B` fails at startup; use `Annotated[..., NoDecode]` and split")


# --- PF004 ----------------------------------------------------------------------------------------------------

#: Fields no client ever needs back. API keys and client secrets are left out on purpose: the endpoint that issues
#: one must return it once, and that is the common reason such a field sits in a response model.
_INTERNAL_FIELDS = frozenset({"password", "passwd", "pwd", "password_digest", "salt", "password_salt"})


_HASHED_SECRETS = ("password", "passwd", "secret", "key", "token", "pin", "otp")


def _internal_field(name: str) -> bool:
    """A password, a salt, or the hash of a secret (``api_key_hash``; not ``file_hash``, a checksum is public)."""
    lowered = name.lower()
    hashed = lowered.endswith("_hash") or lowered.startswith("hashed_")
    return lowered in _INTERNAL_FIELDS or (hashed and any(word in lowered for word in _HASHED_SECRETS))


def _excluded(field: ast.AnnAssign) -> bool:
    """``Field(exclude=True)`` (as the value or inside ``Annotated``) keeps a field out of every response."""
    candidates: list[ast.AST] = [field.value] if field.value is not None else []
    candidates.append(field.annotation)
    for candidate in candidates:
        for node in ast.walk(candidate):
            if isinstance(node, ast.Call) and is_true(keyword(node, "exclude")):
                return True
    return False


def _masked(field: ast.AnnAssign) -> bool:
    return any((dotted(n) or "").rpartition(".")[2] in _SECRET_TYPES for n in annotation_names(field.annotation))


@project_rule(
    code="PF004",
    name="response-leaks-internal-field",
    severity="error",
    message="response model exposes an internal field",
    skill_section="Security",
    template=None,
    # Models live in files that import pydantic, routes in files that import fastapi: the rest can be skipped.
    requires=("pydantic", "fastapi", "sqlmodel"),
    docs=RuleDocs(
        what_it_does="Follows each route's response model (`response_model=` or the return type, through `list[...]`"
        ", `Optional` and imports across the project) and flags password and hash fields: `password`, "
        "`hashed_password`, `password_hash`, `salt`, `api_key_hash`..., unless excluded or typed `SecretStr`. "
        "(API keys are not flagged: the endpoint that issues one has to return it.)",
        why="Whatever is in the response model is serialized to every caller. A password hash in a user response "
        "is offline-crackable by anyone who can list users, and a stored key's hash lets them test guesses. "
        "Reusing the database-shaped model as the response model is how this usually happens.",
        example='''\
from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class UserOut(BaseModel):
    email: str
    hashed_password: str


@app.get("/users/{user_id}")
async def get_user(user_id: int) -> UserOut:
    return UserOut(email="a@example.com", hashed_password="x")
''',
        use_instead='''\
from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class UserOut(BaseModel):
    email: str


@app.get("/users/{user_id}")
async def get_user(user_id: int) -> UserOut:
    return UserOut(email="a@example.com")
''',
    ),
)
def response_leaks_internal_field(project: ProjectContext) -> Iterator[Violation]:
    index = model_index(project)
    reported: set[tuple[str, int]] = set()
    for ctx in project.files:
        for route in routes(ctx):
            declared = route.response_model
            if declared is None:
                declared = route.function.returns
            elif isinstance(declared, ast.Constant) and declared.value is None:
                continue
            for reference in annotation_names(declared):
                model = index.resolve(ctx, reference)
                if model is None:
                    continue
                for field_ctx, field, name in index.fields(model):
                    key = (field_ctx.path, field.lineno)
                    if (
                        _internal_field(name)
                        and not _excluded(field)
                        and not _masked(field)
                        and key not in reported
                    ):
                        reported.add(key)
                        yield field_ctx.violation(field, f"response model `{model.node.name}` exposes `{name}`")


# --- PF005 ----------------------------------------------------------------------------------------------------

_TRACEBACK_FORMATTERS = frozenset(
    {"traceback.format_exc", "traceback.format_exception", "traceback.format_tb", "traceback.format_stack"}
)


def _leaks(ctx: FileContext, node: ast.AST, names: frozenset[str]) -> bool:
    """Whether an expression turns an exception (``names``) or a traceback into text."""
    for inner in ast.walk(node):
        if isinstance(inner, ast.Call):
            if ctx.qualified_name(inner.func) in _TRACEBACK_FORMATTERS:
                return True
            func = inner.func
            if (
                isinstance(func, ast.Name)
                and func.id in ("str", "repr", "format")
                and inner.args
                and isinstance(inner.args[0], ast.Name)
                and inner.args[0].id in names
            ):
                return True
        elif isinstance(inner, ast.FormattedValue):
            if isinstance(inner.value, ast.Name) and inner.value.id in names:
                return True
        elif isinstance(inner, ast.BinOp) and isinstance(inner.op, ast.Mod) and string_value(inner.left) is not None:
            right = inner.right.elts if isinstance(inner.right, ast.Tuple) else [inner.right]
            if any(isinstance(r, ast.Name) and r.id in names for r in right):
                return True
        elif (
            isinstance(inner, ast.Attribute)
            and inner.attr == "args"
            and isinstance(inner.value, ast.Name)
            and inner.value.id in names
        ):
            return True
    return False


#: Exceptions whose text describes infrastructure: SQL and DSNs, hostnames, file paths, upstream responses.
_LEAKY_ROOTS = ("sqlalchemy.", "asyncpg.", "psycopg", "pymysql.", "aiosqlite.", "sqlite3.", "redis.", "httpx.",
                "aiohttp.", "requests.", "urllib3.", "botocore.", "boto3.", "pymongo.", "motor.", "grpc.")
_LEAKY_BUILTINS = frozenset({"builtins.Exception", "builtins.BaseException", "builtins.OSError",
                             "builtins.ConnectionError", "builtins.IOError", "builtins.RuntimeError"})


def _leaky_catch(ctx: FileContext, handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    for caught in types:
        qualified = ctx.qualified_name(caught) or ""
        if qualified in _LEAKY_BUILTINS or qualified.startswith(_LEAKY_ROOTS):
            return True
    return False


def _is_response_call(ctx: FileContext, node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    qualified = ctx.qualified_name(node.func) or ""
    short = qualified.rpartition(".")[2] or (node.func.id if isinstance(node.func, ast.Name) else "")
    return short == "HTTPException" or (
        short.endswith("Response") and qualified.startswith(("fastapi.", "starlette."))
    )


def _sent(ctx: FileContext, assign: ast.Assign, name: str, in_route: bool) -> bool:
    """Whether a local dict reaches the client: passed to a response or `HTTPException`, or returned by a route."""
    function = ctx.enclosing_function(assign)
    if function is None:
        return False
    return any(
        (_is_response_call(ctx, node) or (in_route and isinstance(node, ast.Return)))
        and any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(node))
        for node in ast.walk(function)
    )


def _exception_handler_functions(ctx: FileContext) -> Iterator[tuple[ast.AsyncFunctionDef | ast.FunctionDef, str]]:
    """Handlers registered with ``@app.exception_handler(Exception)``: their exception parameter's name."""
    for function in function_nodes(ctx):
        for decorator in function.decorator_list:
            if (
                isinstance(decorator, ast.Call)
                and isinstance(decorator.func, ast.Attribute)
                and decorator.func.attr == "exception_handler"
                and decorator.args
                and ctx.qualified_name(decorator.args[0]) in ("builtins.Exception", "builtins.BaseException")
                and len(function.args.args) >= 2
            ):
                yield function, function.args.args[1].arg


@file_rule(
    code="PF005",
    opt_in=(
        "whether an exception's text is safe to show depends on where it comes from (often the caller's "
        "own bad input); judged findings were mostly debatable or wrong"
    ),
    name="error-detail-leak",
    severity="error",
    message="exception text sent to the client: log it and return a generic message",
    skill_section="Error handling",
    template="error_handlers.py",
    requires=("fastapi", "starlette"),
    docs=RuleDocs(
        what_it_does="Flags exception text or tracebacks (`str(exc)`, `repr(exc)`, `f\"{exc}\"`, `exc.args`, "
        "`traceback.format_exc()`) placed in an `HTTPException` detail, a response body, or a value a route "
        "returns, when the exception comes from a catch-all (`except Exception`), an infrastructure library "
        "(SQLAlchemy, asyncpg, Redis, httpx, `OSError`...) or an `Exception` handler. `except ValueError as e` "
        "with `str(e)` is left alone: such messages are usually written for the client.",
        why="Exception messages carry what an attacker wants: SQL fragments, hostnames and DSNs, file paths, "
        "library versions, sometimes the data that failed to parse. A readiness probe that echoes `str(e)` "
        "publishes the database address on an unauthenticated endpoint. The log gets the detail; the client "
        "gets a stable, generic message and the request ID.",
        example='''\
import httpx
from fastapi import FastAPI, HTTPException

from app.payments import charge

app = FastAPI()


@app.post("/payments")
async def pay(amount: int) -> dict[str, str]:
    try:
        return {"receipt": await charge(amount)}
    except httpx.HTTPError as exc:
        raise HTTPException(status_code=502, detail=str(exc)) from exc
''',
        use_instead='''\
import httpx
import structlog
from fastapi import FastAPI, HTTPException

from app.payments import charge

app = FastAPI()
logger = structlog.get_logger()


@app.post("/payments")
async def pay(amount: int) -> dict[str, str]:
    try:
        return {"receipt": await charge(amount)}
    except httpx.HTTPError as exc:
        logger.exception("payment_failed")
        raise HTTPException(status_code=502, detail="The payment provider is unavailable.") from exc
''',
    ),
)
def error_detail_leak(ctx: FileContext) -> Iterator[Violation]:
    if not ctx.mentions("except"):
        return  # an `except` clause or an `exception_handler`
    reported: set[int] = set()

    def sinks(scope: ast.AST, names: frozenset[str], in_route: bool) -> Iterator[Violation]:
        for node in ast.walk(scope):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) and node is not scope:
                continue
            candidate: ast.AST | None = None
            if _is_response_call(ctx, node):
                candidate = node
            elif (in_route and isinstance(node, ast.Return)) or (
                in_route
                and isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Dict)
                and any(isinstance(t, ast.Subscript) for t in node.targets)
            ):
                candidate = node.value
            elif (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Dict)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and _sent(ctx, node, node.targets[0].id, in_route)
            ):
                candidate = node.value  # `body = {..., "detail": str(exc)}` then `return JSONResponse(body)`
            if candidate is not None and _leaks(ctx, candidate, names) and id(candidate) not in reported:
                reported.add(id(candidate))
                yield ctx.violation(node)

    for handler in ctx.nodes(ast.ExceptHandler):
        route = enclosing_route(ctx, handler)
        if route is None:
            continue
        # `except ValueError as e: raise HTTPException(422, str(e))` usually carries a message written for the
        # client; only a catch-all or an infrastructure error is known to carry internals.
        names = frozenset({handler.name} if handler.name and _leaky_catch(ctx, handler) else ())
        for statement in handler.body:
            yield from sinks(statement, names, in_route=True)
    for function, exc_name in _exception_handler_functions(ctx):
        for statement in function.body:
            yield from sinks(statement, frozenset({exc_name}), in_route=False)


# --- PF006 ----------------------------------------------------------------------------------------------------

_APP_CLASSES = frozenset({"fastapi.FastAPI", "fastapi.applications.FastAPI", "starlette.applications.Starlette"})


@file_rule(
    code="PF006",
    name="debug-in-app",
    severity="error",
    message="debug mode or auto-reload hard-coded in application code",
    skill_section="Security",
    template="main.py",
    requires=("fastapi", "starlette", "uvicorn"),
    docs=RuleDocs(
        what_it_does="Flags `FastAPI(debug=True)` / `Starlette(debug=True)` and `uvicorn.run(..., reload=True)` "
        "written as literals, in service code (a `__main__` block or a block behind a debug flag is a developer's "
        "switch, not the deployed service).",
        why="Debug mode answers every unhandled error with the full traceback, local paths and source lines: a map "
        "of the service for whoever triggers a 500. `reload=True` runs a file watcher and a second process that "
        "restarts the server on any file change. Both belong to a developer's machine, switched by settings.",
        example='''\
from fastapi import FastAPI

app = FastAPI(title="orders", debug=True)
''',
        use_instead='''\
from fastapi import FastAPI

from app.settings import get_settings

app = FastAPI(title="orders", debug=get_settings().debug)
''',
    ),
)
def debug_in_app(ctx: FileContext) -> Iterator[Violation]:
    if not ctx.mentions("debug", "reload"):
        return  # both are keyword arguments, spelled at the call
    for call in ctx.nodes(ast.Call):
        qualified = ctx.qualified_name(call.func)
        if qualified in _APP_CLASSES and is_true(keyword(call, "debug")):
            yield ctx.violation(call, "`debug=True` hard-coded: tracebacks reach clients on every error")
        elif qualified in ("uvicorn.run", "uvicorn.main.run") and is_true(keyword(call, "reload")):
            yield ctx.violation(call, "`reload=True` hard-coded: a file watcher restarts the production server")


__all__ = [
    "debug_in_app",
    "error_detail_leak",
    "proxy_trusts_everyone",
    "proxy_trusts_everyone_in_command",
    "response_leaks_internal_field",
    "secret_with_default",
    "settings_list_parsed_as_json",
    "sql_built_from_strings",
]
