"""SKILL.md and references/: spec-valid frontmatter, code that parses and reviews clean, links and names that
resolve, the FACTS.md corrections kept, and the traps it states still true of the installed libraries.

The skill is what an agent reads and believes; these tests make each kind of drift (a renamed template, a retired
rule code, a library that changed a default, a wrong fact reintroduced) fail here rather than in someone's outage.
"""

from __future__ import annotations

import ast
import inspect
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import structlog
import yaml  # PyYAML: a dependency of libcst, so always installed with production-fastapi
from fastapi import Depends, FastAPI, Request
from helpers import bundled_claude_cli, claude_cli_version, free_port, import_template
from pydantic import BaseModel, ConfigDict

REPO = Path(__file__).resolve().parent.parent
SKILL = REPO / "SKILL.md"
REFERENCES = REPO / "references"
TEMPLATES = REPO / "templates"
CLAUDE = bundled_claude_cli()

SPEC_KEYS = {"name", "description", "license", "compatibility", "metadata", "allowed-tools"}
OUR_KEYS = {"name", "description", "license", "metadata"}

# A unit of text (a bullet, a paragraph, a table row or a code block) that quotes a wrong pattern must say it is
# wrong; one of these words in the same unit does.
NEGATIVE_MARKERS = (
    "Don't",
    "don't",
    "deprecated",
    "Never",
    "never",
    "is dead",
    "obsolete",
    "reflects",
    "forge",
    "breaks",
    "wipes",
)


# Models the tests' apps take as bodies; at module level so FastAPI can resolve this module's postponed annotations.


class Payment(BaseModel):
    model_config = ConfigDict(strict=True)
    amount: Decimal


class Item(BaseModel):
    name: str


# ---------------------------------------------------------------------------------------------------------------
# Reading the documents


def _documents() -> list[Path]:
    return [SKILL, *sorted(REFERENCES.glob("*.md"))]


def _split_frontmatter(text: str) -> tuple[str, str]:
    match = re.match(r"---\n(.*?)\n---\n", text, re.DOTALL)
    assert match, "SKILL.md must start with a YAML frontmatter block between --- lines"
    return match.group(1), text[match.end() :]


@dataclass(frozen=True)
class Block:
    path: Path
    line: int
    language: str
    text: str


def _code_blocks(path: Path) -> list[Block]:
    blocks: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    fence: tuple[int, str] | None = None
    body: list[str] = []
    for number, line in enumerate(lines, start=1):
        if fence is None and line.startswith("```"):
            fence = (number, line[3:].strip())
            body = []
        elif fence is not None and line.startswith("```"):
            blocks.append(Block(path, fence[0], fence[1], "\n".join(body) + "\n"))
            fence = None
        elif fence is not None:
            body.append(line)
    assert fence is None, f"{path.name}:{fence and fence[0]}: a code fence is never closed"
    return blocks


def _units(path: Path) -> Iterator[tuple[str, str]]:
    """(kind, text) for every code block, bullet, table row and paragraph of a document."""
    text = path.read_text(encoding="utf-8")
    if path == SKILL:
        _, text = _split_frontmatter(text)
    for block in _code_blocks(path):
        yield block.language or "code", block.text
    prose = re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    current: list[str] = []
    for line in [*prose.splitlines(), ""]:
        starts_new = not line.strip() or line.startswith(("- ", "|", "#")) or re.match(r"\d+\. ", line)
        if starts_new and current:
            yield "prose", " ".join(current)
            current = []
        if line.startswith("|"):
            yield "prose", line
        elif line.strip():
            current.append(line.strip())


def _python_blocks() -> list[Block]:
    return [block for path in _documents() for block in _code_blocks(path) if block.language == "python"]


def _block_id(block: Block) -> str:
    return f"{block.path.name}:{block.line}"


SKILL_TEXT = SKILL.read_text(encoding="utf-8")
FRONTMATTER_TEXT, BODY = _split_frontmatter(SKILL_TEXT)
PYTHON_BLOCKS = _python_blocks()


# ---------------------------------------------------------------------------------------------------------------
# Frontmatter and size, as the Agent Skills spec and Claude Code read them


def test_frontmatter_has_only_spec_fields_and_ours() -> None:
    meta = yaml.safe_load(FRONTMATTER_TEXT)
    assert isinstance(meta, dict)
    assert set(meta) <= SPEC_KEYS, f"keys outside the Agent Skills spec: {sorted(set(meta) - SPEC_KEYS)}"
    assert set(meta) == OUR_KEYS
    assert meta["license"] == "MIT"
    assert isinstance(meta["metadata"], dict)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in meta["metadata"].items()), (
        "metadata must be a map of strings (quote the version)"
    )
    assert re.fullmatch(r"\d+\.\d+\.\d+", meta["metadata"]["version"])


