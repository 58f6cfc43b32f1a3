"""Turn a run folder into the report: JSON for machines, Markdown for people.

Per task and arm: the share of trials passing every *requested* check (and the starter's own tests), the share
passing every *unrequested* check, each with a Wilson 95 % interval over its k graded trials; the paired uplift of
each skill arm over the baseline on the unrequested score with a seeded bootstrap interval; adherence per rule;
rules and checks that never discriminate; skill-induced regressions (checks the baseline passes more often than a
skill arm, which the skill may have broken); skill and tool usage; tokens, cost and time when the transcripts (or the
recorder) have them. Trials that failed for infrastructure reasons are counted and listed, never folded into pass
rates.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from production_fastapi.evals.runner import RESULT_FILE
from production_fastapi.evals.stats import bootstrap_uplift, wilson

__all__ = ["build_report", "load_results", "render_markdown"]

SKILL_ARMS = ("skill", "skill+mcp")


def load_results(run: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    meta_path = run / "run.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
    results = [json.loads(path.read_text(encoding="utf-8")) for path in sorted(run.glob(f"*/*/*/{RESULT_FILE}"))]
    return meta, results


def _all_pass(checks: dict[str, str], kinds: tuple[str, ...]) -> bool:
    relevant = [outcome for check, outcome in checks.items() if check.split(":", 1)[0] in kinds]
    return all(outcome != "failed" for outcome in relevant)


def _fraction(checks: dict[str, str], kind: str) -> float | None:
    graded = [outcome for check, outcome in checks.items() if check.startswith(kind + ":") and outcome != "skipped"]
    if not graded:
        return None
    return sum(outcome == "passed" for outcome in graded) / len(graded)


def _rate(successes: int, trials: int) -> dict[str, Any]:
    low, high = wilson(successes, trials)
    return {
        "passed": successes,
        "trials": trials,
        "rate": None if trials == 0 else round(successes / trials, 4),
        "wilson95": [round(low, 4), round(high, 4)],
    }


def _summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    graded = [r for r in records if not r.get("infra_error")]
    unrequested = [f for r in graded if (f := _fraction(r["checks"], "unrequested")) is not None]
    static = [f for r in graded if (f := _fraction(r["checks"], "rule")) is not None]
    return {
        "trials": len(records),
        "infra_errors": len(records) - len(graded),
        "requested_all": _rate(sum(_all_pass(r["checks"], ("requested", "starter")) for r in graded), len(graded)),
        "unrequested_all": _rate(sum(_all_pass(r["checks"], ("unrequested",)) for r in graded), len(graded)),
        "unrequested_score": None if not unrequested else round(sum(unrequested) / len(unrequested), 4),
        "static_adherence": None if not static else round(sum(static) / len(static), 4),
    }


def _usage(records: list[dict[str, Any]]) -> dict[str, Any]:
    with_transcript = [r for r in records if r["usage"]["tool_calls"] or r["usage"]["input_tokens"] is not None]
    tools: dict[str, int] = defaultdict(int)
    for record in records:
        for tool in record["usage"]["mcp_tools"]:
            tools[tool] += 1

    def known(key: str) -> list[float]:
        return [float(r["usage"][key]) for r in records if r["usage"].get(key) is not None]

    seconds = [float(r["seconds_agent"]) for r in records if r.get("seconds_agent") is not None]
    tokens_in, tokens_out, cost = known("input_tokens"), known("output_tokens"), known("cost_usd")
    # A total reported by the recorder, else the transcript's input plus output when it has both.
    totals = [
        float(total) for r in records
        if (total := r.get("tokens") if r.get("tokens") is not None else _split_total(r["usage"])) is not None
    ]
    return {
        "trials_with_transcript": len(with_transcript),
        "skill_used": sum(r["usage"]["skill_used"] for r in with_transcript),
        "templates_read": sum(r["usage"]["templates_read"] for r in with_transcript),
        "mcp_tool_calls": dict(sorted(tools.items())),
        "mean_input_tokens": None if not tokens_in else round(sum(tokens_in) / len(tokens_in)),
        "mean_output_tokens": None if not tokens_out else round(sum(tokens_out) / len(tokens_out)),
        "total_cost_usd": None if not cost else round(sum(cost), 4),
        "mean_seconds": None if not seconds else round(sum(seconds) / len(seconds), 1),
        "mean_total_tokens": None if not totals else round(sum(totals) / len(totals)),
    }


def _split_total(usage: dict[str, Any]) -> int | None:
    if usage.get("input_tokens") is None or usage.get("output_tokens") is None:
        return None
    return int(usage["input_tokens"]) + int(usage["output_tokens"])


def _uplift(by_key: dict[tuple[str, str, int], dict[str, Any]], arm: str, seed: int) -> dict[str, Any] | None:
    treated, control, pairs = [], [], []
    for (task, record_arm, trial), record in sorted(by_key.items()):
        if record_arm != arm:
            continue
        base = by_key.get((task, "baseline", trial))
        if base is None or record.get("infra_error") or base.get("infra_error"):
            continue
        t, c = _fraction(record["checks"], "unrequested"), _fraction(base["checks"], "unrequested")
        if t is None or c is None:
            continue
        treated.append(t)
        control.append(c)
        pairs.append(f"{task}#{trial}")
    if not pairs:
        return None
    mean, low, high = bootstrap_uplift(treated, control, seed=seed)
    return {
        "metric": "unrequested checks passed (share), paired by task and trial",
        "pairs": len(pairs),
        "mean": round(mean, 4),
        "bootstrap95": [round(low, 4), round(high, 4)],
        "seed": seed,
    }


def _never_discriminating(graded: list[dict[str, Any]], prefix: str) -> dict[str, str]:
    outcomes: dict[str, set[str]] = defaultdict(set)
    for record in graded:
        for check, outcome in record["checks"].items():
            if check.startswith(prefix) and outcome != "skipped":
                outcomes[f"{record['task']} {check}" if prefix != "rule:" else check.removeprefix(prefix)].add(outcome)
    return {
        check: "always passes" if seen == {"passed"} else "always fails"
        for check, seen in sorted(outcomes.items()) if len(seen) == 1
    }


def _regressions(graded: list[dict[str, Any]], arms: list[str]) -> list[dict[str, Any]]:
    """Every (task, check, skill arm) where some skill trial fails a check that baseline trials pass more often.

    ``paired`` counts trial numbers where the baseline passed and the skill arm failed the same check.
    """
    outcomes: dict[tuple[str, str, str], dict[int, str]] = defaultdict(dict)
    for record in graded:
        for check, outcome in record["checks"].items():
            if outcome != "skipped":
                outcomes[(record["task"], check, record["arm"])][int(record["trial"])] = outcome
    rows: list[dict[str, Any]] = []
    for (task, check, arm), by_trial in sorted(outcomes.items()):
        base = outcomes.get((task, check, "baseline"))
        if arm not in SKILL_ARMS or arm not in arms or not base:
            continue
        base_passed = sum(outcome == "passed" for outcome in base.values())
        skill_failed = sum(outcome == "failed" for outcome in by_trial.values())
        if not skill_failed or base_passed / len(base) <= 1 - skill_failed / len(by_trial):
            continue
        rows.append({
            "task": task,
            "check": check,
            "arm": arm,
            "baseline_passed": base_passed,
            "baseline_trials": len(base),
            "skill_failed": skill_failed,
            "skill_trials": len(by_trial),
            "paired": sum(base.get(trial) == "passed" and outcome == "failed" for trial, outcome in by_trial.items()),
        })
    return rows


def build_report(run: Path, *, seed: int = 0) -> dict[str, Any]:
    meta, results = load_results(run)
    arms = [arm for arm in ("baseline", "skill", "skill+mcp") if any(r["arm"] == arm for r in results)]
    tasks = sorted({r["task"] for r in results})
    by_key = {(r["task"], r["arm"], int(r["trial"])): r for r in results}
    graded = [r for r in results if not r.get("infra_error")]

    per_task = {
        task: {arm: _summarise([r for r in results if r["task"] == task and r["arm"] == arm]) for arm in arms}
        for task in tasks
    }
    for task, cells in per_task.items():
        task_keys = {key: record for key, record in by_key.items() if key[0] == task}
        for arm in arms:
            if arm in SKILL_ARMS and "baseline" in arms:
                cells[arm]["uplift"] = _uplift(task_keys, arm, seed)
    rules: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(lambda: {"passed": 0, "graded": 0}))
    for record in graded:
        for check, outcome in record["checks"].items():
            if check.startswith("rule:") and outcome != "skipped":
                cell = rules[check.removeprefix("rule:")][record["arm"]]
                cell["graded"] += 1
                cell["passed"] += outcome == "passed"
    return {
        "run": {**meta, "path": run.name},
        "arms": arms,
        "tasks": tasks,
        "overall": {arm: _summarise([r for r in results if r["arm"] == arm]) for arm in arms},
        "per_task": per_task,
        "uplift": {arm: _uplift(by_key, arm, seed) for arm in arms if arm in SKILL_ARMS and "baseline" in arms},
        "rule_adherence": {code: dict(cells) for code, cells in sorted(rules.items())},
        "never_discriminating_rules": _never_discriminating(graded, "rule:"),
        "never_discriminating_checks": _never_discriminating(graded, "unrequested:"),
        "skill_induced_regressions": _regressions(graded, arms),
        "usage": {arm: _usage([r for r in results if r["arm"] == arm]) for arm in arms},
        "infra_errors": [
            {"task": r["task"], "arm": r["arm"], "trial": r["trial"], "error": r["infra_error"]}
            for r in results if r.get("infra_error")
        ],
    }


def _pct(rate: dict[str, Any]) -> str:
    if not rate["trials"]:
        return "n/a"
    low, high = rate["wilson95"]
    return f"{rate['passed']}/{rate['trials']} ({low:.0%}-{high:.0%})"


def _uplift_cell(uplift: dict[str, Any] | None, arm: str) -> str:
    if arm not in SKILL_ARMS:
        return ""
    if uplift is None:
        return "no pairs"
    low, high = uplift["bootstrap95"]
    return f"{uplift['mean']:+.2f} ({low:+.2f} to {high:+.2f}, n={uplift['pairs']})"


def _num(value: object, suffix: str = "") -> str:
    return "n/a" if value is None else f"{value}{suffix}"


def render_markdown(report: dict[str, Any]) -> str:
    run, arms = report["run"], report["arms"]
    lines = [f"# Eval report: {run.get('path', '')}", ""]
    agent, trials = run.get("agent", "?"), run.get("trials", "?")
    lines.append(f"Agent: `{agent}` · arms: {', '.join(arms)} · trials per arm: {trials}")
    if run.get("note"):
        lines += ["", f"> {run['note']}"]
    lines += [
        "",
        "Requested = checks the instruction names, plus the starter's own tests. Unrequested = production qualities",
        "it does not name. Cells: trials passing all such checks / graded trials (Wilson 95 % interval).",
        "",
        "## Overall",
        "",
        "| arm | requested: all pass | unrequested: all pass | unrequested score | static adherence | infra errors |",
        "|---|---|---|---|---|---|",
    ]
    for arm in arms:
        s = report["overall"][arm]
        lines.append(
            f"| {arm} | {_pct(s['requested_all'])} | {_pct(s['unrequested_all'])} | {_num(s['unrequested_score'])} "
            f"| {_num(s['static_adherence'])} | {s['infra_errors']} |"
        )
    lines += ["", "## Uplift over baseline (unrequested score, paired bootstrap 95 %)", ""]
    if not report["uplift"]:
        lines.append("No skill arm was paired with a baseline arm in this run.")
    for arm, uplift in report["uplift"].items():
        if uplift is None:
            lines.append(f"- {arm}: no graded pairs")
        else:
            low, high = uplift["bootstrap95"]
            lines.append(
                f"- {arm}: {uplift['mean']:+.3f} ({low:+.3f} to {high:+.3f}) over {uplift['pairs']} pairs, "
                f"seed {uplift['seed']}"
            )
    lines += [
        "", "## Per task", "",
        "| task | arm | requested: all pass | unrequested: all pass | unrequested score | uplift (paired 95 %) |",
        "|---|---|---|---|---|---|",
    ]
    for task, cells in report["per_task"].items():
        for arm in arms:
            s = cells[arm]
            lines.append(
                f"| {task} | {arm} | {_pct(s['requested_all'])} | {_pct(s['unrequested_all'])} "
                f"| {_num(s['unrequested_score'])} | {_uplift_cell(s.get('uplift'), arm)} |"
            )
    lines += ["", "## Rule adherence (trials without a finding / graded)", "", "| rule | " + " | ".join(arms) + " |"]
    lines.append("|---|" + "---|" * len(arms))
    for code, cells in report["rule_adherence"].items():
        row = [f"{cells[a]['passed']}/{cells[a]['graded']}" if a in cells else "n/a" for a in arms]
        lines.append(f"| {code} | " + " | ".join(row) + " |")
    lines += ["", "## Never discriminating", ""]
    rules, checks = report["never_discriminating_rules"], report["never_discriminating_checks"]
    lines.append("Rules: " + (", ".join(f"{code} ({why})" for code, why in rules.items()) or "none"))
    lines.append("")
    lines.append("Unrequested checks: " + (", ".join(f"{c} ({why})" for c, why in checks.items()) or "none"))
    lines += [
        "", "## Skill-induced regressions", "",
        "Checks that baseline trials pass more often than a skill arm's: counts of baseline trials passing and skill",
        "trials failing, and of trial numbers where both happened (paired).", "",
    ]
    regressions = report["skill_induced_regressions"]
    if not regressions:
        lines.append("None: no skill arm fails a check more often than the baseline.")
    else:
        lines += [
            "| task | check | arm | baseline passed | skill failed | paired |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {r['task']} | {r['check']} | {r['arm']} | {r['baseline_passed']}/{r['baseline_trials']} "
            f"| {r['skill_failed']}/{r['skill_trials']} | {r['paired']} |"
            for r in regressions
        ]
    lines += [
        "", "## Usage, tokens, cost, time", "",
        "| arm | transcripts | skill used | templates read | MCP tool calls | mean tokens in/out | mean tokens "
        "| cost (USD) | mean agent time (s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for arm in arms:
        u = report["usage"][arm]
        tools = ", ".join(f"{name} x{count}" for name, count in u["mcp_tool_calls"].items()) or "none"
        lines.append(
            f"| {arm} | {u['trials_with_transcript']} | {u['skill_used']} | {u['templates_read']} | {tools} "
            f"| {_num(u['mean_input_tokens'])}/{_num(u['mean_output_tokens'])} | {_num(u['mean_total_tokens'])} "
            f"| {_num(u['total_cost_usd'])} "
            f"| {_num(u['mean_seconds'])} |"
        )
    if report["infra_errors"]:
        lines += ["", "## Infrastructure errors (not counted as failures)", ""]
        lines += [f"- {e['task']} [{e['arm']} #{e['trial']}]: {e['error']}" for e in report["infra_errors"]]
    return "\n".join(lines) + "\n"
