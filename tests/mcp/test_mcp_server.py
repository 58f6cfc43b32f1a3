"""Every tool, resource and prompt of the MCP server through the SDK's in-memory client, error paths included."""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
from mcp.types import (
    ListRootsResult,
    PromptReference,
    ResourceTemplateReference,
    Root,
    TextContent,
    TextResourceContents,
)
from mcp_fixtures import *  # noqa: F403  (the pytest fixtures client, server, workspace)
from mcp_helpers import BAD_MAIN, Workspace, snapshot

from production_fastapi import bundle
from production_fastapi.mcp.paths import PathPolicy
from production_fastapi.mcp.server import SKILL_URI, build_server
from production_fastapi.rules import all_rules

pytestmark = pytest.mark.anyio


def text_of(result: Any) -> str:
    block = result.content[0]
    assert isinstance(block, TextContent)
    return block.text


async def call_ok(client: Client, tool: str, arguments: dict[str, Any]) -> tuple[dict[str, Any], str]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    return result.structured_content, text_of(result)


async def call_error(client: Client, tool: str, arguments: dict[str, Any]) -> str:
    result = await client.call_tool(tool, arguments)
    assert result.is_error, f"{tool}({arguments}) succeeded"
    message = text_of(result)
    assert "\n" not in message
    assert "Traceback" not in message
    return message


async def test_tools_carry_schemas_and_truthful_annotations(client: Client) -> None:
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == {"list_templates", "get_template", "review_file", "review_project", "scaffold_service"}
    for tool in tools.values():
        assert tool.description
        assert len(tool.description) > 60
        assert tool.output_schema is not None
        assert tool.output_schema.get("type") == "object"
        assert tool.annotations is not None
        assert tool.annotations.open_world_hint is False
        # The roots resolver is filled by the server, never by the model.
        assert "roots" not in tool.input_schema.get("properties", {})
    for name in ("list_templates", "get_template", "review_file", "review_project"):
        annotations = tools[name].annotations
        assert annotations is not None
        assert annotations.read_only_hint is True
    scaffold = tools["scaffold_service"].annotations
    assert scaffold is not None
    assert scaffold.read_only_hint is False
    assert scaffold.destructive_hint is False


def test_instructions_name_every_tool_and_resource(server: MCPServer) -> None:
    instructions = server.instructions or ""
    for name in ("review_file", "review_project", "list_templates", "get_template", "scaffold_service", SKILL_URI):
        assert name in instructions


async def test_list_templates_matches_the_bundle(client: Client) -> None:
    data, text = await call_ok(client, "list_templates", {})
    expected = {t.name: t for t in bundle.list_templates()}
    assert [t["name"] for t in data["templates"]] == list(expected)
    for entry in data["templates"]:
        assert entry["purpose"] == expected[entry["name"]].purpose
        assert entry["rules"] == list(expected[entry["name"]].rules)
        assert entry["uri"] == f"production-fastapi://templates/{entry['name']}"
    assert len(text.splitlines()) == len(expected)


async def test_get_template_returns_the_file_once(client: Client) -> None:
    template = bundle.get_template("middleware.py")
    data, text = await call_ok(client, "get_template", {"name": "middleware"})
    assert data["name"] == "middleware.py"
    assert data["content"] == text == template.path.read_text(encoding="utf-8")
    assert data["rules"] == list(template.rules)


async def test_get_template_unknown_name_lists_the_known_ones(client: Client) -> None:
    message = await call_error(client, "get_template", {"name": "kafka.py"})
    assert "kafka.py" in message
    assert "middleware.py" in message