def test_name_follows_the_spec_and_matches_the_install_folder() -> None:
    from production_fastapi import install

    name = yaml.safe_load(FRONTMATTER_TEXT)["name"]
    assert isinstance(name, str)
    assert 1 <= len(name) <= 64
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name)
    # The folder the skill is installed into must carry the same name, or the spec-compliant hosts refuse it.
    assert name == "production-fastapi"
    assert name in Path(install.__file__).read_text(encoding="utf-8")


def test_description_says_what_when_and_when_not_within_limits() -> None:
    description = yaml.safe_load(FRONTMATTER_TEXT)["description"]
    assert isinstance(description, str)
    # Spec: 1-1024 characters, no angle brackets. Ours: short enough to sit in Claude Code's skill listing.
    assert 1 <= len(description) <= 500, len(description)
    assert "<" not in description
    assert ">" not in description
    for topic in ("FastAPI", "lifespan", "logs", "health", "errors", "middleware", "Pydantic v2", "async"):
        assert topic in description, topic
    for topic in ("deployment", "rate limits", "security"):
        assert topic in description, topic
    assert description.index("FastAPI") < 40, "the key use comes first"
    assert re.search(r"SKIP for Django, Flask, Litestar and plain Pydantic scripts", description)


def test_body_stays_within_the_recommended_size() -> None:
    lines = BODY.count("\n")
    assert lines < 500, lines
    # About 4 characters a token for English prose and code: keep the body near 5,000 tokens.
    assert len(BODY) / 4 < 5_600, len(BODY)


@pytest.mark.skipif(
    CLAUDE is None, reason="the Claude Code CLI bundled with claude-agent-sdk is not installed"
)
def test_claude_code_validator_accepts_the_skill(tmp_path: Path) -> None:
    assert CLAUDE is not None

    def validate(skill_text: str, where: Path) -> subprocess.CompletedProcess[str]:
        skill_dir = where / "skills" / "production-fastapi"
        skill_dir.mkdir(parents=True)
        (skill_dir / "SKILL.md").write_text(skill_text, encoding="utf-8")
        home = where / "home"
        home.mkdir()
        return subprocess.run(
            [str(CLAUDE), "plugin", "validate", "--strict", str(where / "skills")],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "HOME": str(home)},
            check=False,
        )

    cli = claude_cli_version(CLAUDE)
    result = validate(SKILL_TEXT, tmp_path / "ours")
    assert result.returncode == 0, f"{cli}: {result.stdout}{result.stderr}"
    assert "Validation passed" in result.stdout, f"{cli}: {result.stdout}"
    # The same validator on a broken copy fails: the check above is a real one.
    broken = SKILL_TEXT.replace("description: ", "description: [unclosed\n  oops: ", 1)
    result = validate(broken, tmp_path / "broken")
    assert result.returncode == 1, f"{cli}: {result.stdout}{result.stderr}"
    assert "frontmatter" in result.stdout, f"{cli}: {result.stdout}"


# ---------------------------------------------------------------------------------------------------------------
# Code blocks


def test_there_are_python_examples() -> None:
    assert len([b for b in PYTHON_BLOCKS if b.path == SKILL]) >= 3


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=_block_id)
def test_python_block_parses(block: Block) -> None:
    ast.parse(block.text, filename=_block_id(block))


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=_block_id)
def test_python_block_is_do_code_in_current_style(block: Block) -> None:
    tree = ast.parse(block.text)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            assert node.returns is not None, f"{_block_id(block)}: {node.name}() needs a return type"
        if isinstance(node, ast.Constant) and node.value is Ellipsis:
            pytest.fail(f"{_block_id(block)}: no `...` defaults or bodies (the official fastapi skill)")
    for wrong in ("DO NOT", "Don't", "ORJSONResponse", "UJSONResponse", "on_event", "class Config"):
        assert wrong not in block.text, f"{_block_id(block)}: 'Don't' code goes in a ```text block or inline"


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=_block_id)
def test_python_block_reviews_clean(block: Block) -> None:
    review = pytest.importorskip("production_fastapi.review", reason="the reviewer is not importable yet")
    findings = review.review_source(block.text, filename="app/snippet.py")
    assert [f"{f.code} {f.line}:{f.column} {f.message}" for f in findings] == []


