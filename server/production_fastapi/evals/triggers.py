"""Trigger evals: does the skill's description make an agent pick the skill up when it should, and only then?

``evals/triggers.json`` lists realistic queries, half that should trigger the skill (FastAPI services headed for
production) and half near misses (Django, Flask, Litestar, a plain Pydantic script, a Starlette-only question).
A ``claude -p``-style command runs each query in a scratch project with the skill installed; the transcript says
whether the skill was used. The report gives precision and recall of the description.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from production_fastapi.evals.transcripts import read_transcript, usage_from_events

__all__ = ["TriggerQuery", "load_triggers", "run_triggers", "score"]


@dataclass(frozen=True, slots=True)
class TriggerQuery:
    query: str
    should_trigger: bool
    why: str = ""


def load_triggers(path: Path) -> list[TriggerQuery]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path} does not exist") from None
    except ValueError as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from None
    items = data.get("queries") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        raise ValueError(f"{path} must hold {{\"queries\": [{{\"query\": ..., \"should_trigger\": ...}}, ...]}}")
    queries: list[TriggerQuery] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("query"), str) or not item["query"].strip():
            raise ValueError(f"{path}: query #{index + 1} needs a non-empty 'query' string")
        if not isinstance(item.get("should_trigger"), bool):
            raise ValueError(f"{path}: query #{index + 1} needs 'should_trigger': true or false")
        queries.append(TriggerQuery(item["query"], item["should_trigger"], str(item.get("why", ""))))
    return queries


def score(outcomes: list[tuple[TriggerQuery, bool]]) -> dict[str, Any]:
    """Precision and recall of 'skill triggered' against 'should trigger'."""
    tp = sum(1 for q, hit in outcomes if hit and q.should_trigger)
    fp = sum(1 for q, hit in outcomes if hit and not q.should_trigger)
    fn = sum(1 for q, hit in outcomes if not hit and q.should_trigger)
    tn = sum(1 for q, hit in outcomes if not hit and not q.should_trigger)
    return {
        "true_positives": tp,
        "false_positives": fp,
        "false_negatives": fn,
        "true_negatives": tn,
        "precision": None if tp + fp == 0 else round(tp / (tp + fp), 4),
        "recall": None if tp + fn == 0 else round(tp / (tp + fn), 4),
        "accuracy": round((tp + tn) / len(outcomes), 4) if outcomes else None,
        "misses": [q.query for q, hit in outcomes if hit != q.should_trigger],
    }


def run_triggers(
    queries: list[TriggerQuery], template: str, *, runs: int = 1, timeout: float = 300.0
) -> dict[str, Any]:
    """Run each query ``runs`` times with the command ``template`` (``{prompt}``, ``{prompt_file}``, ``{workdir}``);
    a query counts as triggered when most of its runs used the skill."""
    from production_fastapi.install import destination, install

    outcomes: list[tuple[TriggerQuery, bool]] = []
    details: list[dict[str, Any]] = []
    errors: list[str] = []
    for query in queries:
        hits = completed_runs = 0
        for _ in range(runs):
            with tempfile.TemporaryDirectory(prefix="pf-trigger-") as temp:
                repo = Path(temp) / "repo"
                repo.mkdir()
                install(destination("project", "claude", repo))
                install(destination("project", "agents", repo))
                prompt_file = Path(temp) / "prompt.md"
                prompt_file.write_text(query.query, encoding="utf-8")
                values = {"prompt": query.query, "prompt_file": str(prompt_file), "workdir": str(repo)}
                command = template.format(**{k: shlex.quote(v) for k, v in values.items()})
                transcript = Path(temp) / "transcript.jsonl"
                with transcript.open("w", encoding="utf-8") as out:
                    try:
                        completed = subprocess.run(
                            ["bash", "-c", command], cwd=repo, stdout=out, stderr=subprocess.PIPE, text=True,
                            timeout=timeout, check=False,
                        )
                    except subprocess.TimeoutExpired:
                        errors.append(f"timed out: {query.query[:60]}")
                        continue
                if completed.returncode != 0:
                    errors.append(f"exit {completed.returncode}: {completed.stderr.strip()[-200:]}")
                    continue
                completed_runs += 1
                hits += usage_from_events(read_transcript(transcript)).skill_used
        details.append(
            {"query": query.query, "should_trigger": query.should_trigger, "hits": hits, "runs": completed_runs}
        )
        if completed_runs:  # a query whose every run failed says nothing about the description
            outcomes.append((query, hits * 2 > completed_runs))
    return {"score": score(outcomes), "queries": details, "errors": errors}
