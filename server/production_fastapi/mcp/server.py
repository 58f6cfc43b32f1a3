"""The MCP server: the protocol surface (tools, resources, prompt) over ``tools.py`` and the path policy.

Each tool returns a ``CallToolResult`` whose structured content is the tool's output model and whose text is what a
model reads best: the template file itself, ruff-like finding lines. Returning the bare model would make the SDK
fill the text with the model as JSON, where a template arrives as one escaped string.
"""

from __future__ import annotations

import functools
import inspect
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, TypeVar
from urllib.parse import unquote, urlsplit

import anyio
import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer, Resolve
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from mcp.server.mcpserver.resolve import ListRoots
from mcp.server.mcpserver.resources import Resource
from mcp.types import (
    CallToolResult,
    Completion,
    CompletionArgument,
    CompletionContext,
    ListRootsResult,
    PromptReference,
    ResourceTemplateReference,
    TextContent,
    ToolAnnotations,
)
from mcp.types import Resource as MCPResource
from pydantic import BaseModel, Field

from production_fastapi import __version__, bundle
from production_fastapi.fsaccess import DeadlineExceeded
from production_fastapi.mcp import reviewing, tools
from production_fastapi.mcp.catalog import RULES_URI, UnknownRule, rule_page, rule_uri, rules_index
from production_fastapi.mcp.guidance import INSTRUCTIONS, SUPPORTED_STACKS, production_prompt, unsupported_stack
from production_fastapi.mcp.models import ReviewResult, ScaffoldResult, TemplateContent, TemplateList
from production_fastapi.mcp.paths import PathPolicy

__all__ = ["SERVER_NAME", "SKILL_URI", "Limits", "build_server"]

SERVER_NAME = "production-fastapi"
SKILL_URI = "production-fastapi://skill"
RULE_TEMPLATE = f"{RULES_URI}/{{code}}"

logger = logging.getLogger(__name__)

# Reading templates and reviewing code change nothing and touch only local files.
_READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
# Scaffolding writes, but only a new folder: it never replaces a file (not destructive), and a repeated call with
# the same arguments is refused because the folder is no longer empty, so it changes nothing more (idempotent).
_CREATES_FOLDER = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)

LimitArg = Annotated[
    int,
    Field(description=f"Most findings to return, most severe first (1-{reviewing.MAX_LIMIT}); the rest are counted"),
]
SelectArg = Annotated[
    list[str] | None,
    Field(
        description="Rules to run instead of the default set: codes or prefixes (PF7, PF702; PF is the default "
        "set). Opt-in rules (style or opinion, e.g. PF203) run only when named by full code; ALL runs every rule"
    ),
]


async def client_roots(ctx: Context) -> ListRoots | None:
    """Ask for the client's roots when it offers them; they can only narrow the allow-list."""
    capabilities = ctx.client_capabilities
    if capabilities is None or capabilities.roots is None:
        return None
    return ListRoots()


RootsArg = Annotated[ListRootsResult | None, Resolve(client_roots)]


def _policy(base: PathPolicy, roots: ListRootsResult | None) -> PathPolicy:
    """The allow-list narrowed by the client's file roots; no file roots means no narrowing."""
    if roots is None:
        return base
    paths = []
    for root in roots.roots:
        parts = urlsplit(str(root.uri))
        path = unquote(parts.path)
        # A root that is not a local file URI (or hides a NUL byte) cannot name a folder here: it narrows nothing.
        if parts.scheme == "file" and parts.netloc in ("", "localhost") and path and "\x00" not in path:
            paths.append(Path(path))
    return base.narrowed(paths) if paths else base


#: How long one file-system tool call may take before it answers with a ToolError, and how many run at once (the
#: rest wait in line, each at most QUEUE_SECONDS). A client cannot use up the server: a call that cannot start in
#: time is refused, list_tools and the resources never wait for a worker thread.
CALL_SECONDS = 60.0
CONCURRENT_CALLS = 4
QUEUE_SECONDS = 30.0

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Limits:
    """The per-call deadline and the bound on concurrent file-system calls (smaller in tests)."""

    call_seconds: float = CALL_SECONDS
    concurrent: int = CONCURRENT_CALLS
    queue_seconds: float = QUEUE_SECONDS


class _Gate:
    """Runs file-system work in worker threads, at most ``concurrent`` at a time, each against a deadline.

    The work itself checks the deadline between folders and files (a thread cannot be interrupted from outside),
    so a slow call ends with a clear error instead of holding its thread; the file layer never blocks on a FIFO or
    reads without a bound, so no call can hang past it.
    """

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._slots = anyio.CapacityLimiter(limits.concurrent)

    async def run(self, work: Callable[[float], _T]) -> _T:
        deadline = time.monotonic() + self.limits.call_seconds
        try:
            with anyio.fail_after(self.limits.queue_seconds):
                await self._slots.acquire()
        except TimeoutError:
            raise ToolError(
                f"The server is busy with {self.limits.concurrent} other file-system calls; try again shortly."
            ) from None
        try:
            # Not abandoned on cancellation: the thread keeps its slot until it really ends, so the bound holds.
            return await anyio.to_thread.run_sync(functools.partial(work, deadline))
        except DeadlineExceeded:
            raise ToolError(
                f"The call took longer than its {self.limits.call_seconds:g}-second limit and was stopped; "
                "pass a smaller folder."
            ) from None
        finally:
            self._slots.release()


