"""An overall time limit for one stage of a job, so a stalled stage cannot hold the lock for ever.

`deadline(seconds)` arms a real-time interval timer; when it fires, `StageTimedOut` is raised in
the main thread wherever the stage is (waiting on a socket, on worker threads, in a loop). It
derives from BaseException so the stage's own `except Exception` handlers (a scrape that goes
on to its next listing, for one) cannot swallow it. Outside the main thread, or where there is
no SIGALRM, the limit is not armed and the stage runs unbounded (the per-request timeouts
still hold).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class StageTimedOut(BaseException):
    """The stage ran past its deadline."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"stopped after its deadline of {seconds:g} s (--stage-timeout)")
        self.seconds = seconds


@contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Raise `StageTimedOut` in the body once `seconds` have passed (None: no limit)."""
    usable = (
        seconds is not None
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable or seconds is None:
        yield
        return

    def fire(_signum: int, _frame: FrameType | None) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        raise StageTimedOut(seconds)

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
