"""Rate limiting of sign-in attempts per client address, inside one process.

The account lockout (gateway/workspace/accounts.py) stops guessing at one account; this stops
one address from spraying many accounts. Each gunicorn worker counts on its own, so the real
limit is ``limit`` times the workers: still far below what guessing needs.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta

MAX_TRACKED_ADDRESSES = 10_000


class SignInThrottle:
    def __init__(self, limit: int, window: timedelta, now: Callable[[], datetime]) -> None:
        self.limit = limit
        self.window = window
        self.now = now
        self._attempts: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()

    def allow(self, address: str) -> bool:
        """Count one attempt from ``address``; False once it made ``limit`` in the window."""
        moment = self.now()
        with self._lock:
            attempts = self._attempts.setdefault(address, deque())
            while attempts and attempts[0] <= moment - self.window:
                attempts.popleft()
            if len(attempts) >= self.limit:
                return False
            attempts.append(moment)
            if len(self._attempts) > MAX_TRACKED_ADDRESSES:
                self._forget_quiet(moment)
            return True

    def _forget_quiet(self, moment: datetime) -> None:
        for address in [a for a, times in self._attempts.items()
                        if not times or times[-1] <= moment - self.window]:
            del self._attempts[address]