# ---------------------------------------------------------------------------------------------------------------
# Links, templates, rule codes


def _links(path: Path) -> list[str]:
    return re.findall(r"\]\(([^)\s]+)\)", path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", _documents(), ids=lambda p: p.name)
def test_relative_links_resolve(path: Path) -> None:
    for target in _links(path):
        if re.match(r"[a-z]+:", target):
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        assert resolved.exists(), f"{path.name}: link to {target} does not resolve"
        if anchor:
            headings = re.findall(r"^#+ (.+)$", resolved.read_text(encoding="utf-8"), re.MULTILINE)
            slugs = {re.sub(r"[^\w\- ]", "", h).strip().lower().replace(" ", "-") for h in headings}
            assert anchor in slugs, f"{path.name}: no heading for #{anchor} in {resolved.name}"


def test_every_reference_is_linked_from_skill_with_when_to_read_it() -> None:
    references = sorted(p.name for p in REFERENCES.glob("*.md"))
    assert references, "references/ holds the longer guides"
    for name in references:
        units = [text for kind, text in _units(SKILL) if kind == "prose" and f"(references/{name})" in text]
        assert units, f"references/{name} is not linked from SKILL.md"
        assert any(re.search(r"\b(when|before)\b", text) for text in units), f"say when to read references/{name}"


def _mentioned_templates() -> set[str]:
    names: set[str] = set()
    for path in _documents():
        names.update(re.findall(r"templates/([\w.]+[\w])", path.read_text(encoding="utf-8")))
    return names


def test_every_template_mentioned_exists() -> None:
    mentioned = _mentioned_templates()
    assert {"settings.py", "middleware.py", "lifespan.py", "gunicorn_conf.py", "Dockerfile"} <= mentioned
    missing = sorted(name for name in mentioned if not (TEMPLATES / name).is_file())
    assert missing == [], f"SKILL.md or references/ name templates that don't exist: {missing}"


# The template functions and classes SKILL.md and references/ tell agents to use, and the module defining them.
TEMPLATE_API = {
    "install_middleware": "middleware.py",
    "get_request_id": "middleware.py",
    "BodyLimitMiddleware": "middleware.py",
    "ProductionMiddleware": "middleware.py",
    "configure_logging": "logging_config.py",
    "_shared_processors": "logging_config.py",
    "create_app": "main.py",
    "AppError": "error_handlers.py",
    "readiness_checks": "health_checks.py",
    "rate_limit": "rate_limiting.py",
    "Limiter": "rate_limiting.py",
    "Settings": "settings.py",
    "install_safe_validation_errors": "validation_errors.py",
    "install_body_limit": "body_limit.py",
}
ALL_DOCS_TEXT = "\n".join(path.read_text(encoding="utf-8") for path in _documents())


@pytest.mark.parametrize(("name", "module"), TEMPLATE_API.items())
def test_template_api_named_in_skill_exists(name: str, module: str) -> None:
    assert re.search(rf"`{name}[(`.]", ALL_DOCS_TEXT), f"{name} is no longer cited: drop it from TEMPLATE_API"
    source = (TEMPLATES / module).read_text(encoding="utf-8")
    tree = ast.parse(source)
    defined = {
        node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }
    exported = {
        alias.asname or alias.name for node in tree.body if isinstance(node, ast.ImportFrom) for alias in node.names
    }
    assert name in defined | exported, f"templates/{module} has no {name}"


def test_checklist_rows_cite_rules_their_template_implements() -> None:
    # A checklist row sends the agent to a template for those rules: the template's own header must claim them.
    rows = [line for line in BODY.splitlines() if line.startswith("|") and "`templates/" in line]
    assert len(rows) >= 12
    for row in rows:
        template = re.search(r"`templates/([\w.]+)`", row)
        assert template is not None
        header = (TEMPLATES / template.group(1)).read_text(encoding="utf-8")[:3000]
        claimed = set(re.findall(r"PF\d{3}", next(line for line in header.splitlines() if "Rules:" in line)))
        cited = set(re.findall(r"PF\d{3}", row))
        assert cited <= claimed, f"{template.group(1)} does not implement {sorted(cited - claimed)}: {row}"


def test_settings_named_in_conventions_are_fields_of_the_template() -> None:
    bullet = next(text for kind, text in _units(SKILL) if text.startswith("- **Settings**"))
    names = re.findall(r"`([A-Z][A-Z_]+)`", bullet)
    assert len(names) >= 8
    tree = ast.parse((TEMPLATES / "settings.py").read_text(encoding="utf-8"))
    settings = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Settings")
    fields = {n.target.id for n in settings.body if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)}
    assert sorted(name for name in names if name.lower() not in fields) == []


