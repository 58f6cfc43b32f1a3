"""libcst fixes for area 9 (rate limiting). Imported only when a fix is applied."""

from __future__ import annotations

import libcst as cst

from production_fastapi.rules.fixes import FixTransformer

__all__ = ["GetIpaddrToRemoteAddress"]


class GetIpaddrToRemoteAddress(FixTransformer):
    """Before: ``Limiter(key_func=get_ipaddr)`` with ``from slowapi.util import get_ipaddr``.
    After: ``Limiter(key_func=get_remote_address)`` with ``from slowapi.util import get_remote_address``."""

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        if original_node.value != "get_ipaddr" or not self.is_target(original_node):
            return updated_node
        self.add_import("slowapi.util", "get_remote_address")
        self.remove_import_if_unused("slowapi.util", "get_ipaddr")
        return updated_node.with_changes(value="get_remote_address")

    def leave_Attribute(self, original_node: cst.Attribute, updated_node: cst.Attribute) -> cst.Attribute:
        if original_node.attr.value != "get_ipaddr" or not self.is_target(original_node):
            return updated_node
        return updated_node.with_changes(attr=cst.Name("get_remote_address"))
