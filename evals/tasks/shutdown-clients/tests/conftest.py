from collections.abc import Iterator

import pytest
from pf_eval import FakeUpstream


@pytest.fixture
def webhook() -> Iterator[FakeUpstream]:
    with FakeUpstream({}) as fake:
        yield fake