def _cited_codes() -> set[str]:
    return {code for path in _documents() for code in re.findall(r"PF\d{3}", path.read_text(encoding="utf-8"))}


def test_every_cited_rule_code_exists() -> None:
    rules = pytest.importorskip("production_fastapi.rules", reason="the rule catalog is not importable yet")
    known = {rule.code for rule in rules.all_rules()}
    assert sorted(_cited_codes() - known) == []


def test_every_rule_is_cited() -> None:
    rules = pytest.importorskip("production_fastapi.rules", reason="the rule catalog is not importable yet")
    cited = _cited_codes()
    assert sorted(f"{r.code} {r.name}" for r in rules.all_rules() if r.code not in cited) == []


def _sections() -> dict[str, str]:
    """Every ``## `` section of the body by its title without the number: {"middleware and cors": text, ...}."""
    parts = re.split(r"^## (.+)$", BODY, flags=re.MULTILINE)
    return {re.sub(r"^\d\. ", "", title).lower(): text for title, text in zip(parts[1::2], parts[2::2], strict=True)}


def test_each_rule_is_cited_in_the_section_its_findings_point_to() -> None:
    rules = pytest.importorskip("production_fastapi.rules", reason="the rule catalog is not importable yet")
    sections = _sections()
    for rule in rules.all_rules():
        if rule.skill_section:
            section = sections.get(rule.skill_section.lower())
            assert section is not None, f"{rule.code}: SKILL.md has no section {rule.skill_section!r}"
            assert rule.code in section, f"{rule.code} points to {rule.skill_section!r}, which does not cite it"


def test_codes_are_cited_in_their_area_section() -> None:
    # A PF5xx finding sends the agent to "5. Middleware and CORS": the guidance for the code must be there.
    parts = re.split(r"^## (\d)\. .+$", BODY, flags=re.MULTILINE)
    sections = dict(zip(parts[1::2], parts[2::2], strict=True))
    assert sorted(sections) == list("0123456789")
    for code in sorted(set(re.findall(r"PF\d{3}", BODY))):
        assert code in sections[code[2]], f"{code} is not cited in section {code[2]}"


# ---------------------------------------------------------------------------------------------------------------
# FACTS.md corrections, pinned in the text


def _units_everywhere() -> list[tuple[Path, str, str]]:
    return [(path, kind, text) for path in _documents() for kind, text in _units(path)]


WRONG_PATTERNS = {
    "deprecated worker class": r"uvicorn\.workers\.UvicornWorker",
    "slowapi exc.retry_after": r"exc\.retry_after",
    "aioredis": r"aioredis",
    "proxy trusting everyone": r"""trusted_hosts=\[?["']\*|forwarded[-_]allow[-_]ips[= ]+["']?\*""",
    "CORS wildcard": r"""allow_origins=\[["']\*""",
    "RFC 7807": r"RFC 7807",
    "sync-worker heuristic": r"2 ?\* ?cores ?\+ ?1",
    "strict request model": r"ConfigDict\(strict=True\)",
    "clear_contextvars": r"clear_contextvars",
}


def _unexplained(pattern: str, units: list[tuple[Path, str, str]]) -> list[str]:
    """Where ``pattern`` is shown as if it were right: in Python code, or in prose that doesn't say it's wrong."""
    problems = []
    for path, kind, text in units:
        if not re.search(pattern, text):
            continue
        if kind == "python" or (kind != "text" and not any(m in text for m in NEGATIVE_MARKERS)):
            problems.append(f"{path.name} ({kind}): {text[:100]!r}")
    return problems


@pytest.mark.parametrize("pattern", WRONG_PATTERNS.values(), ids=WRONG_PATTERNS.keys())
def test_wrong_patterns_appear_only_as_donts(pattern: str) -> None:
    assert _unexplained(pattern, _units_everywhere()) == []


def test_the_dont_check_catches_a_wrong_pattern_shown_as_advice() -> None:
    here = Path("example.md")
    pattern = WRONG_PATTERNS["deprecated worker class"]
    advice = "- Run gunicorn with `-k uvicorn.workers.UvicornWorker` for async support."
    warning = "- **Don't** use `uvicorn.workers.UvicornWorker`: use `uvicorn_worker.UvicornWorker`."
    code = "worker_class = 'uvicorn.workers.UvicornWorker'  # Don't\n"
    assert _unexplained(pattern, [(here, "prose", warning), (here, "text", code)]) == []
    assert len(_unexplained(pattern, [(here, "prose", advice), (here, "python", code)])) == 2