async def test_review_file_by_path_reports_positions_fix_and_pointers(client: Client) -> None:
    data, text = await call_ok(client, "review_file", {"path": "app/main.py"})
    found = {f["code"]: f for f in data["findings"]}
    assert {"PF006", "PF702"} <= set(found)
    assert (found["PF006"]["line"], found["PF006"]["column"]) == (4, 7)
    assert (found["PF702"]["line"], found["PF702"]["column"]) == (9, 5)
    assert found["PF702"]["path"] == "app/main.py"
    assert found["PF702"]["fix"]
    assert (found["PF702"]["fixable"], found["PF702"]["fix_applicability"]) == (True, "unsafe")
    assert found["PF006"]["fix_applicability"] is None
    assert "PF702 [error]" in text
    assert "unsafe fix" in next(line for line in text.splitlines() if "PF702" in line)
    assert "apply them only after a human says yes" in text
    assert found["PF702"]["skill_section"]
    assert found["PF006"]["template"] == "main.py"
    assert data["total"] == len(data["findings"])
    assert data["omitted"] == 0
    assert "app/main.py:9:5: PF702 [error]" in text
    assert found["PF702"]["rule_uri"] == "production-fastapi://rules/PF702"
    assert text.splitlines()[-2] == data["summary"]
    assert text.splitlines()[-1].startswith("Why each rule matters")


async def test_review_file_by_source_matches_the_file(client: Client) -> None:
    data, _ = await call_ok(client, "review_file", {"source": BAD_MAIN, "filename": "svc/api.py"})
    assert {f["code"] for f in data["findings"]} >= {"PF006", "PF702"}
    assert {f["path"] for f in data["findings"]} == {"svc/api.py"}


async def test_review_file_caps_large_results_and_counts_the_rest(client: Client) -> None:
    calls = "".join("    time.sleep(1)\n" for _ in range(30))
    source = f"import time\n\n\nasync def poll() -> None:\n{calls}"
    data, text = await call_ok(client, "review_file", {"source": source, "limit": 5})
    assert data["total"] == 30
    assert data["omitted"] == 25
    assert len(data["findings"]) == 5
    assert data["by_code"] == {"PF702": 30}
    assert [f["line"] for f in data["findings"]] == [5, 6, 7, 8, 9]
    assert "25 left out" in data["summary"]
    # five findings, the unsafe-fix warning (PF702's fix is unsafe), the summary, the pointer to the rule pages
    assert len(text.splitlines()) == 8


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({}, "exactly one of path"),
        ({"path": "app/main.py", "source": "x = 1\n"}, "exactly one of path"),
        ({"source": "x = 1\n", "limit": 0}, "limit must be between 1 and 200"),
        ({"source": "x = 1\n", "limit": 201}, "limit must be between 1 and 200"),
        ({"source": "x = 1\n", "filename": "a\nb.py"}, "control characters"),
        ({"source": "#" * 1_000_001}, "larger than"),
        ({"path": "app"}, "is a folder, not a file"),
        ({"path": "app/missing.py"}, "app/missing.py does not exist"),
    ],
)
async def test_review_file_refuses_bad_arguments_in_one_sentence(
    client: Client, arguments: dict[str, Any], expected: str
) -> None:
    assert expected in await call_error(client, "review_file", arguments)


async def test_review_file_reports_a_syntax_error_as_pf000(client: Client) -> None:
    data, _ = await call_ok(client, "review_file", {"source": "def broken(:\n", "filename": "bad.py"})
    assert [f["code"] for f in data["findings"]] == ["PF000"]
    assert data["findings"][0]["rule_uri"] is None


async def test_review_project_reviews_the_folder_and_writes_nothing(client: Client, workspace: Workspace) -> None:
    (workspace.allowed / "Dockerfile").write_text('FROM python:3.12-slim\nCMD ["uvicorn", "app.main:app"]\n')
    before = snapshot(workspace.root)
    data, text = await call_ok(client, "review_project", {"path": "."})
    # app/__init__.py and app/main.py, plus the Dockerfile once a deployment rule reads Dockerfiles.
    reads_dockerfiles = any(fnmatch.fnmatchcase("Dockerfile", glob) for rule in all_rules() for glob in rule.files)
    assert data["files_checked"] == 2 + reads_dockerfiles
    assert {"PF006", "PF702"} <= {f["code"] for f in data["findings"]}
    assert all(not f["path"].startswith("/") for f in data["findings"])
    assert "app/main.py:9:5: PF702" in text
    assert snapshot(workspace.root) == before  # no cache folder, no fixes


