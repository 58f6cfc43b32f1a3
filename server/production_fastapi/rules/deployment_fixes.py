"""libcst fixes for area 8 (deployment). Imported only when a fix is applied."""

from __future__ import annotations

import libcst as cst

from production_fastapi.rules.deployment import DEPRECATED_WORKERS
from production_fastapi.rules.fixes import FixTransformer

__all__ = ["UvicornWorkerPath"]


class UvicornWorkerPath(FixTransformer):
    """Before: ``worker_class = "uvicorn.workers.UvicornWorker"`` / ``from uvicorn.workers import UvicornWorker``.
    After: ``worker_class = "uvicorn_worker.UvicornWorker"`` / ``from uvicorn_worker import UvicornWorker``."""

    def leave_SimpleString(self, original_node: cst.SimpleString, updated_node: cst.SimpleString) -> cst.SimpleString:
        if not self.is_target(original_node):
            return updated_node
        value = updated_node.value
        for old, new in DEPRECATED_WORKERS.items():
            value = value.replace(old, new)
        return updated_node.with_changes(value=value)

    def leave_ImportFrom(self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom) -> cst.ImportFrom:
        if not self.is_target(original_node):
            return updated_node
        module = updated_node.module
        if (
            isinstance(module, cst.Attribute)
            and isinstance(module.value, cst.Name)
            and module.value.value == "uvicorn"
            and module.attr.value == "workers"
        ):
            return updated_node.with_changes(module=cst.Name("uvicorn_worker"))
        return updated_node
