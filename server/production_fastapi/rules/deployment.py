"""Area 8, deployment: the server process, its workers and its shutdown, in Python configs and in commands.

Python files (gunicorn config modules, ``uvicorn.run`` entry points) are file rules. Dockerfiles, Procfiles, shell
scripts and compose files are read by text rules with their own codes (PF804-PF808), since one code is one kind
of check; the command-line rules tokenize each command the way the shell (or Docker's JSON form) would.
"""

from __future__ import annotations

import ast
import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass

from production_fastapi.rules._helpers import has_star_kwargs, keyword
from production_fastapi.rules.base import LAUNCH_CONTEXTS, RuleDocs, Violation, file_rule, text_rule
from production_fastapi.rules.context import FileContext, TextContext

DEPRECATED_WORKERS = {
    "uvicorn.workers.UvicornWorker": "uvicorn_worker.UvicornWorker",
    "uvicorn.workers.UvicornH11Worker": "uvicorn_worker.UvicornH11Worker",
}
_DEPRECATED_RE = re.compile(r"uvicorn\.workers\.Uvicorn(?:H11)?Worker")
#: Module-level names only a gunicorn config module defines (gunicorn reads them as settings).
_GUNICORN_SETTINGS = frozenset(
    {"bind", "workers", "worker_class", "graceful_timeout", "timeout", "keepalive", "wsgi_app", "max_requests",
     "forwarded_allow_ips", "accesslog", "errorlog", "preload_app", "worker_connections"}
)

DOCKERFILES = ("Dockerfile", "Dockerfile.*", "*.Dockerfile", "*.dockerfile", "Containerfile")
COMMAND_FILES = (*DOCKERFILES, "Procfile", "*.sh", "docker-compose*.yml", "docker-compose*.yaml", "compose*.yml",
                 "compose*.yaml")
#: Where a worker path or a proxy setting may also hide: Kubernetes manifests, env files.
CONFIG_FILES = (*COMMAND_FILES, "*.yaml", "*.yml", "*.env", ".env")


def _module_assignments(ctx: FileContext) -> dict[str, ast.Assign]:
    found: dict[str, ast.Assign] = {}
    for statement in ctx.tree.body:
        if isinstance(statement, ast.Assign):
            for target in statement.targets:
                if isinstance(target, ast.Name):
                    found.setdefault(target.id, statement)
    return found


def _is_gunicorn_config(ctx: FileContext, assigned: dict[str, ast.Assign]) -> bool:
    """A gunicorn config module: named so, or defining two or more of gunicorn's settings at module level."""
    name = ctx.path.replace("\\", "/").rpartition("/")[2]
    return "gunicorn" in name or len(assigned.keys() & _GUNICORN_SETTINGS) >= 2


def _docstring_nodes(ctx: FileContext) -> set[int]:
    ids: set[int] = set()
    for node in ctx.nodes(ast.Expr):
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            ids.add(id(node.value))
    return ids


# --- PF801 ----------------------------------------------------------------------------------------------------