async def test_review_project_reads_config_only_inside_the_allow_list(client: Client, workspace: Workspace) -> None:
    # A pyproject above the allowed folder must not steer the review...
    (workspace.root / "pyproject.toml").write_text('[tool.production-fastapi]\nignore = ["PF006"]\n')
    data, _ = await call_ok(client, "review_project", {"path": "."})
    assert "PF006" in {f["code"] for f in data["findings"]}
    # ...one inside it does.
    (workspace.allowed / "pyproject.toml").write_text('[tool.production-fastapi]\nignore = ["PF702"]\n')
    data, _ = await call_ok(client, "review_project", {"path": "."})
    assert "PF702" not in {f["code"] for f in data["findings"]}
    assert "PF006" in {f["code"] for f in data["findings"]}
    data, _ = await call_ok(client, "review_file", {"path": "app/main.py"})
    assert "PF702" not in {f["code"] for f in data["findings"]}


async def test_review_project_refuses_a_broken_config_table(client: Client, workspace: Workspace) -> None:
    (workspace.allowed / "pyproject.toml").write_text("[tool.production-fastapi]\nignore = [\n")
    message = await call_error(client, "review_project", {"path": "."})
    assert "pyproject.toml has an unusable [tool.production-fastapi] table" in message


async def test_review_project_skips_files_that_escape_by_symlink(client: Client, workspace: Workspace) -> None:
    (workspace.outside / "leak.py").write_text(BAD_MAIN)
    (workspace.allowed / "app" / "leak.py").symlink_to(workspace.outside / "leak.py")
    data, _ = await call_ok(client, "review_project", {"path": "app"})
    assert {f["path"] for f in data["findings"]} == {"main.py"}
    assert data["errors"]
    assert all(str(workspace.outside) not in error for error in data["errors"])


async def test_review_project_on_a_file_is_refused(client: Client) -> None:
    assert "is a file, not a folder" in await call_error(client, "review_project", {"path": "app/main.py"})


async def test_scaffold_service_writes_a_new_service(client: Client, workspace: Workspace) -> None:
    data, text = await call_ok(client, "scaffold_service", {"name": "orders-service", "destination": "services/orders"})
    dest = workspace.allowed / "services" / "orders"
    on_disk = sorted(
        (Path(folder) / name).relative_to(dest).as_posix() for folder, _, files in os.walk(dest) for name in files
    )
    assert data["files"] == on_disk
    assert "pyproject.toml" in on_disk
    assert data["destination"] == "services/orders"
    assert text.startswith(f"Created services/orders ({len(on_disk)} files).")
    assert "orders-service" in (dest / "pyproject.toml").read_text()
    # A second call is refused: the folder is no longer empty, and nothing changes.
    before = snapshot(workspace.root)
    message = await call_error(client, "scaffold_service", {"name": "orders-service", "destination": "services/orders"})
    assert "services/orders already exists and is not empty" in message
    assert snapshot(workspace.root) == before


async def test_scaffold_service_refuses_a_bad_name_and_writes_nothing(client: Client, workspace: Workspace) -> None:
    before = snapshot(workspace.root)
    message = await call_error(client, "scaffold_service", {"name": "Not A Name!", "destination": "svc"})
    assert message.endswith(".")
    assert snapshot(workspace.root) == before


async def test_scaffold_service_rejects_an_unknown_database(client: Client) -> None:
    result = await client.call_tool("scaffold_service", {"name": "svc", "destination": "svc", "database": "oracle"})
    assert result.is_error
    assert "database" in text_of(result)


async def test_resources_list_skill_templates_and_rules(client: Client) -> None:
    uris = {str(resource.uri) for resource in (await client.list_resources()).resources}
    assert SKILL_URI in uris
    assert "production-fastapi://rules" in uris
    assert {f"production-fastapi://templates/{t.name}" for t in bundle.list_templates()} <= uris
    assert {f"production-fastapi://rules/{rule.code}" for rule in all_rules()} <= uris
    templates = (await client.list_resource_templates()).resource_templates
    assert [t.uri_template for t in templates] == ["production-fastapi://rules/{code}"]


