"""Hot reload: a running gateway follows the policies tree on disk, without a restart.

At most every ``interval`` seconds a decision first stats the tree (file list, sizes, mtimes,
inodes: a few ``stat`` calls). Only when that fingerprint changed is the tree loaded, checked
and hashed in full; a new hash gets a freshly compiled engine and an empty decision cache, and
both replace the old ones in one assignment, so a decision never mixes two bundles. File times
are coarse (a clock tick), so a same-size rewrite within one tick keeps the fingerprint: one
with a file younger than :data:`SETTLE_SECONDS` is not trusted, and the next check loads the
tree in full again.

Fail safe: a tree that does not load, or whose Rego does not compile, is never switched to.
The gateway keeps deciding with the last good bundle, logs every problem and reports the
failure (see :meth:`ReloadingPolicyService.reload_status`) until a good tree appears.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from gateway.policy.covenants import CovenantError, PolicyBundle
from gateway.policy.interfaces import Decision, DecisionRequest, PolicyEngine, PolicyEngineError
from gateway.policy.services import PolicyService, engine_for
from gateway.settings import Settings

logger = logging.getLogger(__name__)

Fingerprint = tuple[tuple[str, int, int, int], ...]
SETTLE_SECONDS = 2


@dataclass(frozen=True)
class _Active:
    """A bundle and the service deciding with it; replaced whole, never changed in place."""

    bundle: PolicyBundle
    service: PolicyService


@dataclass(frozen=True)
class ReloadFailure:
    problems: int
    since: datetime


class ReloadingPolicyService:
    """A :class:`PolicyService` over the current bundle of ``policies_path``.

    ``build_engine`` makes the engine for a bundle (it compiles, so a broken Rego module fails
    there). The constructor loads the tree and raises :class:`CovenantError` when it does not
    load: a gateway never starts without a sound policy.
    """

    def __init__(
        self,
        policies_path: Path,
        build_engine: Callable[[PolicyBundle], PolicyEngine],
        interval_seconds: float,
        *,
        now: Callable[[], datetime],
        cache_size: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._path = policies_path
        self._build_engine = build_engine
        self._interval = interval_seconds
        self._cache_size = cache_size
        self._clock = clock
        self._now = now
        self._fingerprint: Fingerprint | None = _trusted(tree_fingerprint(policies_path))
        self._active = self._activate(PolicyBundle.load(policies_path))
        self._checked_at = clock()
        self._failure: ReloadFailure | None = None
        self._reload_lock = threading.Lock()

    @classmethod
    def from_settings(
        cls, settings: Settings, now: Callable[[], datetime]
    ) -> ReloadingPolicyService:
        return cls(
            settings.policies_path,
            lambda bundle: engine_for(settings, bundle),
            settings.policy_reload_seconds,
            now=now,
        )

    @property
    def bundle(self) -> PolicyBundle:
        self.refresh()
        return self._active.bundle

    def decide(self, request: DecisionRequest) -> Decision:
        self.refresh()
        return self._active.service.decide(request)

    def probe(self, request: DecisionRequest) -> Decision:
        """The current engine's decision, uncached (see :meth:`PolicyService.probe`)."""
        self.refresh()
        return self._active.service.probe(request)

    def evaluate(self, entrypoint: str, input: dict[str, Any]) -> tuple[str, Any]:
        """Another entrypoint of the current bundle (see :meth:`PolicyService.evaluate`)."""
        self.refresh()
        return self._active.service.evaluate(entrypoint, input)

    def reload_status(self) -> dict[str, Any]:
        """For /readyz: the bundle in use and, when the tree on disk does not load, since when."""
        status: dict[str, Any] = {"bundle_hash": self._active.bundle.hash}
        failure = self._failure
        if failure is not None:
            status["reload_failed"] = {
                "problems": failure.problems,
                "since": failure.since.isoformat(),
                "detail": "the policies on disk do not load (see the gateway log); "
                "still deciding with the last good bundle",
            }
        return status

    def refresh(self) -> None:
        """Reload when the tree changed and the interval has passed; cheap otherwise."""
        if self._clock() - self._checked_at < self._interval:
            return
        # One thread checks; the others go on deciding with the current bundle meanwhile.
        if not self._reload_lock.acquire(blocking=False):
            return
        try:
            self._checked_at = self._clock()
            self._reload_if_changed()
        finally:
            self._reload_lock.release()

    def _reload_if_changed(self) -> None:
        try:
            fingerprint = tree_fingerprint(self._path)
        except OSError as error:
            self._fail([f"{self._path}: cannot read: {error}"])
            return
        if fingerprint == self._fingerprint:
            return
        self._fingerprint = _trusted(fingerprint)
        try:
            bundle = PolicyBundle.load(self._path)
            active = self._active if bundle.hash == self._active.bundle.hash else (
                self._activate(bundle)
            )
        except CovenantError as error:
            self._fail(error.messages)
            return
        except PolicyEngineError as error:
            self._fail([str(error)])
            return
        if active is not self._active:
            logger.warning(
                "policy bundle %s replaced by %s", self._active.bundle.hash, bundle.hash
            )
        self._active = active
        self._failure = None

    def _activate(self, bundle: PolicyBundle) -> _Active:
        service = PolicyService(self._build_engine(bundle), cache_size=self._cache_size)
        return _Active(bundle, service)

    def _fail(self, problems: list[str]) -> None:
        logger.error(
            "the policies at %s do not load; still deciding with bundle %s:\n%s",
            self._path, self._active.bundle.hash, "\n".join(problems),
        )
        since = self._now() if self._failure is None else self._failure.since
        self._failure = ReloadFailure(problems=len(problems), since=since)


def _trusted(fingerprint: Fingerprint) -> Fingerprint | None:
    """``fingerprint``, or ``None`` while a file is so young that a rewrite could hide in it."""
    settled_before = time.time_ns() - SETTLE_SECONDS * 1_000_000_000
    return fingerprint if all(mtime < settled_before for _, mtime, _, _ in fingerprint) else None


def tree_fingerprint(path: Path) -> Fingerprint:
    """What changes whenever a file under ``path`` is added, removed, rewritten or replaced."""
    entries = []
    for file in sorted(path.rglob("*")):
        if file.is_file():
            stat = file.stat()
            entries.append(
                (file.relative_to(path).as_posix(), stat.st_mtime_ns, stat.st_size, stat.st_ino)
            )
    if not entries and not path.is_dir():
        raise FileNotFoundError(f"no policies directory at {path}")
    return tuple(entries)