@file_rule(
    code="PF801",
    contexts=LAUNCH_CONTEXTS,
    name="deprecated-uvicorn-worker",
    severity="warning",
    message="`uvicorn.workers.UvicornWorker` is deprecated: use `uvicorn_worker.UvicornWorker`",
    fix_title="Use `uvicorn_worker.UvicornWorker`",
    skill_section="Deployment",
    template="gunicorn_conf.py",
    fix="production_fastapi.rules.deployment_fixes:UvicornWorkerPath",
    fix_applicability="unsafe",
    versions="uvicorn>=0.30",
    docs=RuleDocs(
        what_it_does="Flags the worker class path `uvicorn.workers.UvicornWorker` (and `UvicornH11Worker`) in "
        "Python code, typically `worker_class = \"...\"` in a gunicorn config, and imports of `uvicorn.workers`. "
        "PF806 covers the same path in Dockerfiles, Procfiles and scripts.",
        why="uvicorn deprecated its bundled gunicorn workers in favour of the separate `uvicorn-worker` package "
        "and will remove them; the old module already warns at startup and gets no fixes (signal handling and "
        "reload behaviour under gunicorn have moved on in the new package).",
        example='''\
bind = "0.0.0.0:8000"
workers = 2
worker_class = "uvicorn.workers.UvicornWorker"
graceful_timeout = 20
''',
        use_instead='''\
bind = "0.0.0.0:8000"
workers = 2
worker_class = "uvicorn_worker.UvicornWorker"
graceful_timeout = 20
''',
        fix_safety="Unsafe (applied with `--unsafe-fixes`): it rewrites the string or the import to the "
        "`uvicorn_worker` package, which provides the same classes with the same settings, but that package must "
        "be installed (`pip install uvicorn-worker`): without it gunicorn cannot start a worker.",
        example_filename="gunicorn_conf.py",
    ),
)
def deprecated_uvicorn_worker(ctx: FileContext) -> Iterator[Violation]:
    if not (ctx.mentions("workers") and ctx.mentions("uvicorn")):
        return  # `uvicorn.workers...` in a string, or an import of it however it is spaced
    docstrings = _docstring_nodes(ctx)
    for node in ctx.nodes(ast.Constant):
        if isinstance(node.value, str) and id(node) not in docstrings and _DEPRECATED_RE.search(node.value):
            parent = ctx.parent(node)
            yield ctx.violation(node, fixable=not isinstance(parent, ast.JoinedStr))
    for imported in ctx.nodes(ast.ImportFrom):
        if imported.level == 0 and (
            imported.module == "uvicorn.workers"
            or (imported.module == "uvicorn" and any(a.name == "workers" for a in imported.names))
        ):
            yield ctx.violation(imported, fixable=imported.module == "uvicorn.workers")
    for plain in ctx.nodes(ast.Import):
        if any(a.name == "uvicorn.workers" for a in plain.names):
            yield ctx.violation(plain, fixable=False)


# --- PF802 ----------------------------------------------------------------------------------------------------


@file_rule(
    code="PF802",
    contexts=LAUNCH_CONTEXTS,
    name="restart-without-jitter",
    severity="warning",
    message="`max_requests` without `max_requests_jitter`: all workers restart at the same moment",
    skill_section="Deployment",
    template="gunicorn_conf.py",
    docs=RuleDocs(
        what_it_does="In a gunicorn config module, flags `max_requests` set without `max_requests_jitter`. PF807 "
        "covers `--max-requests` on a command line.",
        why="Workers that start together and serve evenly reach `max_requests` together: every worker of the "
        "instance restarts at once, dropping capacity to zero for the restart time and producing a latency spike "
        "(or 502s behind a proxy) every few thousand requests. Jitter spreads the restarts out.",
        example='''\
bind = "0.0.0.0:8000"
worker_class = "uvicorn_worker.UvicornWorker"
max_requests = 10_000
graceful_timeout = 20
''',
        use_instead='''\
bind = "0.0.0.0:8000"
worker_class = "uvicorn_worker.UvicornWorker"
max_requests = 10_000
max_requests_jitter = 1_000
graceful_timeout = 20
''',
        example_filename="gunicorn_conf.py",
    ),
)
def restart_without_jitter(ctx: FileContext) -> Iterator[Violation]:
    assigned = _module_assignments(ctx)
    statement = assigned.get("max_requests")
    if statement is None or "max_requests_jitter" in assigned or not _is_gunicorn_config(ctx, assigned):
        return
    value = statement.value
    if isinstance(value, ast.Constant) and not value.value:
        return  # max_requests = 0 disables recycling
    yield ctx.violation(statement)


# --- PF803 ----------------------------------------------------------------------------------------------------

_UVICORN_ENTRY = frozenset({"uvicorn.run", "uvicorn.Config", "uvicorn.config.Config", "uvicorn.main.run"})