async def read_text(client: Client, uri: str) -> str:
    contents = (await client.read_resource(uri)).contents
    assert len(contents) == 1
    assert isinstance(contents[0], TextResourceContents)
    return contents[0].text


async def test_skill_and_template_resources_are_the_files(client: Client) -> None:
    assert await read_text(client, SKILL_URI) == bundle.skill_md().read_text(encoding="utf-8")
    template = bundle.get_template("settings.py")
    assert await read_text(client, "production-fastapi://templates/settings.py") == template.content


async def test_rule_resources_cover_the_catalog(client: Client) -> None:
    index = await read_text(client, "production-fastapi://rules")
    for rule in all_rules():
        assert f"production-fastapi://rules/{rule.code}" in index
    page = await read_text(client, "production-fastapi://rules/PF702")
    assert page.startswith("# PF702 blocking-sleep-in-async")
    for section in ("## What it does", "## Why is this bad?", "## Example", "## Use instead"):
        assert section in page
    by_name = await read_text(client, "production-fastapi://rules/blocking-sleep-in-async")
    assert by_name == page


async def test_unknown_rule_resource_is_a_clear_error(client: Client) -> None:
    with pytest.raises(MCPError, match=r"No rule is called 'PF999'"):
        await client.read_resource("production-fastapi://rules/PF999")


async def test_production_prompt_walks_the_checklist(client: Client) -> None:
    prompts = (await client.list_prompts()).prompts
    assert [p.name for p in prompts] == ["production"]
    arguments = prompts[0].arguments or []
    assert [(a.name, a.required) for a in arguments] == [("stack", False)]
    result = await client.get_prompt("production", {})
    text = result.messages[0].content
    assert isinstance(text, TextContent)
    for step in ("production-fastapi://skill", "review_project", "get_template", "Add without asking", "Ask first"):
        assert step in text.text


@pytest.mark.parametrize("stack", ["FastAPI", " fastapi ", ""])
async def test_production_prompt_accepts_fastapi_in_any_spelling(client: Client, stack: str) -> None:
    result = await client.get_prompt("production", {"stack": stack})
    text = result.messages[0].content
    assert isinstance(text, TextContent)
    assert text.text.startswith("Make the fastapi service in this project production-ready")


async def test_production_prompt_explains_other_stacks(client: Client) -> None:
    result = await client.get_prompt("production", {"stack": "django"})
    text = result.messages[0].content
    assert isinstance(text, TextContent)
    assert "'django' is not supported" in text.text
    assert "fastapi" in text.text
    assert "review_project" not in text.text


async def test_client_roots_narrow_the_allow_list(server: MCPServer, workspace: Workspace) -> None:
    (workspace.allowed / "other.py").write_text("x = 1\n")

    async def roots(_: object) -> ListRootsResult:
        return ListRootsResult(roots=[Root(uri=(workspace.allowed / "app").as_uri())])

    async with Client(server, list_roots_callback=roots) as client:
        data, _ = await call_ok(client, "review_file", {"path": "main.py"})  # relative to the (narrowed) root
        assert "PF702" in {f["code"] for f in data["findings"]}
        message = await call_error(client, "review_file", {"path": str(workspace.allowed / "other.py")})
        assert "outside the directories this server may use" in message


async def test_client_roots_never_widen_the_allow_list(server: MCPServer, workspace: Workspace) -> None:
    async def roots(_: object) -> ListRootsResult:
        return ListRootsResult(roots=[Root(uri=workspace.outside.as_uri())])

    async with Client(server, list_roots_callback=roots) as client:
        message = await call_error(client, "review_file", {"path": str(workspace.outside / "secret.py")})
        assert "share no folder" in message
        assert str(workspace.outside) not in message
        message = await call_error(client, "review_file", {"path": "app/main.py"})
        assert "share no folder" in message


