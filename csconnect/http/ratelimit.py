"""A thread-safe token bucket shared by all streams of one connection."""
from __future__ import annotations

import threading
import time
from typing import Callable


class RateLimiter:
    """Allow `rate` requests per second on average, in bursts of up to `burst`.

    acquire() reserves a token under a lock and sleeps outside it, so concurrent callers queue
    up fairly (each one's wait is computed from the reservations before it) and never hold the
    lock while sleeping. The bucket starts full.
    """

    def __init__(
        self,
        rate: float,
        burst: int = 1,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if not rate > 0:
            raise ValueError(f"rate must be a positive number of requests per second, not {rate!r}")
        if int(burst) < 1:
            raise ValueError(f"burst must be at least 1, not {burst!r}")
        self.rate = float(rate)
        self.burst = int(burst)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = float(self.burst)
        self._updated = clock()

    def acquire(self) -> None:
        """Take one token, sleeping until it is available."""
        with self._lock:
            now = self._clock()
            elapsed = max(0.0, now - self._updated)
            self._tokens = min(float(self.burst), self._tokens + elapsed * self.rate)
            self._updated = now
            self._tokens -= 1.0
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