@file_rule(
    code="PF803",
    opt_in="uvicorn's default, waiting for open requests, is a choice; orchestrators bound shutdown time anyway",
    contexts=LAUNCH_CONTEXTS,
    name="no-graceful-timeout",
    severity="info",
    message="server started without a graceful shutdown timeout",
    skill_section="Deployment",
    template="gunicorn_conf.py",
    requires=("uvicorn",),
    docs=RuleDocs(
        what_it_does="Flags `uvicorn.run(...)` and `uvicorn.Config(...)` without `timeout_graceful_shutdown`. "
        "PF808 covers the `uvicorn` command line. (gunicorn has its own `graceful_timeout`, 30 s by default.)",
        why="On SIGTERM uvicorn stops accepting connections and then waits for open ones to finish; unset, it "
        "waits forever. A long poll, a stream or an idle keep-alive connection keeps the process alive until the "
        "orchestrator's SIGKILL, so lifespan shutdown never runs: pools aren't closed, buffers aren't flushed, "
        "and every deploy ends with killed requests. Set it below the pod's termination grace period.",
        example='''\
import uvicorn

if __name__ == "__main__":
    uvicorn.run("app.main:app", host="0.0.0.0", port=8000)
''',
        use_instead='''\
import uvicorn

if __name__ == "__main__":
    uvicorn.run("app.main:app", host="0.0.0.0", port=8000, timeout_graceful_shutdown=20)
''',
    ),
)
def no_graceful_timeout(ctx: FileContext) -> Iterator[Violation]:
    for call in ctx.calls(*_UVICORN_ENTRY):
        if keyword(call, "timeout_graceful_shutdown") is None and not has_star_kwargs(call):
            yield ctx.violation(call)


# --- command lines --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Command:
    """One server invocation found in a file: the program, its arguments, where it starts."""

    program: str  # "uvicorn" | "gunicorn" | "fastapi"
    args: tuple[str, ...]
    line: int
    instruction: str  # Dockerfile instruction (CMD, ENTRYPOINT, RUN) or "" elsewhere

    def flag(self, *names: str) -> str | None:
        """The value of ``--name value`` / ``--name=value`` (short forms too); "" for a bare flag; None absent."""
        for index, arg in enumerate(self.args):
            for name in names:
                if arg == name:
                    following = self.args[index + 1] if index + 1 < len(self.args) else ""
                    return "" if following.startswith("-") else following
                if arg.startswith(name + "="):
                    return arg.partition("=")[2]
        return None


_SEPARATORS = frozenset({"&&", "||", ";", "|", "&"})
_PROGRAMS = frozenset({"uvicorn", "gunicorn", "fastapi"})
_INSTRUCTION = re.compile(r"^\s*(CMD|ENTRYPOINT|RUN)\s+(.*)$", re.IGNORECASE | re.DOTALL)
_PROCFILE = re.compile(r"^\s*[A-Za-z0-9_-]+:\s*(.*)$", re.DOTALL)
_COMPOSE_COMMAND = re.compile(r"^\s*-?\s*(?:command|entrypoint|args)\s*:\s*(.*)$", re.DOTALL)


def logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """Lines with backslash continuations joined, numbered by their first physical line; comments dropped."""
    start = 0
    parts: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not parts:
            start = number
            if raw.lstrip().startswith("#"):
                continue
        stripped = raw.rstrip()
        if stripped.endswith("\\"):
            parts.append(stripped[:-1])
            continue
        parts.append(raw)
        yield start, " ".join(parts)
        parts = []
    if parts:
        yield start, " ".join(parts)


def _tokens(body: str) -> list[str] | None:
    body = body.strip()
    if body.startswith("[") and "]" in body:
        try:
            # Docker's exec form; anything after the closing bracket (a trailing comment) is not part of it.
            parsed = json.loads(body[: body.rindex("]") + 1])
        except ValueError:
            return None
        return [str(p) for p in parsed] if isinstance(parsed, list) else None
    try:
        return shlex.split(body, comments=True)
    except ValueError:
        return body.split()


