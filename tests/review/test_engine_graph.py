"""The app/router graph (rules/graph.py) across modules: includes, prefixes, factories, helpers, open apps."""

from __future__ import annotations

from pathlib import Path

from production_fastapi.review.engine import check_python
from production_fastapi.rules.context import FileContext, ProjectContext, module_name_for
from production_fastapi.rules.graph import AppGraph

PROJECT = {
    "app/__init__.py": "",
    "app/routers/__init__.py": "from .users import router as users_router\n",
    "app/routers/users.py": (
        "from fastapi import APIRouter\n"
        'router = APIRouter(prefix="/users")\n'
        '@router.get("/{user_id}")\n'
        "async def get_user(user_id: int) -> dict[str, int]:\n"
        '    return {"id": user_id}\n'
    ),
    "app/health.py": (
        "from fastapi import APIRouter\n"
        "health = APIRouter()\n"
        '@health.get("/live")\n'
        "async def live() -> dict[str, str]:\n"
        '    return {"status": "ok"}\n'
        "async def ready() -> dict[str, str]:\n"
        '    return {"status": "ok"}\n'
        'health.add_api_route("/ready", ready, methods=["GET", "HEAD"])\n'
    ),
    "app/errors.py": (
        "from fastapi import FastAPI, HTTPException\n"
        "def install_error_handlers(app: FastAPI) -> None:\n"
        "    @app.exception_handler(HTTPException)\n"
        "    async def on_http(request, exc):\n"
        "        return None\n"
        "    app.add_exception_handler(Exception, on_http)\n"
    ),
    "app/main.py": (
        "from fastapi import FastAPI\n"
        "from app.routers import users_router\n"
        "from . import health as health_module\n"
        "from .errors import install_error_handlers\n"
        "def create_app() -> FastAPI:\n"
        "    application = FastAPI()\n"
        '    application.include_router(users_router, prefix="/api")\n'
        '    application.include_router(health_module.health, prefix="/health")\n'
        "    install_error_handlers(application)\n"
        "    return application\n"
        "app = create_app()\n"
        '@app.get("/")\n'
        "def root() -> dict[str, str]:\n"
        "    return {}\n"
    ),
}


def _graph(files: dict[str, str]) -> AppGraph:
    contexts: list[FileContext] = []
    for path, source in files.items():
        _, ctx = check_python(path, source, (), module_name_for(path))
        assert ctx is not None
        contexts.append(ctx)
    return ProjectContext(contexts).graph


def test_routes_are_followed_through_includes_factories_and_reexports() -> None:
    graph = _graph(PROJECT)
    (app,) = graph.apps()
    routes = {
        (path, route.methods, route.endpoint.name if route.endpoint else None) for path, route in graph.routes(app)
    }
    assert routes == {
        ("/", ("GET",), "root"),
        ("/api/users/{user_id}", ("GET",), "get_user"),
        ("/health/live", ("GET",), "live"),
        ("/health/ready", ("GET", "HEAD"), "ready"),
    }
    assert not graph.is_open(app)


def test_registrations_in_helper_functions_belong_to_the_app() -> None:
    graph = _graph(PROJECT)
    (app,) = graph.apps()
    found = [(r.method, r.file.path) for r in graph.registrations(app, "exception_handler", "add_exception_handler")]
    assert found == [("exception_handler", "app/errors.py"), ("add_exception_handler", "app/errors.py")]


def test_an_app_handed_to_unknown_code_is_open() -> None:
    files = dict(PROJECT)
    files["app/main.py"] += (
        "from prometheus_fastapi_instrumentator import Instrumentator\nInstrumentator().instrument(app)\n"
    )
    graph = _graph(files)
    (app,) = graph.apps()
    assert graph.is_open(app)
    assert any("cannot follow" in reason for reason in graph.open_reasons(app))


def test_an_unresolvable_include_makes_the_app_open() -> None:
    graph = _graph(
        {
            "main.py": (
                "from fastapi import FastAPI\n"
                "from somewhere_else import router\n"
                "app = FastAPI()\n"
                "app.include_router(router)\n"
                "import uvicorn\n"
                "uvicorn.run(app)\n"
            )
        }
    )
    (app,) = graph.apps()
    assert graph.is_open(app)
    assert graph.open_reasons(app) == ["main.py:4: cannot resolve what include_router adds"]


def test_unannotated_helper_parameters_are_followed(tmp_path: Path) -> None:
    graph = _graph(
        {
            "svc/setup.py": "def add_probes(application):\n    application.add_api_route('/livez', lambda: {})\n",
            "svc/main.py": (
                "from fastapi import FastAPI\nfrom svc.setup import add_probes\napp = FastAPI()\nadd_probes(app)\n"
            ),
        }
    )
    (app,) = graph.apps()
    assert [path for path, _ in graph.routes(app)] == ["/livez"]
    assert not graph.is_open(app)


def test_routers_and_their_owner() -> None:
    graph = _graph(PROJECT)
    (app,) = graph.apps()
    assert sorted(r.name for r in graph.routers()) == ["health", "router"]
    for router in graph.routers():
        assert graph.owner_of(router) == [app]
