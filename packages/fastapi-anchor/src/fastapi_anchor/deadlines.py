"""`Deadlines`: a time limit for store calls, with one timer per event loop, not one per call.

`asyncio.timeout` arms a timer handle when a call starts and cancels it when the call ends.
On the hot path of a PostgreSQL store that is a measurable share of the CPU a session lookup
costs (a few microseconds of some 60), spent on calls that nearly always finish in time. A
`Deadlines` instead writes down when each call started; one timer, armed only while calls are
in flight, looks at them every quarter of the limit and cancels the late ones. A late call is
therefore cancelled between 1 and 1.25 times the limit after it started.
"""

from __future__ import annotations

import asyncio
from contextlib import AbstractContextManager, nullcontext
from time import monotonic
from types import TracebackType

__all__ = ["Deadlines", "call_limit"]

_CHECKS_PER_LIMIT = 4


class _Call:
    __slots__ = ("cancelling", "deadline", "expired")

    def __init__(self, deadline: float, cancelling: int) -> None:
        self.deadline = deadline
        self.cancelling = cancelling  # the task's pending cancellations when the call began
        self.expired = False


class Deadlines:
    """Cancel a call that runs longer than `seconds`; raise `TimeoutError` in it instead.

    Use it as `async with deadlines:` around each call, as `asyncio.timeout(seconds)`: the
    block's task is cancelled once the limit has passed, and the block raises `TimeoutError`
    (the task stays usable). A cancellation from elsewhere still raises `CancelledError`. One
    instance serves any number of concurrent tasks; one task may not nest two blocks of the
    same instance. Several event loops may use it one after the other (tests do), not at once.

    Args:
        seconds: The limit of each call.

    Raises:
        ValueError: `seconds` is not positive.
    """

    __slots__ = ("_calls", "_interval", "_loop", "_timer", "seconds")

    def __init__(self, seconds: float) -> None:
        if not seconds > 0:
            raise ValueError(f"seconds must be positive, got {seconds!r}")
        self.seconds = seconds
        self._interval = seconds / _CHECKS_PER_LIMIT
        self._calls: dict[asyncio.Task[object], _Call] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None

    @property
    def in_flight(self) -> int:
        """How many calls are inside a block now."""
        return len(self._calls)

    def __enter__(self) -> None:
        task = asyncio.current_task()
        if task is None:  # pragma: no cover - `async with` always runs in a task under asyncio
            raise RuntimeError("Deadlines must be used inside an asyncio task")
        loop = task.get_loop()
        if loop is not self._loop:  # a new event loop: what the old one held is gone
            self._loop, self._calls, self._timer = loop, {}, None
        if task in self._calls:
            raise RuntimeError("a task may not nest two blocks of the same Deadlines")
        self._calls[task] = _Call(monotonic() + self.seconds, task.cancelling())
        if self._timer is None:
            self._timer = loop.call_later(self._interval, self._check)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        task = asyncio.current_task()
        assert task is not None  # __aenter__ ran in this task
        call = self._calls.pop(task)
        if not call.expired:
            return
        # This block's timer cancelled the task: take that cancellation back, and report it
        # as a timeout unless someone else cancelled the task too.
        if task.uncancel() <= call.cancelling and exc_type is asyncio.CancelledError:
            raise TimeoutError(f"the call took longer than {self.seconds} s") from exc

    def _check(self) -> None:
        """The timer: cancel the tasks past their deadline; look again while calls remain."""
        if asyncio.get_running_loop() is not self._loop:
            return  # a timer left on an event loop this instance has moved away from
        self._timer = None
        now = monotonic()
        for task, call in self._calls.items():
            if not call.expired and call.deadline <= now:
                call.expired = True
                task.cancel()
        if self._calls:
            self._timer = asyncio.get_running_loop().call_later(self._interval, self._check)


_NO_LIMIT: AbstractContextManager[object] = nullcontext()  # stateless: one serves all


def call_limit(seconds: float | None) -> AbstractContextManager[object]:
    """A `Deadlines(seconds)` for a store's `timeout` option, or a block that sets no limit.

    Raises:
        ValueError: `seconds` is not positive.
    """
    return _NO_LIMIT if seconds is None else Deadlines(seconds)
