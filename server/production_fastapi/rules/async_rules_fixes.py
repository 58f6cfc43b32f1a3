"""libcst fixes for area 7 (async). Imported only when a fix is applied."""

from __future__ import annotations

import libcst as cst

from production_fastapi.rules.async_rules import AIOREDIS_MODULES
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


class AioredisToRedisAsyncio(FixTransformer):
    """Before: ``import aioredis`` / ``from aioredis.exceptions import ConnectionError``.
    After: ``import redis.asyncio as aioredis`` / ``from redis.exceptions import ConnectionError``."""

    def leave_Import(self, original_node: cst.Import, updated_node: cst.Import) -> cst.Import:
        if not self.is_target(original_node) or len(updated_node.names) != 1:
            return updated_node
        alias = updated_node.names[0]
        if not (isinstance(alias.name, cst.Name) and alias.name.value == "aioredis"):
            return updated_node
        asname = alias.asname or cst.AsName(name=cst.Name("aioredis"))
        module = cst.parse_expression("redis.asyncio")
        assert isinstance(module, cst.Attribute)
        return updated_node.with_changes(names=[alias.with_changes(name=module, asname=asname)])

    def leave_ImportFrom(self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom) -> cst.ImportFrom:
        if not self.is_target(original_node) or updated_node.module is None or updated_node.relative:
            return updated_node
        current = cst.Module(body=[]).code_for_node(updated_node.module)
        target = AIOREDIS_MODULES.get(current)
        if target is None:
            return updated_node
        module = cst.parse_expression(target)
        assert isinstance(module, (cst.Attribute, cst.Name))
        return updated_node.with_changes(module=module)