def test_headings_the_slash_command_and_mcp_prompt_quote_exist() -> None:
    # commands/production.md and the MCP prompt send agents to these parts of SKILL.md by name.
    for quoted in ("Production-ready means this checklist", "Add without asking", "Ask first"):
        assert quoted in BODY, quoted
    command = REPO / "commands" / "production.md"
    if command.exists():
        for quoted in re.findall(r'"([A-Z][^"]{8,})"', command.read_text(encoding="utf-8")):
            if quoted[0].isupper() and not quoted.startswith("/"):
                assert quoted in BODY, f"commands/production.md quotes {quoted!r}, which SKILL.md no longer has"


def test_middleware_order_is_stated_the_right_way_round() -> None:
    everything = "\n".join(path.read_text(encoding="utf-8") for path in _documents())
    assert re.search(r"last (middleware )?added is (the )?outermost", SKILL_TEXT, re.IGNORECASE)
    assert not re.search(r"first added is (the )?outermost", everything, re.IGNORECASE)


def test_rfc_9457_and_its_media_type() -> None:
    assert "RFC 9457" in SKILL_TEXT
    assert "application/problem+json" in SKILL_TEXT


def test_graceful_timeout_is_below_the_kubernetes_grace_period() -> None:
    mentions = [
        text for _, kind, text in _units_everywhere() if kind == "prose" and "terminationGracePeriodSeconds" in text
    ]
    assert mentions
    for text in mentions:
        assert not re.search(r"\bmatch(es)?\b.{0,40}terminationGracePeriodSeconds", text), text
        assert re.search(r"\b(below|less than|lower than|under)\b", text), text


def test_current_replacements_are_named() -> None:
    for needed in (
        "uvicorn_worker.UvicornWorker",
        "redis.asyncio",
        "aclose()",
        "NoDecode",
        "bound_contextvars",
        "SecretStr",
        "httpx.ASGITransport",
        "max_body_size",
        "sqlalchemy[asyncio]",
        "max_requests_jitter",
    ):
        assert needed in SKILL_TEXT, needed


def test_max_body_size_is_dated_to_the_release_that_added_it() -> None:
    assert re.search(r"FastAPI 0\.164 added\s+`max_body_size`", SKILL_TEXT)
    assert "0.163 and older have none" in SKILL_TEXT


# ---------------------------------------------------------------------------------------------------------------
# The traps SKILL.md states, checked against the installed libraries (so a new release that changes them fails here)


def test_uvicorn_defaults_are_as_stated(monkeypatch: pytest.MonkeyPatch) -> None:
    from uvicorn.config import Config

    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    config = Config(app="app.main:app")
    assert config.host == "127.0.0.1"
    assert config.forwarded_allow_ips == "127.0.0.1,::1"
    assert config.proxy_headers is True
    assert config.timeout_graceful_shutdown is None
    assert config.timeout_keep_alive == 5
    assert "**Plain `uvicorn` binds 127.0.0.1**" in BODY
    assert "from 127.0.0.1 and ::1 by default" in BODY
    assert "uvicorn's `timeout_graceful_shutdown` is unset" in BODY
    assert "uvicorn 5 s" in BODY


def test_fastapi_run_binds_all_interfaces_and_has_no_graceful_timeout() -> None:
    from fastapi_cli import cli

    parameters = inspect.signature(cli.run).parameters
    assert parameters["host"].default == "0.0.0.0"
    assert not any("graceful" in name for name in parameters)
    assert "`fastapi run` binds 0.0.0.0" in BODY
    assert "`fastapi run` has no flag for it" in BODY


def test_gunicorn_defaults_are_as_stated() -> None:
    from gunicorn.config import Config

    settings = Config().settings
    assert settings["keepalive"].default == 2
    assert settings["graceful_timeout"].default == 30
    assert "gunicorn with uvicorn-worker 2 s" in BODY
    assert "`graceful_timeout` (default 30)" in BODY


def test_uvicorn_workers_module_warns_on_import() -> None:
    result = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", "-c", "import uvicorn.workers"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "uvicorn-worker" in result.stderr


def test_on_event_is_gone_from_starlette_and_deprecated_in_fastapi() -> None:
    from starlette.applications import Starlette

    assert not hasattr(Starlette, "on_event")
    assert getattr(FastAPI.on_event, "__deprecated__", None)


