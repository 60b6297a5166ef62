"""Every setting, read in one place.

The environment is read only by :meth:`Settings.from_env`; everything else receives a
:class:`Settings` instance, so tests pass their own and nothing reads ``os.environ`` behind
their back.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

ENV_PREFIX = "KETENPOORT_"

PolicyEngineName = Literal["regopy", "opa"]
TaskMode = Literal["inprocess", "celery"]


class SettingsError(ValueError):
    """A setting has a value the gateway cannot run with."""


@dataclass(frozen=True)
class Settings:
    instance_path: Path = field(default_factory=lambda: Path("instance").resolve())
    database_url: str = ""
    issuer: str = "https://ketenpoort.local"
    audience: str = "ketenpoort"
    access_token_ttl_seconds: int = 900
    max_body_bytes: int = 1_048_576
    policy_engine: PolicyEngineName = "regopy"
    policies_path: Path = field(
        default_factory=lambda: Path(__file__).resolve().parent.parent / "policies"
    )
    opa_url: str = "http://127.0.0.1:8181"
    opa_timeout_seconds: float = 2.0
    task_mode: TaskMode = "inprocess"
    broker_url: str = "amqp://guest:guest@127.0.0.1:5672//"

    def __post_init__(self) -> None:
        if not self.database_url:
            object.__setattr__(
                self, "database_url", f"sqlite:///{self.instance_path / 'ketenpoort.sqlite3'}"
            )
        if self.policy_engine not in ("regopy", "opa"):
            raise SettingsError(
                f"policy_engine must be 'regopy' or 'opa', not {self.policy_engine!r}"
            )
        if self.task_mode not in ("inprocess", "celery"):
            raise SettingsError(
                f"task_mode must be 'inprocess' or 'celery', not {self.task_mode!r}"
            )
        if self.access_token_ttl_seconds <= 0 or self.max_body_bytes <= 0:
            raise SettingsError("access_token_ttl_seconds and max_body_bytes must be positive")

    @property
    def keyring_path(self) -> Path:
        return self.instance_path / "keyring.json"

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        converters: dict[str, Any] = {
            "instance_path": lambda v: Path(v).resolve(),
            "policies_path": lambda v: Path(v).resolve(),
            "access_token_ttl_seconds": int,
            "max_body_bytes": int,
            "opa_timeout_seconds": float,
        }
        aliases = {"instance_path": "INSTANCE"}
        for name in cls.__dataclass_fields__:
            key = ENV_PREFIX + aliases.get(name, name.upper())
            if key in env:
                try:
                    values[name] = converters.get(name, str)(env[key])
                except ValueError as exc:
                    raise SettingsError(f"{key}: {exc}") from exc
        return cls(**values)
