"""Load benchmarks: real uvicorn processes on loopback, driven by wrk from a separate process.

Run from the repository root: ``.venv/bin/python -m benchmarks.load.middleware`` (middleware cost) and
``.venv/bin/python -m benchmarks.load.service`` (the scaffolded service's example resource on SQLite/Postgres).
"""
