"""The production-fastapi MCP server: templates, review and scaffolding as tools for IDE assistants.

``production_fastapi.mcp.server.build_server(policy)`` builds it; ``production-fastapi mcp`` runs it. This package
imports nothing heavy itself: the CLI imports ``mcp.cli`` to build its parser, and the SDK loads only in ``run``.
"""