async def test_allow_list_can_hold_several_folders(workspace: Workspace) -> None:
    (workspace.outside / "svc.py").write_text(BAD_MAIN)
    server = build_server(PathPolicy.from_dirs([workspace.allowed, workspace.outside]))
    async with Client(server) as client:
        data, _ = await call_ok(client, "review_file", {"path": str(workspace.outside / "svc.py")})
        # With several allowed folders a path names its folder, so two files called main.py stay apart.
        assert {f["path"] for f in data["findings"]} == {f"{workspace.outside}/svc.py"}
        data, _ = await call_ok(client, "review_file", {"path": "app/main.py"})  # relative to the first folder
        assert {f["path"] for f in data["findings"]} == {f"{workspace.allowed}/app/main.py"}


async def test_roots_that_name_no_local_folder_narrow_nothing(server: MCPServer) -> None:
    async def roots(_: object) -> ListRootsResult:
        return ListRootsResult(roots=[Root(uri="file:///tmp/%00evil"), Root(uri="file://fileserver/share")])

    async with Client(server, list_roots_callback=roots) as client:
        data, _ = await call_ok(client, "review_file", {"path": "app/main.py"})
        assert "PF702" in {f["code"] for f in data["findings"]}


async def test_review_project_caps_the_list_of_unreadable_files(client: Client, workspace: Workspace) -> None:
    for index in range(25):
        (workspace.allowed / "app" / f"legacy_{index:02}.py").write_bytes(b"name = '\xe9'\n")  # Latin-1, not UTF-8
    data, text = await call_ok(client, "review_project", {"path": "app"})
    assert len(data["errors"]) == 21
    assert data["errors"][-1] == "... and 5 more"
    assert "25 files could not be reviewed" in data["summary"]
    assert "legacy_00.py is not UTF-8 text" in text


async def test_review_ignores_pyprojects_without_our_table(client: Client, workspace: Workspace) -> None:
    (workspace.allowed / "pyproject.toml").write_text("[project\nname = 'half-written'\n")  # broken, not ours
    data, _ = await call_ok(client, "review_project", {"path": "."})
    assert "PF702" in {f["code"] for f in data["findings"]}


async def test_completions_offer_stacks_and_rule_codes(client: Client) -> None:
    stacks = await client.complete(PromptReference(name="production"), {"name": "stack", "value": "fa"})
    assert stacks.completion.values == ["fastapi"]
    codes = await client.complete(
        ResourceTemplateReference(uri="production-fastapi://rules/{code}"), {"name": "code", "value": "pf70"}
    )
    expected = [rule.code for rule in all_rules() if rule.code.startswith("PF70")]
    assert codes.completion.values == expected
    assert codes.completion.total == len(expected)
    assert "PF702" in expected
    nothing = await client.complete(PromptReference(name="production"), {"name": "stack", "value": "django"})
    assert nothing.completion.values == []


NOISY_LOG = """\
import logging

from fastapi import FastAPI

app = FastAPI()
logger = logging.getLogger(__name__)


@app.get("/orders/{order_id}")
async def get_order(order_id: str) -> str:
    logger.info(f"fetching {order_id}")
    return order_id
"""


async def test_review_tools_run_the_default_set_unless_select_names_an_opt_in_rule(
    client: Client, workspace: Workspace
) -> None:
    data, _ = await call_ok(client, "review_file", {"source": NOISY_LOG})
    assert "PF203" not in data["by_code"]
    data, _ = await call_ok(client, "review_file", {"source": NOISY_LOG, "select": ["PF203"]})
    assert data["by_code"] == {"PF203": 1}
    data, _ = await call_ok(client, "review_file", {"source": NOISY_LOG, "select": ["PF2"]})
    assert data["by_code"] == {}
    (workspace.allowed / "app" / "logs.py").write_text(NOISY_LOG, encoding="utf-8")
    data, _ = await call_ok(client, "review_project", {"path": "."})
    assert "PF203" not in data["by_code"]
    data, _ = await call_ok(client, "review_project", {"path": ".", "select": ["PF", "PF203"]})
    assert data["by_code"].get("PF203") == 1
    assert "not a rule selector" in await call_error(client, "review_file", {"source": "x = 1\n", "select": ["X1"]})
