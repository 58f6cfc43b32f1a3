"""Wilson intervals, the seeded paired bootstrap, and reading usage out of transcripts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from production_fastapi.evals.stats import bootstrap_uplift, wilson
from production_fastapi.evals.transcripts import read_transcript, usage_from_events

TEMPLATE = ".claude/skills/production-fastapi/templates/middleware.py"


def test_wilson_matches_known_values() -> None:
    low, high = wilson(0, 10)
    assert low == 0.0
    assert high == pytest.approx(0.2775, abs=1e-4)
    low, high = wilson(3, 3)
    assert low == pytest.approx(0.4385, abs=1e-4)
    assert high == 1.0
    low, high = wilson(5, 10)
    assert (low, high) == (pytest.approx(0.2366, abs=1e-4), pytest.approx(0.7634, abs=1e-4))
    assert wilson(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError, match="between 0 and trials"):
        wilson(4, 3)


def test_bootstrap_is_paired_seeded_and_centred() -> None:
    treated, control = [1.0, 0.5, 1.0, 0.75], [0.5, 0.5, 0.25, 0.75]
    first = bootstrap_uplift(treated, control, seed=7)
    assert first == bootstrap_uplift(treated, control, seed=7)
    mean, low, high = first
    assert mean == pytest.approx(0.3125)
    assert 0.0 <= low <= mean <= high <= 0.75
    assert bootstrap_uplift([0.5, 0.5], [0.5, 0.5]) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="differ in length"):
        bootstrap_uplift([1.0], [1.0, 0.0])


def test_usage_from_claude_code_stream_json(tmp_path: Path) -> None:
    lines = [
        {"type": "system", "subtype": "init"},
        {"type": "assistant", "message": {"content": [
            {"type": "tool_use", "name": "Skill", "input": {"skill": "production-fastapi"}},
            {"type": "tool_use", "name": "Read", "input": {"file_path": TEMPLATE}},
            {"type": "tool_use", "name": "mcp__production-fastapi__review_file", "input": {"path": "app/main.py"}},
        ]}},
        {"type": "result", "num_turns": 7, "total_cost_usd": 0.42,
         "usage": {"input_tokens": 100, "cache_read_input_tokens": 900, "output_tokens": 250}},
    ]
    path = tmp_path / "t.jsonl"
    path.write_text("progress text\n" + "\n".join(json.dumps(line) for line in lines) + "\n{broken\n")
    usage = usage_from_events(read_transcript(path))
    assert usage.skill_used
    assert usage.templates_read
    assert usage.mcp_tools == ["review_file"]
    assert (usage.input_tokens, usage.output_tokens, usage.cost_usd, usage.turns) == (1000, 250, 0.42, 7)


def test_usage_from_harness_records_without_the_skill() -> None:
    events = [
        {"type": "usage", "input_tokens": 10, "output_tokens": 3},
        {"type": "tool_use", "name": "read_file", "input": {"path": "app/main.py"}},
        {"type": "usage", "input_tokens": 12, "output_tokens": 5},
    ]
    usage = usage_from_events(events)
    assert not usage.skill_used
    assert usage.tool_calls == 1
    assert (usage.input_tokens, usage.output_tokens, usage.turns, usage.cost_usd) == (22, 8, 2, None)