def commands(ctx: TextContext) -> Iterator[Command]:
    """Every uvicorn/gunicorn/fastapi invocation in a Dockerfile, Procfile, shell script or compose file."""
    dockerfile = ctx.matches(*DOCKERFILES)
    for line, text in logical_lines(ctx.text):
        instruction = ""
        body = text
        if dockerfile:
            match = _INSTRUCTION.match(text)
            if not match:
                continue
            instruction, body = match.group(1).upper(), match.group(2)
        elif ctx.name == "Procfile":
            match = _PROCFILE.match(text)
            body = match.group(1) if match else text
        elif ctx.name.endswith((".yml", ".yaml")):
            match = _COMPOSE_COMMAND.match(text)
            if not match:
                continue
            body = match.group(1)
        tokens = _tokens(body)
        if not tokens:
            continue
        for index, token in enumerate(tokens):
            program = token.rpartition("/")[2]
            is_module = program in ("uvicorn", "gunicorn") and index >= 2 and tokens[index - 1] == "-m"
            if program in _PROGRAMS and (index == 0 or is_module or tokens[index - 1] in _SEPARATORS
                                         or tokens[index - 1] in ("exec", "sh", "-c")):
                args: list[str] = []
                for arg in tokens[index + 1:]:
                    if arg in _SEPARATORS:
                        break
                    args.append(arg)
                if program == "fastapi" and (not args or args[0] not in ("run", "dev")):
                    continue
                yield Command(program, tuple(args), line, instruction)


def _env_sets(ctx: TextContext, variable: str) -> bool:
    return re.search(rf"(^|\s){variable}\s*[=:\s]", ctx.text, re.MULTILINE) is not None


_SERVES = frozenset({"CMD", "ENTRYPOINT", ""})


# --- PF804 ----------------------------------------------------------------------------------------------------

_LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


@text_rule(
    code="PF804",
    name="server-binds-loopback-in-container",
    severity="error",
    message="server in the container listens on 127.0.0.1: nothing outside the container can reach it",
    skill_section="Deployment",
    template="Dockerfile",
    files=DOCKERFILES,
    docs=RuleDocs(
        what_it_does="In a Dockerfile's `CMD`/`ENTRYPOINT`, flags `uvicorn` started without `--host` (and no "
        "`UVICORN_HOST` set), and `uvicorn`/`fastapi run`/`gunicorn` told to listen on `127.0.0.1` or "
        "`localhost`.",
        why="uvicorn binds 127.0.0.1 unless told otherwise. Inside a container that is the container's own "
        "loopback: the port mapping, the Kubernetes Service and the probes all connect to the pod IP and get "
        "connection refused. The image builds and starts cleanly, and the service is down.",
        example='''\
FROM python:3.12-slim
WORKDIR /app
COPY . .
CMD ["uvicorn", "app.main:app", "--port", "8000"]
''',
        use_instead='''\
FROM python:3.12-slim
WORKDIR /app
COPY . .
CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000", "--timeout-graceful-shutdown", "20"]
''',
        example_filename="Dockerfile",
    ),
)
def server_binds_loopback(ctx: TextContext) -> Iterator[Violation]:
    host_env = _env_sets(ctx, "UVICORN_HOST")
    for command in commands(ctx):
        if command.instruction not in ("CMD", "ENTRYPOINT"):
            continue
        if command.program in ("uvicorn", "fastapi"):
            host = command.flag("--host")
            if host is None and command.program == "uvicorn" and not host_env:
                yield ctx.violation_at(command.line, message="`uvicorn` without `--host` listens on 127.0.0.1, "
                                       "unreachable from outside the container: add `--host 0.0.0.0`")
            elif host is not None and host.strip("'\"") in _LOOPBACK:
                yield ctx.violation_at(command.line)
        elif command.program == "gunicorn":
            bind = command.flag("--bind", "-b")
            if bind is not None and bind.strip("'\"").rpartition(":")[0] in _LOOPBACK:
                yield ctx.violation_at(command.line)


# --- PF806 ----------------------------------------------------------------------------------------------------