def test_fastapi_has_max_body_size_on_app_router_and_route() -> None:
    from fastapi import APIRouter

    assert "max_body_size" in inspect.signature(FastAPI).parameters
    assert "max_body_size" in inspect.signature(APIRouter).parameters
    assert "max_body_size" in inspect.signature(APIRouter.post).parameters


def test_slowapi_traps_are_real() -> None:
    from slowapi.errors import RateLimitExceeded
    from slowapi.util import get_ipaddr
    from starlette.requests import Request

    def request(headers: list[tuple[bytes, bytes]]) -> Request:
        return Request({"type": "http", "headers": headers, "client": ("10.0.0.9", 5000)})

    # The real header is ignored; the underscore spelling, which any client may send, picks the key.
    assert get_ipaddr(request([(b"x-forwarded-for", b"1.2.3.4")])) == "10.0.0.9"
    assert get_ipaddr(request([(b"x_forwarded_for", b"6.6.6.6")])) == "6.6.6.6"
    assert not hasattr(RateLimitExceeded, "retry_after")


def test_last_added_middleware_is_outermost() -> None:
    from starlette.applications import Starlette
    from starlette.middleware.gzip import GZipMiddleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    app = Starlette()
    app.add_middleware(GZipMiddleware)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=["example.com"])
    outermost, innermost = (m.cls for m in app.user_middleware)
    assert outermost is TrustedHostMiddleware
    assert innermost is GZipMiddleware


@pytest.mark.anyio
async def test_strict_model_refuses_every_json_request() -> None:
    app = FastAPI()

    @app.post("/payments")
    async def pay(payment: Payment) -> dict[str, str]:
        return {"amount": str(payment.amount)}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test") as client:
        as_string = await client.post("/payments", json={"amount": "12.50"})
        as_number = await client.post("/payments", json={"amount": 12.5})
    assert (as_string.status_code, as_number.status_code) == (422, 422)
    for response in (as_string, as_number):
        assert [error["loc"] for error in response.json()["detail"]] == [["body", "amount"]]
    assert "`ConfigDict(strict=True)` breaks request models" in BODY


def test_redis_default_socket_timeout_is_five_seconds() -> None:
    from redis import _defaults

    assert _defaults.DEFAULT_SOCKET_TIMEOUT == 5
    assert "5 s socket timeouts" in BODY


# ---------------------------------------------------------------------------------------------------------------
# The house conventions SKILL.md names, checked against what the templates actually do


@pytest.mark.anyio
async def test_house_conventions_match_the_templates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from fastapi import APIRouter

    router = APIRouter()

    @router.post("/items")
    async def create_item(item: Item) -> Item:
        return item

    # The dependency exactly as SKILL.md's section 9 shows it.
    limited = import_template("rate_limiting").rate_limit("2/minute")

    @router.post("/login", dependencies=[Depends(limited)])
    async def login() -> dict[str, str]:
        return {"token": "t"}

    settings = import_template("settings").Settings(
        environment="test", database_url=f"sqlite+aiosqlite:///{tmp_path}/conventions.db", app_name="pf-skill-test"
    )
    app = import_template("main").create_app(settings, routers=[router])
    transport = httpx.ASGITransport(app, raise_app_exceptions=False)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        live = await client.get("/health/live")
        ready = await client.get("/health/ready")
        missing = await client.get("/no-such-route?token=secret", headers={"X-Request-ID": "req-42"})
        replaced = await client.get("/no-such-route", headers={"X-Request-ID": "bad id"})
        invalid = await client.post("/items", json={"name": 3})
        valid = await client.post("/items", json={"name": "pen"})
        logins = [await client.post("/login") for _ in range(3)]
        oversize = await client.post("/items", content=b"x" * (settings.max_body_size + 1))

    # Probes.
    assert "`GET /health/live` checks nothing" in BODY
    assert (live.status_code, live.json()) == (200, {"status": "ok", "checks": {}})
    assert 'answers 200 `{"status": "ok", "checks": {}}`' in BODY
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "checks": {"database": "ok"}}
    assert re.search(r'"checks": \{"database": "ok" \|\s+"failed" \| "timeout"\}', BODY)

    # Problem details: exactly the members SKILL.md lists, the path without its query string, the request ID.
    assert missing.headers["content-type"] == "application/problem+json"
    problem = missing.json()
    assert set(problem) == {"type", "title", "status", "detail", "instance", "request_id"}
    assert (problem["type"], problem["status"], problem["instance"]) == ("about:blank", 404, "/no-such-route")
    assert problem["request_id"] == missing.headers["x-request-id"] == "req-42"
    assert valid.json() == {"name": "pen"}
    assert [error["loc"] for error in invalid.json()["errors"]] == [["body", "name"]]
    assert {key for error in invalid.json()["errors"] for key in error} == {"loc", "msg", "type"}
    assert "a 422 adds `errors` as `loc`, `msg`, `type`" in BODY

    # Body limit: the template answers even a declared oversize body with problem+json.
    assert (oversize.status_code, oversize.headers["content-type"]) == (413, "application/problem+json")
    assert "`install_body_limit(app,\n  max_body_size=...)`" in BODY

    # Rate limits: 429 problem+json with a usable Retry-After.
    assert [r.status_code for r in logins] == [200, 200, 429]
    assert logins[2].headers["content-type"] == "application/problem+json"
    assert int(logins[2].headers["retry-after"]) >= 1
    assert 'dependencies=[Depends(rate_limit("5/minute"))]' in BODY

    # Request IDs: an invalid inbound value is replaced by a UUID4 hex.
    assert re.fullmatch(r"[0-9a-f]{32}", replaced.headers["x-request-id"])
    assert "replaced by a new UUID4 hex" in BODY

    # Log lines: the access line's fields.
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    access = next(line for line in lines if line.get("event") == "request" and line.get("path") == "/no-such-route")
    for field in (
        "timestamp",
        "level",
        "logger",
        "event",
        "request_id",
        "method",
        "path",
        "status",
        "duration_ms",
        "client",
    ):
        assert field in access, field
    assert access["logger"] == "app.access"
    assert "(event `request`, logger `app.access`)" in BODY


