"""No Pydantic deprecation warning at import or while serving, as the instruction asks."""

import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from pf_eval import client_for, import_app


def _in_repo(filename: str) -> bool:
    return Path(filename).resolve().is_relative_to(Path.cwd().resolve()) and "_eval_checks" not in filename


def test_app_imports_with_warnings_as_errors() -> None:
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", "import app.main"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.anyio
async def test_serving_requests_warns_about_nothing_in_app_code() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        app = import_app()
        async with client_for(app) as client:
            created = await client.post("/products", json={"sku": "KTL-0002", "name": "kettle", "price": "39.00"})
            assert created.status_code == 201
            product_id = created.json()["id"]
            assert (await client.get(f"/products/{product_id}")).status_code == 200
            assert (await client.patch(f"/products/{product_id}", json={"price": 41})).status_code == 200
    ours = [f"{w.filename}:{w.lineno}: {w.message}" for w in caught if _in_repo(w.filename)]
    pydantic_warnings = [f"{w.category.__name__}: {w.message}" for w in caught if "pydantic" in w.category.__module__]
    assert not ours, "\n".join(ours)
    assert not pydantic_warnings, "\n".join(pydantic_warnings)