def _reply(model: BaseModel, text: str) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=text)], structured_content=model.model_dump(mode="json")
    )


class _TemplateResource(Resource):
    """A template file, read when a client asks for it (so edits show without a restart)."""

    template: str

    async def read(self) -> str:
        return bundle.get_template(self.template).content


class _SkillResource(Resource):
    async def read(self) -> str:
        return bundle.skill_md().read_text(encoding="utf-8")


class _RuleResource(Resource):
    code: str

    async def read(self) -> str:
        return rule_page(self.code)


class _Server(MCPServer):
    """MCPServer that lists one resource per rule, loading the rule catalog at the first listing.

    Importing the rules at start would add to every cold start; a client lists resources once, usually while the
    user is still typing. Until then (and for any code) the ``rules/{code}`` template serves the same pages.
    """

    _rules_listed = False

    async def list_resources(self) -> list[MCPResource]:
        if not self._rules_listed:
            self._rules_listed = True
            from production_fastapi.rules import all_rules

            for rule in all_rules():
                self.add_resource(
                    _RuleResource(
                        uri=rule_uri(rule.code),
                        name=rule.code,
                        title=f"{rule.code} {rule.name}",
                        description=rule.message,
                        mime_type="text/markdown",
                        code=rule.code,
                    )
                )
        return await super().list_resources()


def _register_tools(server: MCPServer, base: PathPolicy, gate: _Gate) -> None:
    def list_templates() -> Annotated[CallToolResult, TemplateList]:
        """List the production templates (settings, logging, middleware, errors, health checks, rate limits,
        database, lifespan, main, gunicorn, Dockerfile): each one's name, purpose and the rule codes it implements.
        Then fetch one with get_template."""
        result = tools.list_templates()
        text = "\n".join(f"{t.name}: {t.purpose} [{', '.join(t.rules)}]" for t in result.templates)
        return _reply(result, text)

    def get_template(
        name: Annotated[str, Field(description="Template file name or stem, e.g. middleware.py or Dockerfile")],
    ) -> Annotated[CallToolResult, TemplateContent]:
        """Return one production template, ready to copy into the application package: tested, typed code for
        the pattern a review finding or SKILL.md points to. One template per call."""
        result = tools.get_template(name)
        return _reply(result, result.content)

    async def review_file(
        roots: RootsArg,
        path: Annotated[str | None, Field(description="File to review, relative to the working directory")] = None,
        source: Annotated[str | None, Field(description="Code to review instead of a file")] = None,
        filename: Annotated[
            str | None, Field(description="Name to review source as (default app/main.py; Dockerfile for one)")
        ] = None,
        limit: LimitArg = reviewing.DEFAULT_LIMIT,
        *,
        select: SelectArg = None,
    ) -> Annotated[CallToolResult, ReviewResult]:
        """Check one FastAPI file (path) or a snippet (source) against the production rules (the default set:
        rules that are right nearly every time). Each finding has the rule code, severity, message, 1-based line
        and column, the fix, and the SKILL.md section and template that explain it. Run it on code you just wrote
        before presenting it."""
        policy = _policy(base, roots)
        result = await gate.run(
            lambda deadline: reviewing.review_file(
                policy, path, source, filename, limit, select=select, deadline=deadline
            )
        )
        return _reply(result, reviewing.review_text(result))

    async def review_project(
        roots: RootsArg,
        path: Annotated[str, Field(description="Project folder to review (default: the working directory)")] = ".",
        limit: LimitArg = reviewing.DEFAULT_LIMIT,
        *,
        select: SelectArg = None,
    ) -> Annotated[CallToolResult, ReviewResult]:
        """Review a whole FastAPI project folder against the production rules (the default set), including
        project-wide checks (select PF301/PF302 for missing health probes) and deployment files (Dockerfile,
        gunicorn config). Findings come most severe first, capped at limit, with counts of the rest."""
        policy = _policy(base, roots)
        result = await gate.run(
            lambda deadline: reviewing.review_project(policy, path, limit, select=select, deadline=deadline)
        )
        return _reply(result, reviewing.review_text(result))

    async def scaffold_service(
        roots: RootsArg,
        name: Annotated[str, Field(description="Service name, e.g. orders-service (becomes the package name)")],
        destination: Annotated[str, Field(description="New or empty folder to create the service in")],
        database: Annotated[
            Literal["sqlite", "postgres"], Field(description="Database the service targets (SQLite runs embedded)")
        ] = "sqlite",
        redis: Annotated[bool, Field(description="Rate limits in Redis (else in memory)")] = False,
    ) -> Annotated[CallToolResult, ScaffoldResult]:
        """Create a new production-ready FastAPI service from the templates: settings, JSON logs with request
        IDs, problem+json errors, health probes, rate limits, lifespan, Dockerfile, gunicorn config and tests. It
        runs at once on SQLite and in-memory limits and switches to Postgres/Redis by environment. Writes only a
        new (or empty) folder inside the allowed directories; never overwrites."""
        policy = _policy(base, roots)
        result = await gate.run(lambda _: tools.scaffold_service(policy, name, destination, database, redis))
        text = f"Created {result.destination} ({len(result.files)} files).\nNext:\n" + "\n".join(
            f"- {step}" for step in result.next_steps
        )
        return _reply(result, text)

    for fn, title, hints in (
        (list_templates, "List production templates", _READ_ONLY),
        (get_template, "Get a production template", _READ_ONLY),
        (review_file, "Review a file for production issues", _READ_ONLY),
        (review_project, "Review a project for production issues", _READ_ONLY),
        (scaffold_service, "Scaffold a production FastAPI service", _CREATES_FOLDER),
    ):
        # getdoc strips the docstrings' indentation, which would otherwise reach the model as stray spaces.
        server.add_tool(fn, title=title, description=inspect.getdoc(fn), annotations=hints)


