"""The judged real-world set: FastAPI-using packages from PyPI, pinned, one project per package.

None of them is in the speed corpus (prefect, airflow-core, chromadb, gradio, litellm, mlflow, open-webui,
fastapi-users) or in the set the rule authors tune on (fastapi-admin, sqladmin, polar), so findings on them measure
how the reviewer does on code nobody here wrote. Versions are exact so a rerun reviews the same bytes.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "FRESH",
    "FRESH2",
    "FRESH3",
    "FRESH4",
    "FRESH5",
    "HOLDOUT",
    "PACKAGES",
    "SETS",
    "Package",
    "default_dir",
    "load_manifest",
    "manifest_path",
]


@dataclass(frozen=True, slots=True)
class Package:
    name: str
    version: str
    kind: str

    @property
    def spec(self) -> str:
        return f"{self.name}=={self.version}"

    @property
    def folder(self) -> str:
        """The unpacked project's folder name under the fetch directory."""
        return f"{self.name}-{self.version}"


PACKAGES: tuple[Package, ...] = (
    Package("fastapi-amis-admin", "0.7.3", "admin panel"),
    Package("piccolo-admin", "1.14.0", "admin panel"),
    Package("mlserver", "1.7.1", "ML serving"),
    Package("litserve", "0.2.19", "ML serving"),
    Package("bentoml", "1.4.40", "ML serving"),
    Package("langserve", "0.3.3", "agent / LLM serving"),
    Package("chainlit", "2.12.0", "agent framework back end"),
    Package("lnbits", "1.6.2", "SaaS back end (pins pydantic~=1.10)"),
    Package("kedro-viz", "12.5.0", "SaaS-style dashboard back end"),
    Package("optimade", "1.5.0", "API server for a published spec"),
    Package("authx", "1.7.1", "auth library"),
    Package("fastapi-azure-auth", "5.3.0", "auth library"),
    Package("fastapi-jwt-auth", "0.5.0", "auth library (pydantic v1 era, unmaintained)"),
    Package("fastapi-pagination", "0.16.1", "API helper library"),
)


#: A second set, reviewed only after the rules were tuned on the first: the test that the tuning generalises. Rules
#: are never changed on evidence from these packages before a measurement on them is recorded.
HOLDOUT: tuple[Package, ...] = (
    Package("nicegui", "3.18.0", "UI framework served by FastAPI"),
    Package("aim", "3.29.1", "ML experiment tracker with a FastAPI back end"),
    Package("feast", "0.67.0", "feature store with a FastAPI feature server"),
    Package("freqtrade", "2026.9", "trading bot with a FastAPI REST API"),
    Package("fastapi-crudrouter", "0.8.6", "CRUD router library"),
    Package("fastapi-mail", "1.6.8", "mail library"),
    Package("letta", "0.34.12", "agent framework server"),
    Package("khoj", "1.42.10", "personal AI assistant server"),
)

#: A third set, chosen and fetched after the rules were changed on the holdout's evidence (session 4): the test of
#: those changes. Same conditions: nobody looks at findings on these packages before the measurement is recorded.
FRESH: tuple[Package, ...] = (
    Package("fastadmin", "0.2.22", "admin panel"),
    Package("kserve", "0.21.0", "ML model serving"),
    Package("infinity-emb", "0.0.78", "embedding server"),
    Package("fschat", "0.2.36", "LLM serving with an OpenAI-compatible API"),
    Package("autogenstudio", "0.4.2.2", "agent framework studio back end"),
    Package("agno", "3.1.10", "agent framework with a FastAPI runtime"),
    Package("open-interpreter", "0.4.3", "agent with a FastAPI server mode"),
    Package("zenml", "0.98.0", "MLOps SaaS server"),
    Package("arize-phoenix", "20.26.1", "LLM observability server"),
    Package("skypilot", "0.14.1", "cloud orchestration API server"),
)

#: A fourth set, chosen and fetched after the rules were changed on the fresh set's evidence: the test of those
#: changes, under the same conditions.
FRESH2: tuple[Package, ...] = (
    Package("xinference", "4.1.0", "model serving platform"),
    Package("reflex", "0.10.1", "web framework with a FastAPI back end"),
    Package("llama-stack", "0.2.12", "agent framework server"),
    Package("hayhooks", "2.1.0", "pipeline serving"),
    Package("dstack", "0.22.5", "orchestration SaaS server"),
    Package("docling-serve", "1.38.2", "document conversion API"),
    Package("lightrag-hku", "1.5.7", "RAG server"),
    Package("jupyverse", "0.14.18", "Jupyter server on FastAPI"),
    Package("langflow-base", "1.13.0", "agent builder back end"),
    Package("gpt-researcher", "0.15.1", "research agent with a FastAPI back end"),
    # Added before any finding was read, when the first ten gave 66 findings (fewer than the 100 a sample needs).
    Package("openhands-ai", "0.9.8", "coding agent server"),
    Package("sglang", "0.5.23", "LLM serving"),
    Package("crawl4ai", "0.9.5", "crawler with a FastAPI server"),
    Package("nemoguardrails", "0.24.1", "guardrails server"),
    Package("fastapi-cache2", "0.2.2", "cache library"),
)

