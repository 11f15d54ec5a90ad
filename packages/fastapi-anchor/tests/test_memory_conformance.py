from collections.abc import AsyncIterator

import pytest

from fastapi_anchor.memory import MemoryStore
from fastapi_anchor.testing import SessionStoreSuite


class TestMemoryStore(SessionStoreSuite):
    @pytest.fixture
    async def store(self) -> AsyncIterator[MemoryStore]:
        yield MemoryStore()
