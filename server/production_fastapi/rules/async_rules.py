"""Area 7, async: work that blocks the event loop, and tasks and calls that never end."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from production_fastapi.rules.base import RuleDocs, Violation, file_rule
from production_fastapi.rules.context import FileContext

_BLOCKING_SLEEPS = ("time.sleep",)


@file_rule(
    code="PF702",
    name="blocking-sleep-in-async",
    severity="error",
    message="`time.sleep()` inside `async def` blocks the event loop",
    fix_title="Replace with `await asyncio.sleep()`",
    skill_section="Async",
    template=None,
    requires=("time",),
    fix="production_fastapi.rules.async_rules_fixes:SleepToAsyncioSleep",
    docs=RuleDocs(
        what_it_does="Flags `time.sleep()` called directly inside an `async def` (a plain `def` nested inside one is "
        "left alone: it may run in a thread).",
        why="An `async def` endpoint runs on the event loop. `time.sleep()` stops that loop for the whole pause: "
        "every other request the worker is serving, health probes included, waits too. Under load one sleeping "
        "handler turns into timeouts across the service and failed liveness probes that restart the pod.",
        example="""\
import time

from fastapi import FastAPI

app = FastAPI()


@app.post("/jobs")
async def submit_job() -> dict[str, str]:
    time.sleep(0.5)  # back off before polling the queue
    return {"status": "queued"}
""",
        use_instead="""\
import asyncio

from fastapi import FastAPI

app = FastAPI()


@app.post("/jobs")
async def submit_job() -> dict[str, str]:
    await asyncio.sleep(0.5)  # back off before polling the queue
    return {"status": "queued"}
""",
        fix_safety="Safe: the fix only rewrites a `time.sleep(...)` statement directly in the body of an "
        "`async def`, into `await asyncio.sleep(...)` with the same argument, and adds `import asyncio`. The pause "
        "is the same; other requests now run during it. A call used as a value is reported but not rewritten.",
    ),
)
def blocking_sleep(ctx: FileContext) -> Iterator[Violation]:
    for call in ctx.calls(*_BLOCKING_SLEEPS):
        if not ctx.in_async_function(call):
            continue
        # Only a bare statement can take `await` without changing how the surrounding expression parses.
        statement = isinstance(ctx.parent(call), ast.Expr)
        yield ctx.violation(call, fixable=statement)
