from collections.abc import Iterator

import pytest
from pf_eval import Server


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with Server() as running:
        yield running