@text_rule(
    code="PF806",
    versions="uvicorn>=0.30",
    name="deprecated-uvicorn-worker-in-command",
    severity="warning",
    message="`uvicorn.workers.UvicornWorker` is deprecated: use `uvicorn_worker.UvicornWorker`",
    skill_section="Deployment",
    template="Dockerfile",
    files=CONFIG_FILES,
    docs=RuleDocs(
        what_it_does="Flags the worker class path `uvicorn.workers.UvicornWorker` (or `UvicornH11Worker`) in "
        "Dockerfiles, Procfiles, shell scripts and config files. PF801 covers Python code.",
        why="uvicorn deprecated its bundled gunicorn workers in favour of the separate `uvicorn-worker` package "
        "and will remove them: the image that starts today fails to boot after a routine upgrade.",
        example='''\
FROM python:3.12-slim
WORKDIR /app
COPY . .
CMD ["gunicorn", "app.main:app", "-k", "uvicorn.workers.UvicornWorker", "--bind", "0.0.0.0:8000"]
''',
        use_instead='''\
FROM python:3.12-slim
WORKDIR /app
COPY . .
CMD ["gunicorn", "app.main:app", "-k", "uvicorn_worker.UvicornWorker", "--bind", "0.0.0.0:8000"]
''',
        example_filename="Dockerfile",
    ),
)
def deprecated_worker_in_command(ctx: TextContext) -> Iterator[Violation]:
    for number, line in enumerate(ctx.lines, start=1):
        if line.lstrip().startswith(("#", "//", ";")):
            continue
        for match in _DEPRECATED_RE.finditer(line):
            yield ctx.violation_at(number, match.start() + 1, match.end() + 1)


# --- PF807 ----------------------------------------------------------------------------------------------------


@text_rule(
    code="PF807",
    name="restart-without-jitter-in-command",
    severity="warning",
    message="`--max-requests` without `--max-requests-jitter`: all workers restart at the same moment",
    skill_section="Deployment",
    template="gunicorn_conf.py",
    files=COMMAND_FILES,
    docs=RuleDocs(
        what_it_does="Flags a `gunicorn` command with `--max-requests` and no `--max-requests-jitter`. PF802 "
        "covers gunicorn config modules.",
        why="Workers that start together reach the request limit together and restart together: capacity drops "
        "to zero for the restart and clients see latency spikes or 502s at regular intervals.",
        example='''\
web: gunicorn app.main:app -k uvicorn_worker.UvicornWorker --bind 0.0.0.0:$PORT --max-requests 10000
''',
        use_instead='''\
web: gunicorn app.main:app -k uvicorn_worker.UvicornWorker --bind 0.0.0.0:$PORT --max-requests 10000 \
--max-requests-jitter 1000
''',
        example_filename="Procfile",
    ),
)
def restart_without_jitter_in_command(ctx: TextContext) -> Iterator[Violation]:
    for command in commands(ctx):
        if command.program != "gunicorn" or command.instruction not in _SERVES:
            continue
        limit = command.flag("--max-requests")
        if limit and limit != "0" and command.flag("--max-requests-jitter") is None:
            yield ctx.violation_at(command.line)


# --- PF808 ----------------------------------------------------------------------------------------------------


@text_rule(
    code="PF808",
    name="uvicorn-command-without-graceful-timeout",
    severity="warning",
    message="`uvicorn` started without `--timeout-graceful-shutdown`: shutdown can wait forever",
    skill_section="Deployment",
    template="Dockerfile",
    files=COMMAND_FILES,
    docs=RuleDocs(
        what_it_does="Flags a `uvicorn` command (Dockerfile `CMD`/`ENTRYPOINT`, Procfile, script, compose "
        "`command:`) without `--timeout-graceful-shutdown` (and no `UVICORN_TIMEOUT_GRACEFUL_SHUTDOWN` in the "
        "file). `--reload` development commands are left alone.",
        why="On SIGTERM uvicorn waits for open connections to finish, with no limit when the flag is unset. A "
        "stream or a long poll keeps it alive until the orchestrator's SIGKILL, so lifespan shutdown never runs "
        "and the deploy ends with killed requests. Set it below the termination grace period.",
        example='''\
FROM python:3.12-slim
WORKDIR /app
COPY . .
CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000"]
''',
        use_instead='''\
FROM python:3.12-slim
WORKDIR /app
COPY . .
CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000", "--timeout-graceful-shutdown", "20"]
''',
        example_filename="Dockerfile",
    ),
)
def uvicorn_command_without_graceful_timeout(ctx: TextContext) -> Iterator[Violation]:
    if _env_sets(ctx, "UVICORN_TIMEOUT_GRACEFUL_SHUTDOWN"):
        return
    for command in commands(ctx):
        if command.program != "uvicorn" or command.instruction not in _SERVES:
            continue
        if command.flag("--reload") is not None or command.flag("--timeout-graceful-shutdown") is not None:
            continue
        yield ctx.violation_at(command.line)


