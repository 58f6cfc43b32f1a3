"""What the server tells a model: its instructions and the ``production`` prompt.

Claude Code defers MCP tools and finds them by searching these instructions, so they name the situations
("production-ready", "review", "health checks", "new service") in the words a user would use.
"""

from __future__ import annotations

__all__ = ["INSTRUCTIONS", "SUPPORTED_STACKS", "production_prompt", "unsupported_stack"]

SUPPORTED_STACKS = ("fastapi",)

INSTRUCTIONS = """\
production-fastapi: production rules for FastAPI / Starlette / Uvicorn services (not Django or Flask).
Use these tools whenever a FastAPI service is written, reviewed or made production-ready (logging, request IDs,
health checks, error responses, middleware, CORS, timeouts, graceful shutdown, rate limits, Docker/gunicorn):
- review_file(path or source): check one file against the rules; each finding names the fix, the SKILL.md section
  and the template that shows the right pattern. Run it on code you just wrote before presenting it. A fix marked
  safe keeps behaviour (`review --fix` applies it); an unsafe one may change behaviour: ask the user first.
- review_project(path): the same for a whole folder, including project-wide checks and deployment files. Both
  run the default set: the rules judged right most often, on service code (not tests, migrations, scripts or
  examples). Opt-in rules (style, house conventions such as problem+json handlers and request IDs, checks
  judges found debatable on unseen code: missing health probes, dropped task references) run only when named
  in select, e.g. select=["PF", "PF301", "PF302"].
- list_templates / get_template(name): copy-ready, tested modules (settings, logging_config, middleware,
  error_handlers, health_checks, rate_limiting, database, lifespan, main, gunicorn_conf, Dockerfile). Prefer them
  to writing that plumbing by hand.
- scaffold_service(name, destination): a new service built from the templates (SQLite and in-memory limits by
  default, Postgres and Redis by environment). It only creates a new folder; it never overwrites.
Resources: production-fastapi://skill (the rules, read it first), production-fastapi://templates/<name>,
production-fastapi://rules and production-fastapi://rules/<code>. Prompt: production (stack=fastapi).
Paths must lie inside the server's allowed directories (by default its working directory)."""


def production_prompt(stack: str) -> str:
    """The walk-through behind the ``production`` prompt; ``commands/production.md`` says the same for Claude Code."""
    return f"""\
Make the {stack} service in this project production-ready, following production-fastapi.

1. Read the resource production-fastapi://skill (SKILL.md): its "Production-ready means this checklist" tables,
   the house conventions (/health/live and /health/ready, X-Request-ID, JSON log fields,
   application/problem+json) and the traps you cannot know from training.
2. Find the application (the module that creates FastAPI()) and run review_project on the project folder.
   Read each finding's fix, SKILL.md section and template.
3. Fix every error, then the warnings. Where a template covers the finding, adopt it with get_template instead of
   writing the plumbing by hand; keep the templates together in one package (they import each other relatively).
4. Walk the checklist over the service. Do every item of the "Add without asking" table: none changes what
   clients see on a successful call. Read the request for what it covers: making the service safe, hardening it
   or exposing it publicly includes brute-force limits on credential routes and replacing a CORS wildcard that
   allows credentials. For the "Ask first" table (problem+json error bodies, rate limits on other routes, other
   CORS narrowing, response models dropping fields, stricter validation) propose each change the request did not
   ask for in one sentence and wait for the user's answer, unless the service is new and has no clients yet.
5. Run review_project again until no errors remain (it runs the default set; add opt-in rules with select only
   when the user wants those conventions), then run the project's tests (and ruff/mypy if it uses them).
6. Report what you changed, what waits for the user's decision, and any finding left with its reason."""


def unsupported_stack(stack: str) -> str:
    """What the prompt and the slash command say for a stack we have no rules for."""
    shown = stack.strip()[:40]
    return (
        f"production-fastapi has rules, templates and checks for FastAPI only; '{shown}' is not supported. "
        "Use /production fastapi (or the production prompt with stack=fastapi) on a FastAPI, Starlette or Uvicorn "
        "service; for Django, Flask or other stacks follow that framework's own deployment guidance."
    )