def _register_resources(server: MCPServer) -> None:
    server.add_resource(
        _SkillResource(
            uri=SKILL_URI,
            name="SKILL.md",
            title="production-fastapi skill",
            description="The production rules for FastAPI: checklist, conventions, traps; read it first.",
            mime_type="text/markdown",
        )
    )
    for template in bundle.list_templates():
        server.add_resource(
            _TemplateResource(
                uri=tools.template_uri(template.name),
                name=template.name,
                description=template.purpose,
                mime_type="text/x-python" if template.name.endswith(".py") else "text/plain",
                template=template.name,
            )
        )

    @server.resource(RULES_URI, name="rules", title="Rule catalog", mime_type="text/markdown")
    def rules() -> str:
        """Every production-fastapi rule (PF codes) by area, each with the URI of its page."""
        return rules_index()

    @server.resource(RULE_TEMPLATE, name="rule", title="One rule", mime_type="text/markdown")
    def rule(code: str) -> str:
        """One rule: what it catches, why it matters in production, an example, what to write instead, the fix."""
        try:
            return rule_page(code)
        except UnknownRule as exc:
            raise ResourceNotFoundError(str(exc)) from None


def _register_prompts(server: MCPServer) -> None:
    @server.prompt(name="production", title="Make this service production-ready")
    def production(
        stack: Annotated[str, Field(description="The stack to harden; only fastapi is supported")] = "fastapi",
    ) -> str:
        """Walk through reviewing and hardening the open FastAPI project for production."""
        chosen = stack.strip().lower() or "fastapi"  # like /production with no argument
        if chosen not in SUPPORTED_STACKS:
            return unsupported_stack(stack)
        return production_prompt(chosen)


def _register_completions(server: MCPServer) -> None:
    # The SDK leaves completion() unannotated (it returns a plain decorator); our handler is fully typed.
    @server.completion()  # type: ignore[no-untyped-call, untyped-decorator]
    async def complete(
        ref: PromptReference | ResourceTemplateReference,
        argument: CompletionArgument,
        context: CompletionContext | None,
    ) -> Completion | None:
        """Offer the prompt's stacks and the rule codes, so clients can complete what a user types."""
        prefix = argument.value.strip().lower()
        if isinstance(ref, PromptReference) and ref.name == "production" and argument.name == "stack":
            values = list(SUPPORTED_STACKS)
        elif isinstance(ref, ResourceTemplateReference) and ref.uri == RULE_TEMPLATE and argument.name == "code":
            from production_fastapi.rules import all_rules

            values = [rule.code for rule in all_rules()]
        else:
            return None
        matches = [value for value in values if value.lower().startswith(prefix)]
        return Completion(values=matches[:100], total=len(matches), has_more=len(matches) > 100)


def build_server(policy: PathPolicy, limits: Limits | None = None) -> MCPServer:
    """The production-fastapi MCP server; every path argument goes through ``policy``, every file-system call
    through one bounded gate with a deadline (``limits``)."""
    server = _Server(
        name=SERVER_NAME,
        title="production-fastapi",
        description="Production rules for FastAPI: review code, copy tested templates, scaffold services.",
        instructions=INSTRUCTIONS,
        version=__version__,
    )
    _register_tools(server, policy, _Gate(limits or Limits()))
    _register_resources(server)
    _register_prompts(server)
    _register_completions(server)
    logger.info("production-fastapi MCP server ready; allowed directories: %s", policy.describe())
    return server
