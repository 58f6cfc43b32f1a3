"""Environment facts and result files shared by the load benchmarks."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import statistics
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parents[1] / "results"


def environment() -> dict[str, Any]:
    versions: dict[str, str] = {}
    for package in ("fastapi", "starlette", "uvicorn", "uvloop", "httptools", "structlog", "sqlalchemy", "asyncpg"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "missing"
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        "loadavg_1m": round(os.getloadavg()[0], 2),
        "versions": versions,
    }


def median(values: list[float]) -> float:
    return round(statistics.median(values), 3) if values else 0.0


def write_results(stem: str, data: dict[str, Any], markdown: str) -> tuple[Path, Path]:
    RESULTS.mkdir(parents=True, exist_ok=True)
    json_path = RESULTS / f"{stem}.json"
    md_path = RESULTS / f"{stem}.md"
    json_path.write_text(json.dumps(data, indent=2) + "\n")
    md_path.write_text(markdown)
    return json_path, md_path
