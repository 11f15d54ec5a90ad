"""The conformance suite every `SessionStore` must pass (needs `fastapi-anchor[testing]`).

    from fastapi_anchor.testing import SessionStoreSuite

    class TestMyStore(SessionStoreSuite):
        @pytest.fixture
        async def store(self):
            yield MyStore(...)   # fresh and empty for every test
"""

from fastapi_anchor.testing.suite import SessionStoreSuite

__all__ = ["SessionStoreSuite"]
