from collections.abc import Iterator

import pytest
from pf_eval import FakeUpstream


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream({"symbol": "ANY", "price": 2.0}) as fake:
        yield fake
