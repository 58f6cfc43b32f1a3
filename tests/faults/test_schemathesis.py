"""schemathesis against the scaffolded service (SQLite) over real HTTP: no 5xx, no response outside the schema."""

from __future__ import annotations

from pathlib import Path

from benchmarks.faults.fuzz import fuzz_scaffolded_service


def test_scaffolded_service_survives_schemathesis(tmp_path: Path) -> None:
    result = fuzz_scaffolded_service(
        tmp_path,
        database="sqlite",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'fuzz.db'}",
        max_time=20,
        max_examples=25,
    )
    assert result.exit_code == 0, result.output[-4000:]
    # A run that generated nothing would pass vacuously.
    assert result.generated >= 100, result.output[-4000:]
    assert result.passed == result.generated, result.output[-4000:]
