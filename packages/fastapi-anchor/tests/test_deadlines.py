"""`Deadlines`: late calls time out, calls in time and outside cancellations are left alone.

Each test runs on asyncio's own event loop and on uvloop (what uvicorn uses when installed).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
import uvloop

from fastapi_anchor.toolkit import Deadlines, call_limit

T = TypeVar("T")
LIMIT = 0.1  # seconds: short, since the tests wait for real time


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Callable[[Callable[[], Awaitable[T]]], T]:
    """Run a coroutine function to completion on a new event loop of the given kind."""

    def runner(main: Callable[[], Awaitable[T]]) -> T:
        async def wrapped() -> T:
            return await main()

        if request.param == "uvloop":
            return uvloop.run(wrapped())
        return asyncio.run(wrapped())

    return runner


def test_a_call_in_time_returns_its_result(run: Callable[..., object]) -> None:
    deadlines = Deadlines(LIMIT)

    async def main() -> str:
        with deadlines:
            await asyncio.sleep(0.01)
            assert deadlines.in_flight == 1
        assert deadlines.in_flight == 0
        return "done"

    assert run(main) == "done"


def test_a_late_call_raises_timeout_error_between_one_and_one_and_a_quarter_limits(
    run: Callable[..., object],
) -> None:
    deadlines = Deadlines(LIMIT)

    async def main() -> float:
        started = time.monotonic()
        with pytest.raises(TimeoutError, match=f"longer than {LIMIT} s"), deadlines:
            await asyncio.sleep(10)
        return time.monotonic() - started

    elapsed = run(main)
    assert isinstance(elapsed, float)
    assert LIMIT <= elapsed < LIMIT * 1.25 + 0.1


def test_the_task_goes_on_normally_after_a_timeout(run: Callable[..., object]) -> None:
    deadlines = Deadlines(LIMIT)

    async def main() -> int:
        with pytest.raises(TimeoutError), deadlines:
            await asyncio.sleep(10)
        task = asyncio.current_task()
        assert task is not None
        assert task.cancelling() == 0  # the timer's cancellation was taken back
        await asyncio.sleep(0.01)  # no stray CancelledError arrives later
        with deadlines:  # and the same task may run another call
            await asyncio.sleep(0.01)
        return deadlines.in_flight

    assert run(main) == 0


def test_only_the_late_calls_among_concurrent_ones_time_out(run: Callable[..., object]) -> None:
    deadlines = Deadlines(LIMIT)

    async def call(seconds: float) -> str:
        try:
            with deadlines:
                await asyncio.sleep(seconds)
        except TimeoutError:
            return "timed out"
        return "done"

    async def main() -> list[str]:
        durations = [0.0, 10, LIMIT / 10, 10, LIMIT / 5, 0.0]
        return list(await asyncio.gather(*(call(seconds) for seconds in durations)))

    assert run(main) == ["done", "timed out", "done", "timed out", "done", "done"]


def test_a_cancellation_from_elsewhere_stays_a_cancellation(run: Callable[..., object]) -> None:
    deadlines = Deadlines(LIMIT)

    async def main() -> bool:
        inside = asyncio.Event()

        async def call() -> None:
            with deadlines:
                inside.set()
                await asyncio.sleep(10)

        task = asyncio.ensure_future(call())
        await inside.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return deadlines.in_flight == 0

    assert run(main) is True


def test_a_timeout_and_an_outside_cancellation_together_stay_a_cancellation(
    run: Callable[..., object],
) -> None:
    """Cancelled by its caller at the moment it timed out: the caller's cancellation wins."""
    deadlines = Deadlines(LIMIT)

    async def main() -> bool:
        async def call() -> None:
            with deadlines:
                try:
                    await asyncio.sleep(10)
                except asyncio.CancelledError:  # the timer's; now the caller's comes too
                    task = asyncio.current_task()
                    assert task is not None
                    task.cancel()
                    raise

        with pytest.raises(asyncio.CancelledError):
            await asyncio.ensure_future(call())
        return True

    assert run(main) is True


def test_one_instance_serves_event_loops_one_after_the_other(run: Callable[..., object]) -> None:
    deadlines = Deadlines(LIMIT)

    async def late_call() -> bool:
        try:
            with deadlines:
                await asyncio.sleep(10)
        except TimeoutError:
            return True
        return False

    assert run(late_call) is True
    assert asyncio.run(late_call()) is True  # a second loop, the first one's timer gone
    assert uvloop.run(late_call()) is True


def test_nesting_in_one_task_is_refused(run: Callable[..., object]) -> None:
    deadlines = Deadlines(LIMIT)

    async def main() -> int:
        with deadlines, pytest.raises(RuntimeError, match="may not nest"), deadlines:
            pass
        return deadlines.in_flight

    assert run(main) == 0


@pytest.mark.parametrize("seconds", [0, -1, float("nan")])
def test_a_limit_that_is_not_positive_is_refused(seconds: float) -> None:
    with pytest.raises(ValueError, match="seconds must be positive"):
        Deadlines(seconds)


def test_no_timer_is_left_armed_once_calls_are_over(run: Callable[..., object]) -> None:
    """An idle instance holds no timer: the loop can close with nothing pending."""
    deadlines = Deadlines(LIMIT)

    async def main() -> bool:
        with deadlines:
            await asyncio.sleep(0)
        await asyncio.sleep(LIMIT)  # the timer fires once, sees no calls, and stays off
        return deadlines._timer is None

    assert run(main) is True


def test_call_limit_is_a_deadline_or_no_limit_at_all() -> None:
    """What a store's `timeout` option gives: `Deadlines(seconds)`, or nothing to enforce."""
    limited = call_limit(LIMIT)
    assert isinstance(limited, Deadlines)
    assert limited.seconds == LIMIT
    unlimited = call_limit(None)
    assert not isinstance(unlimited, Deadlines)
    with unlimited:  # enters and leaves without an event loop, as a no-op does
        pass
    with pytest.raises(ValueError, match="seconds must be positive"):
        call_limit(0)