__all__ = [
    "DEPRECATED_WORKERS",
    "Command",
    "commands",
    "deprecated_uvicorn_worker",
    "logical_lines",
    "no_graceful_timeout",
    "restart_without_jitter",
]


# --- PF809 ----------------------------------------------------------------------------------------------------

_FROM = re.compile(r"^\s*FROM\s", re.IGNORECASE)
_TARGET_INSTALL = re.compile(r"\bpip3?\s+install\b[^\n]*?(?:--target[=\s]+|\s-t\s+)(?P<dir>[^\s\"']+)")
_PLAIN_INSTALL = re.compile(r"\b(pip3?\s+install|uv\s+(pip\s+install|sync)|poetry\s+install|pipx\s+install)\b")


@text_rule(
    code="PF809",
    name="console-script-not-on-path",
    severity="error",
    message="the image installs packages with `pip --target`, so this command is not on `PATH`",
    skill_section="Deployment",
    template="Dockerfile",
    files=DOCKERFILES,
    docs=RuleDocs(
        what_it_does="In a Dockerfile that installs dependencies with `pip install --target DIR`, flags a final "
        "`CMD`/`ENTRYPOINT` that runs `uvicorn`, `gunicorn` or `fastapi` by name when neither `DIR/bin` is put on "
        "`PATH` nor the final stage installs them another way.",
        why="`--target` installs libraries into `DIR` and their console scripts into `DIR/bin`, which is not on "
        "`PATH`; copying `DIR` into site-packages copies no scripts at all. The image builds, and the container "
        "exits at once with `executable file not found in $PATH`: a crash loop on deploy. Copy a virtual "
        "environment between stages, or run `python -m uvicorn`.",
        example='''\
FROM python:3.12-slim AS builder
COPY requirements.txt .
RUN pip install --no-cache-dir --target=/app/deps -r requirements.txt

FROM python:3.12-slim
COPY --from=builder /app/deps /usr/local/lib/python3.12/site-packages
COPY . /app
WORKDIR /app
CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--timeout-graceful-shutdown", "20"]
''',
        use_instead='''\
FROM python:3.12-slim AS builder
RUN python -m venv /opt/venv
ENV PATH="/opt/venv/bin:$PATH"
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

FROM python:3.12-slim
COPY --from=builder /opt/venv /opt/venv
ENV PATH="/opt/venv/bin:$PATH"
COPY . /app
WORKDIR /app
CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--timeout-graceful-shutdown", "20"]
''',
        example_filename="Dockerfile",
    ),
)
def console_script_not_on_path(ctx: TextContext) -> Iterator[Violation]:
    targets = [m.group("dir").rstrip("/") for m in _TARGET_INSTALL.finditer(ctx.text)]
    if not targets:
        return
    last_from = max((n for n, line in enumerate(ctx.lines, start=1) if _FROM.match(line)), default=0)
    final_stage = "\n".join(ctx.lines[last_from:])
    for line in final_stage.splitlines():
        if _PLAIN_INSTALL.search(line) and not _TARGET_INSTALL.search(line):
            return  # the final stage installs the tools where they land on PATH
    for env in re.finditer(r"^\s*ENV\s+(.*)$", ctx.text, re.MULTILINE | re.IGNORECASE):
        # `ENV PATH=...`, `ENV A=1 PATH="..."` or the legacy `ENV PATH value`; not PYTHONPATH.
        for match in re.finditer(r"(?<![A-Za-z_])PATH(?:\s*=\s*|\s+)(\S+)", env.group(1)):
            if any(f"{target}/bin" in match.group(1) for target in targets):
                return
    for command in commands(ctx):
        if command.line > last_from and command.instruction in ("CMD", "ENTRYPOINT"):
            raw = ctx.lines[command.line - 1]
            if re.search(r"(^|[\s\"'\[])-m[\s\"',]", raw):
                continue  # `python -m uvicorn` needs no script
            yield ctx.violation_at(command.line)
