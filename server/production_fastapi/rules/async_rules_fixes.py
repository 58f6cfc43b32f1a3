"""libcst fixes for area 7 (async). Imported only when a fix is applied."""

from __future__ import annotations

import libcst as cst

from production_fastapi.rules.fixes import FixTransformer


class SleepToAsyncioSleep(FixTransformer):
    """Before: ``time.sleep(delay)`` as a statement in an ``async def``. After: ``await asyncio.sleep(delay)``.

    The rule reports only calls that resolve to ``time.sleep`` inside ``async def``, and marks fixable only those
    that are whole statements, so matching the reported position is enough here.
    """

    def leave_Expr(self, original_node: cst.Expr, updated_node: cst.Expr) -> cst.Expr:
        call = original_node.value
        if not (isinstance(call, cst.Call) and self.is_target(call)):
            return updated_node
        self.add_import("asyncio")
        self.remove_import_if_unused("time")
        self.remove_import_if_unused("time", "sleep")
        sleep = cst.Attribute(value=cst.Name("asyncio"), attr=cst.Name("sleep"))
        assert isinstance(updated_node.value, cst.Call)
        return updated_node.with_changes(value=cst.Await(expression=updated_node.value.with_changes(func=sleep)))
