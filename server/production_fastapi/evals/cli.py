"""``production-fastapi eval``: validate the tasks, run agents, report, and measure skill triggering.

    production-fastapi eval validate [--task ID ...] [--jobs N]
    production-fastapi eval run --agent replay --from RUN --out build/evals/replay
    production-fastapi eval run --agent command --command 'claude -p "$(cat {prompt_file})" ...' --out RUN
    production-fastapi eval report RUN [--json PATH] [--markdown PATH]
    production-fastapi eval triggers --command TEMPLATE [--file evals/triggers.json]
    production-fastapi eval reference --out build/evals/reference
    production-fastapi eval prepare --task ID --arm ARM --dest DIR [--brief FILE]
    production-fastapi eval record --task ID --arm ARM --trial N --from DIR --run RUN [--transcript FILE] ...

Heavy imports stay inside the handlers (the top-level CLI imports this module to build its parser).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from production_fastapi.cli import EXIT_FINDINGS, EXIT_OK, CommandError

if TYPE_CHECKING:
    from production_fastapi.evals.agents import Agent
    from production_fastapi.evals.tasks import Task

__all__ = ["configure", "run"]

AGENTS = ("replay", "command", "claude-sdk", "messages")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--evals-dir", type=Path, help="the evals/ folder of a checkout (default: this checkout's)")
    sub = parser.add_subparsers(dest="eval_command", metavar="ACTION", required=True)

    validate = sub.add_parser("validate", help="prove every task discriminates: oracle passes, starter and bad fail")
    validate.add_argument("--task", action="append", default=[], help="only this task (repeatable)")
    validate.add_argument("--jobs", type=int, default=2, help="trees graded in parallel (default 2)")

    run_parser = sub.add_parser("run", help="run an agent on the tasks in one or more arms and grade every trial")
    run_parser.add_argument("--agent", choices=AGENTS, required=True)
    run_parser.add_argument("--out", type=Path, required=True, help="run folder to write (results, files, transcripts)")
    run_parser.add_argument("--arm", action="append", choices=("baseline", "skill", "skill+mcp"), default=[],
                            help="arm to run (repeatable; default: baseline and skill)")
    run_parser.add_argument("--trials", type=int, default=3, help="trials per task and arm (default 3)")
    run_parser.add_argument("--task", action="append", default=[], help="only this task (repeatable)")
    run_parser.add_argument("--from", dest="source", type=Path, help="replay: the recorded run to replay")
    # dest must not be "command": the top-level CLI keeps the subcommand's name there for its error messages.
    run_parser.add_argument(
        "--command", dest="agent_command", help="command agent: template using {workdir} {prompt_file} {prompt}"
    )
    run_parser.add_argument("--model", help="live agents: model name")
    run_parser.add_argument("--note", default="", help="a note stored with the run and shown in its report")

    report = sub.add_parser("report", help="write the JSON and Markdown report of a run folder")
    report.add_argument("run_dir", type=Path)
    report.add_argument("--json", dest="json_path", type=Path, help="default: RUN/report.json")
    report.add_argument("--markdown", type=Path, help="default: RUN/report.md")
    report.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")

    triggers = sub.add_parser("triggers", help="precision and recall of the skill description on trigger queries")
    triggers.add_argument(
        "--command", dest="agent_command", required=True,
        help="template using {prompt} or {prompt_file}, e.g. a claude -p command line",
    )
    triggers.add_argument("--file", type=Path, help="default: evals/triggers.json")
    triggers.add_argument("--runs", type=int, default=1, help="runs per query (majority decides)")
    triggers.add_argument("--json", dest="json_path", type=Path, help="also write the result here")

    reference = sub.add_parser(
        "reference", help="record the synthetic reference run (bad variants as baseline, oracles as skill)"
    )
    reference.add_argument("--out", type=Path, required=True)
    reference.add_argument("--task", action="append", default=[], help="only this task (repeatable)")
    reference.add_argument("--trials", type=int, default=2, help="trials per arm (default 2)")

    arm_choices = ("baseline", "skill", "skill+mcp")
    prepare = sub.add_parser("prepare", help="agent protocol: a scratch project for one trial, and the agent's brief")
    prepare.add_argument("--task", required=True, help="task id")
    prepare.add_argument("--arm", required=True, choices=arm_choices)
    prepare.add_argument("--dest", type=Path, required=True, help="new or empty folder outside the repository")
    prepare.add_argument("--brief", dest="brief_path", type=Path, help="also write the brief here (outside DIR)")

    record = sub.add_parser("record", help="agent protocol: grade a finished scratch project and store it leanly")
    record.add_argument("--task", required=True, help="task id")
    record.add_argument("--arm", required=True, choices=arm_choices)
    record.add_argument("--trial", type=int, required=True, help="trial number, from 1 (pairs across arms)")
    record.add_argument("--from", dest="source", type=Path, required=True, help="the scratch project the agent left")
    record.add_argument("--run", dest="run_dir", type=Path, required=True, help="run folder to add the trial to")
    record.add_argument("--transcript", type=Path, help="the agent's transcript (JSON Lines) or closing summary")
    record.add_argument("--wall-seconds", type=float, help="the agent's wall time")
    record.add_argument("--tokens", type=int, help="the agent's total tokens, when known")
    record.add_argument("--agent-name", default="agent-protocol", help="who ran the trial (stored in run.json)")
    record.add_argument("--model", help="the agent's model, when known")


def run(args: argparse.Namespace) -> int:
    from production_fastapi.evals import paths
    from production_fastapi.evals.tasks import TaskError

    paths.set_evals_root(args.evals_dir.resolve() if args.evals_dir else None)
    handlers = {
        "validate": _validate, "run": _run, "report": _report, "triggers": _triggers, "reference": _reference,
        "prepare": _prepare, "record": _record,
    }
    try:
        return handlers[args.eval_command](args)
    except TaskError as exc:
        raise CommandError(str(exc)) from None


def _tasks(args: argparse.Namespace) -> list[Task]:
    from production_fastapi.evals.paths import tasks_root
    from production_fastapi.evals.tasks import load_tasks

    return load_tasks(tasks_root(), args.task or None)


def _validate(args: argparse.Namespace) -> int:
    from production_fastapi.evals.validate import validate_tasks

    if args.jobs < 1:
        raise CommandError("--jobs must be at least 1")
    tasks = _tasks(args)
    results, problems = validate_tasks(tasks, jobs=args.jobs)
    for result in results:
        notes = [f"{len(result.failed)} failed", f"{result.seconds:.1f}s"]
        if result.static_error:
            notes.append(f"static grader: {result.static_error}")
        print(f"{result.task.id} [{result.variant}]: {', '.join(notes)}")
    for problem in problems:
        print(f"PROBLEM {problem}", file=sys.stderr)
    print(f"{len(tasks)} tasks, {len(results)} trees, {len(problems)} problems")
    return EXIT_FINDINGS if problems else EXIT_OK


def _agent(args: argparse.Namespace) -> Agent:
    from production_fastapi.evals.agents import ClaudeSDKAgent, CommandAgent, ReplayAgent

    if args.agent == "replay":
        if args.source is None:
            raise CommandError("--agent replay needs --from RUN (a recorded run folder)")
        return ReplayAgent(args.source.resolve())
    if args.agent == "command":
        if not args.agent_command:
            raise CommandError("--agent command needs --command TEMPLATE (with {prompt_file} or {prompt})")
        try:
            return CommandAgent(args.agent_command)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
    if args.agent == "claude-sdk":
        return ClaudeSDKAgent(model=args.model)
    from production_fastapi.evals.messages_agent import MessagesAgent

    return MessagesAgent(model=args.model or "claude-sonnet-4-5")


def _run(args: argparse.Namespace) -> int:
    from production_fastapi.evals.report import build_report, render_markdown
    from production_fastapi.evals.runner import run_eval

    if args.trials < 1:
        raise CommandError("--trials must be at least 1")
    agent = _agent(args)
    reason = agent.unavailable()
    if reason is not None:
        print(f"skipped: {reason}", file=sys.stderr)
        return EXIT_OK
    arms = args.arm or ["baseline", "skill"]
    run_eval(_tasks(args), agent, arms, args.trials, args.out, note=args.note, progress=print)
    report = build_report(args.out)
    (args.out / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (args.out / "report.md").write_text(render_markdown(report), encoding="utf-8")
    print(f"report: {args.out / 'report.md'}")
    return EXIT_OK


def _report(args: argparse.Namespace) -> int:
    from production_fastapi.evals.report import build_report, render_markdown

    if not args.run_dir.is_dir():
        raise CommandError(f"{args.run_dir} is not a run folder")
    report = build_report(args.run_dir, seed=args.seed)
    if not report["tasks"]:
        raise CommandError(f"{args.run_dir} holds no graded trials (*/*/*/result.json)")
    json_path = args.json_path or args.run_dir / "report.json"
    markdown_path = args.markdown or args.run_dir / "report.md"
    json_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    markdown_path.write_text(render_markdown(report), encoding="utf-8")
    print(f"wrote {json_path} and {markdown_path}")
    return EXIT_OK


def _triggers(args: argparse.Namespace) -> int:
    from production_fastapi.evals.paths import evals_root
    from production_fastapi.evals.triggers import load_triggers, run_triggers

    path = args.file or evals_root() / "triggers.json"
    try:
        queries = load_triggers(path)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    result = run_triggers(queries, args.agent_command, runs=args.runs)
    score = result["score"]
    print(f"precision {score['precision']} · recall {score['recall']} · accuracy {score['accuracy']}")
    for miss in score["misses"]:
        print(f"  miss: {miss}")
    for error in result["errors"]:
        print(f"  error: {error}", file=sys.stderr)
    if args.json_path:
        args.json_path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return EXIT_OK


def _reference(args: argparse.Namespace) -> int:
    from production_fastapi.evals.reference import record_reference

    if args.trials < 1:
        raise CommandError("--trials must be at least 1")
    count = record_reference(_tasks(args), args.out, trials=args.trials)
    print(f"recorded {count} trials in {args.out}")
    return EXIT_OK


def _one_task(task_id: str) -> Task:
    from production_fastapi.evals.paths import tasks_root
    from production_fastapi.evals.tasks import load_tasks

    return load_tasks(tasks_root(), [task_id])[0]


def _prepare(args: argparse.Namespace) -> int:
    from production_fastapi.evals.protocol import prepare

    try:
        prepared = prepare(_one_task(args.task), args.arm, args.dest)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    if args.brief_path:
        args.brief_path.parent.mkdir(parents=True, exist_ok=True)
        args.brief_path.write_text(prepared.brief, encoding="utf-8")
    print(prepared.brief)
    return EXIT_OK


def _record(args: argparse.Namespace) -> int:
    from production_fastapi.evals.protocol import record

    if args.transcript is not None and not args.transcript.is_file():
        raise CommandError(f"--transcript {args.transcript} is not a file")
    try:
        result = record(
            _one_task(args.task), args.arm, args.trial, args.source.resolve(), args.run_dir,
            transcript=args.transcript, seconds=args.wall_seconds, tokens=args.tokens, agent=args.agent_name,
            model=args.model,
        )
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    passed = sum(outcome == "passed" for outcome in result["checks"].values())
    status = result["infra_error"] or f"{passed}/{len(result['checks'])} checks passed"
    where = args.run_dir / args.task / args.arm / str(args.trial)
    print(f"{args.task} [{args.arm} #{args.trial}]: {status} -> {where}")
    return EXIT_OK
