"""Fixture files are code under review, not tests: never collect them (PF302/tests/test_app.py and the like)."""

collect_ignore_glob = ["fixtures/*"]