# ---------------------------------------------------------------------------------------------------------------
# Claims the references make about library behaviour, run for real


@pytest.mark.anyio
async def test_starlette_limiter_answers_declared_oversize_bodies_in_plain_text() -> None:
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException as StarletteHTTPException

    app = FastAPI(max_body_size=10)

    @app.exception_handler(StarletteHTTPException)
    async def problem(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"status": exc.status_code}, exc.status_code, media_type="application/problem+json")

    @app.post("/upload")
    async def upload(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b"0123456789"

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client:
        declared = await client.post("/upload", content=b"x" * 50)
        streamed = await client.post("/upload", content=chunks())
    # With a Content-Length over the limit, Starlette replaces whatever the handlers answer with its own text.
    assert (declared.status_code, declared.headers["content-type"]) == (413, "text/plain; charset=utf-8")
    assert (streamed.status_code, streamed.headers["content-type"]) == (413, "application/problem+json")
    assert "Starlette's limiter\n  answers a declared oversize `Content-Length` with a plain-text 413" in BODY


@pytest.mark.anyio
async def test_asgi_transport_runs_no_lifespan_and_reraises() -> None:

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.ready = True
        yield

    app = FastAPI(lifespan=lifespan)

    @app.get("/ready")
    async def ready(request: Request) -> dict[str, bool]:
        return {"ready": getattr(request.app.state, "ready", False)}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("internal detail")

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client:
        assert (await client.get("/ready")).json() == {"ready": False}
        with pytest.raises(RuntimeError, match="internal detail"):
            await client.get("/boom")
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app, raise_app_exceptions=False), base_url="http://t"
        ) as client,
    ):
        assert (await client.get("/ready")).json() == {"ready": True}
        assert (await client.get("/boom")).status_code == 500
    testing = (REFERENCES / "testing.md").read_text(encoding="utf-8")
    assert "**`httpx.ASGITransport` does not run lifespan.**" in testing
    assert "**It re-raises unhandled exceptions by default**" in testing


@pytest.mark.anyio
async def test_context_bound_in_a_sync_dependency_is_lost() -> None:

    async def bind_async() -> None:
        structlog.contextvars.bind_contextvars(from_async="yes")

    def bind_sync() -> None:
        structlog.contextvars.bind_contextvars(from_sync="yes")

    app = FastAPI()

    # Decorator dependencies: this module's postponed annotations could not resolve the local functions.
    @app.get("/context", dependencies=[Depends(bind_async), Depends(bind_sync)])
    async def context() -> dict[str, object]:
        return dict(structlog.contextvars.get_contextvars())

    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client:
            seen = (await client.get("/context")).json()
    finally:
        # In process, the app runs in this test's task: don't leave its bindings to the next test.
        structlog.contextvars.unbind_contextvars("from_async", "from_sync")
    assert seen.get("from_async") == "yes"
    assert "from_sync" not in seen
    observability = (REFERENCES / "observability.md").read_text(encoding="utf-8")
    assert "A plain `def` dependency runs in a worker thread with a copy of the context" in observability


