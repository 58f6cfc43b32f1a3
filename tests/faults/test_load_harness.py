"""A small real slice of the load benchmarks: wrk against a real uvicorn, parsed, plus the server CPU accounting."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benchmarks.load.middleware import summarize
from benchmarks.load.server import free_port, running_server, uvicorn_command
from benchmarks.load.wrk import ToolMissing, find_wrk, run_wrk


def test_missing_wrk_is_reported_in_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ToolMissing, match="wrk is not installed: install it"):
        find_wrk(install=False)


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (apt-get install wrk)")
def test_wrk_drives_a_real_server_and_results_are_summarized(tmp_path: Path) -> None:
    port = free_port()
    command = uvicorn_command("benchmarks.load.apps:reference", port, factory=True, extra=["--log-level", "warning"])
    with running_server(command, port, tmp_path / "server.log", ready_path="/hello") as server:
        before = server.cpu_seconds()
        result = run_wrk(server.base_url + "/hello", seconds=1, connections=8, headers={"Origin": "https://x.example"})
        used = server.cpu_seconds() - before
    assert result.requests > 100
    assert result.errors == 0
    assert 0 < result.p50_ms <= result.p99_ms <= result.max_ms
    assert result.requests_per_s == pytest.approx(result.requests / result.seconds, rel=0.01)
    assert used > 0, "the server's CPU time did not grow while it served requests"
    summary = summarize(
        {"ours": {"/hello": [result], "/items": [result]}, "bare": {"/hello": [result], "/items": [result]}}
    )
    assert summary["/hello"]["ratios"]["ours_of_bare"] == 1.0
