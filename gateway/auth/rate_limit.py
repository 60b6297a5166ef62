"""Rate limits on the token endpoint: per client id and per source address.

Every token request costs the gateway a database lookup and, for a secret, an scrypt run
(tens of milliseconds of CPU on purpose); unlimited, it is a brute-force oracle and a cheap way
to exhaust the workers. Limits are kept in each gateway process's memory: with W workers an
address gets at most W times its limit, which still bounds guessing to a few per second where
scrypt alone allowed hundreds.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

#: Keys remembered at most; the least recently seen are forgotten first (random client ids
#: must not grow the table without bound).
MAX_TRACKED_KEYS = 10_000


@dataclass
class SlidingWindowLimit:
    """At most ``limit`` requests per key in any ``window_seconds``."""

    limit: int
    window_seconds: float
    now: Callable[[], datetime]
    _seen: OrderedDict[str, deque[float]] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def admit(self, key: str) -> int | None:
        """Count a request for ``key``: None when it may go on, else seconds until it may."""
        moment = self.now().timestamp()
        with self._lock:
            times = self._seen.pop(key, None) or deque()
            while times and times[0] <= moment - self.window_seconds:
                times.popleft()
            self._seen[key] = times
            if len(self._seen) > MAX_TRACKED_KEYS:
                self._seen.popitem(last=False)
            if len(times) >= self.limit:
                return max(1, math.ceil(times[0] + self.window_seconds - moment))
            times.append(moment)
            return None


@dataclass
class TokenRequestLimits:
    per_client: SlidingWindowLimit
    per_address: SlidingWindowLimit

    def retry_after(self, address: str, client_id: str | None) -> int | None:
        """None when a token request from ``address`` for ``client_id`` may be handled."""
        waits = [self.per_address.admit(address)]
        if client_id:
            waits.append(self.per_client.admit(client_id))
        refused = [wait for wait in waits if wait is not None]
        return max(refused) if refused else None