def test_testing_reference_example_runs_against_the_templates(tmp_path: Path) -> None:
    # The reference's first example, as a reader would use it: the templates copied in as the `app` package.
    example = next(b for b in _code_blocks(REFERENCES / "testing.md") if b.language == "python")
    shutil.copytree(TEMPLATES, tmp_path / "app", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "test_example.py").write_text(example.text, encoding="utf-8")
    result = subprocess.run(
        # Only the anyio plugin: loading every installed plugin would triple the run time.
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "anyio",
            "-W",
            "error",
            "test_example.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(tmp_path), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "1 passed" in result.stdout


def test_stated_middleware_order_and_request_id_rule_match_the_templates(tmp_path: Path) -> None:

    settings = import_template("settings").Settings(
        environment="test",
        database_url=f"sqlite+aiosqlite:///{tmp_path}/order.db",
        cors_origins=["https://app.example.com"],
        trusted_proxies=["10.0.0.1"],
    )
    app = import_template("main").create_app(settings)
    outside_in = [m.cls.__name__ for m in app.user_middleware]
    # CORS, request ID, access log and security headers are the steps of ProductionMiddleware, in that order (its
    # docstring says so); uvicorn's proxy-headers middleware runs before them, which CORS does not notice.
    assert outside_in == ["ProxyHeadersMiddleware", "ProductionMiddleware", "BodyLimitMiddleware"]
    steps = import_template("middleware").ProductionMiddleware.__doc__
    assert steps is not None
    assert re.search(r"CORS.*Request ID.*Access log.*Security headers", steps, re.DOTALL)
    assert re.search(
        r"from the outside in: CORS.*proxy headers, request\s+ID.*access\s+log, security headers, body limit",
        BODY,
        re.DOTALL,
    )

    accept = import_template("request_context").accept_request_id
    assert "1-128 characters from `A-Z a-z 0-9 . _ : + = / -`" in BODY
    for kept in ("Ab9._:+=/-", "x" * 128):
        assert accept(kept) == kept
    for replaced in ("has space", "x" * 129, "", "new\nline", "quote'"):
        assert accept(replaced) != replaced


BACKGROUND_APP = """
import asyncio
import pathlib

from fastapi import BackgroundTasks, FastAPI

app = FastAPI()


async def deliver() -> None:
    await asyncio.sleep(1.0)
    (pathlib.Path(__file__).parent / "delivered").write_text("yes")


@app.post("/notify", status_code=202)
async def notify(tasks: BackgroundTasks) -> dict[str, str]:
    tasks.add_task(deliver)
    return {"status": "queued"}
"""


def test_sigterm_waits_for_background_tasks_and_uvicorn_reraises_it(tmp_path: Path) -> None:

    (tmp_path / "bgapp.py").write_text(BACKGROUND_APP, encoding="utf-8")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bgapp:app", "--port", str(port), "--timeout-graceful-shutdown", "10"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.post(f"http://127.0.0.1:{port}/notify", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "uvicorn did not start"
                time.sleep(0.1)
        assert response.status_code == 202
        server.send_signal(signal.SIGTERM)
        returncode = server.wait(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    # The 202 was sent before the work ran; shutdown still waited for it.
    assert (tmp_path / "delivered").read_text() == "yes"
    assert returncode == -signal.SIGTERM
    assert "(it runs inside the request, so graceful\n  shutdown waits for it)" in BODY
    assert "expect a return code of `-15`" in (REFERENCES / "testing.md").read_text(encoding="utf-8")


def test_deployment_reference_states_the_gunicorn_template_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    text = (REFERENCES / "deployment.md").read_text(encoding="utf-8")
    stated = re.findall(r"^- `(\w+)` \(`([A-Z_]+)`, (?:default )?(\d+)\)", text, re.MULTILINE)
    assert len(stated) >= 4
    source = (TEMPLATES / "gunicorn_conf.py").read_text(encoding="utf-8")
    for _, variable, _ in stated:
        monkeypatch.delenv(variable, raising=False)
    sys.modules.pop("pf_templates.gunicorn_conf", None)
    conf = import_template("gunicorn_conf")
    for setting, variable, default in stated:
        assert getattr(conf, setting) == int(default), setting
        assert f"_int_env({variable!r}" in source or f'_int_env("{variable}"' in source, variable
    assert conf.worker_class == "uvicorn_worker.UvicornWorker"