#: A fifth set, chosen and fetched after the changes made on fresh2's evidence: the measurement of the final rules.
FRESH3: tuple[Package, ...] = (
    Package("llama-cpp-python", "0.3.36", "LLM server with an OpenAI-compatible API"),
    Package("lmdeploy", "0.18.0", "LLM serving"),
    Package("mlrun", "1.12.1", "MLOps platform with a FastAPI server"),
    Package("piccolo-api", "1.11.0", "API helper library (Starlette and FastAPI)"),
    Package("openllm", "0.6.30", "LLM serving CLI and server"),
    Package("pipecat-ai", "1.14.0", "voice agent framework"),
    Package("txtai", "9.14.0", "semantic search with a FastAPI API"),
    Package("phidata", "2.7.10", "agent framework with a FastAPI playground"),
    Package("fastapi-mcp", "0.4.0", "MCP bridge library for FastAPI"),
    Package("mcpo", "0.0.20", "MCP-to-OpenAPI proxy server"),
    Package("r2r", "3.6.6", "RAG server"),
    Package("cognee", "1.6.5", "memory layer with a FastAPI API"),
    Package("swarms", "16.0.3", "agent framework with an API server"),
)

#: A sixth set, chosen after the last rule change of session 4 and before any finding was read: the measurement of
#: the rules as they were left.
FRESH4: tuple[Package, ...] = (
    Package("vllm", "0.34.0", "LLM serving with an OpenAI-compatible API"),
    Package("cog", "0.23.1", "model container HTTP server"),
    Package("truss", "0.18.36", "model serving framework"),
    Package("jina", "3.34.0", "multimodal serving framework with an HTTP gateway"),
    Package("marqo", "3.18.2", "vector search server"),
    Package("flet-web", "1.0.5", "web server of a UI framework"),
    Package("litgpt", "0.5.13", "LLM toolkit with a serving command"),
    Package("browser-use", "0.13.14", "browser agent with a server mode"),
    Package("mem0ai", "2.2.1", "memory layer for agents"),
    Package("aphrodite-engine", "0.24.1", "LLM serving engine"),
    # Added before any finding was read, when the first ten gave 47 findings (fewer than the 100 a sample needs).
    Package("clearml-serving", "1.3.5", "model serving with a FastAPI inference server"),
    Package("pyspur", "0.1.18", "agent workflow builder back end"),
    Package("vocode", "0.1.113", "voice agent telephony server"),
    Package("deepspeed-mii", "0.3.3", "LLM serving"),
    Package("langroid", "0.69.16", "agent framework"),
    Package("fastrtc", "0.0.34", "real-time audio and video server"),
    Package("bolna", "0.11.9", "voice agent server"),
)

#: A seventh set, chosen after the changes made once fresh4 was judged (PF009's split, a request's own timeout,
#: `Field(repr=False)`) and before any finding was read.
FRESH5: tuple[Package, ...] = (
    Package("memgpt", "0.2.0", "agent server"),
    Package("marker-pdf", "2.0.0", "document conversion with a FastAPI server"),
    Package("paddlex", "3.7.2", "model serving"),
    Package("funasr", "1.4.16", "speech recognition with a FastAPI runtime"),
    Package("embedchain", "0.1.128", "RAG framework with an API server"),
    Package("griptape", "1.13.0", "agent framework"),
    Package("gptcache", "0.1.44", "LLM cache with a FastAPI server"),
    Package("modelscope", "1.40.2", "model hub with a serving module"),
    Package("lazyllm", "1.4.0", "LLM application framework with FastAPI services"),
)

SETS: dict[str, tuple[Package, ...]] = {
    "judged": PACKAGES,
    "holdout": HOLDOUT,
    "fresh": FRESH,
    "fresh2": FRESH2,
    "fresh3": FRESH3,
    "fresh4": FRESH4,
    "fresh5": FRESH5,
}


def default_dir() -> Path:
    """Outside the repository, so the packages' code is never committed: $PF_PRECISION_DIR or the user cache."""
    env = os.environ.get("PF_PRECISION_DIR")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "production-fastapi-precision"


def manifest_path(root: Path) -> Path:
    return root / "manifest.json"


def load_manifest(root: Path) -> list[dict[str, object]]:
    """The fetched packages as fetch.py recorded them (name, version, kind, source, folder, files, lines)."""
    path = manifest_path(root)
    if not path.is_file():
        raise FileNotFoundError(
            f"no fetched packages in {root}: run `.venv/bin/python -m benchmarks.precision.fetch --dir {root}` first"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON ({exc.msg} at line {exc.lineno}): rerun the fetch") from None
    if not isinstance(data, list) or not all(
        isinstance(e, dict) and {"name", "version", "folder"} <= e.keys() for e in data
    ):
        raise ValueError(f"{path}: expected a list of packages with name, version and folder: rerun the fetch")
    return data
