"""The embedded engine: the policy bundle compiled once by regopy, evaluated in-process."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import regopy

from gateway.policy.covenants import PolicyBundle
from gateway.policy.interfaces import ENTRYPOINT, ENTRYPOINTS, PolicyEngineError, PolicyUndefined


class RegopyEngine:
    """Evaluates :data:`ENTRYPOINT` (or another of :data:`ENTRYPOINTS`) with rego-cpp.

    The compiled bundle is shared; an ``Interpreter`` is not thread-safe, so every thread gets
    its own, created on first use.
    """

    def __init__(self, bundle: PolicyBundle) -> None:
        self._bundle_hash = bundle.hash
        self._compiled = _compile(bundle)
        self._local = threading.local()
        self._check_evaluates()

    @property
    def bundle_hash(self) -> str:
        return self._bundle_hash

    def evaluate(self, input: dict[str, Any], entrypoint: str = ENTRYPOINT) -> Any:
        if entrypoint not in ENTRYPOINTS:
            raise PolicyUndefined(f"{entrypoint} is not an entrypoint of the bundle")
        interpreter = self._interpreter()
        try:
            interpreter.set_input(regopy.Input(input))
            output = interpreter.query_bundle_entrypoint(self._compiled, entrypoint)
        except (regopy.RegoError, ValueError, TypeError) as error:
            # ValueError covers regopy failing to parse its own output as JSON.
            raise PolicyEngineError(f"regopy could not evaluate {entrypoint}: {error}") from error
        if not output.ok():
            raise PolicyEngineError(f"regopy could not evaluate {entrypoint}: {output}")
        if not output.results or not output.results[0].expressions:
            raise PolicyUndefined(f"{entrypoint} is undefined for this input")
        return output.results[0].expressions[0]

    def _check_evaluates(self) -> None:
        """Refuse a bundle that compiles but cannot evaluate, as OPA refuses it when loading.

        regopy builds a bundle that calls a function no module defines (say, with the shared
        ``ketenpoort.lib`` missing) and fails only when evaluating it. An entrypoint without a
        value for the empty input is no such failure.
        """
        for entrypoint in ENTRYPOINTS:
            with contextlib.suppress(PolicyUndefined):
                self.evaluate({}, entrypoint)

    def _interpreter(self) -> Any:
        interpreter = getattr(self._local, "interpreter", None)
        if interpreter is None:
            interpreter = regopy.Interpreter()
            self._local.interpreter = interpreter
        return interpreter


def _compile(bundle: PolicyBundle) -> Any:
    builder = regopy.Interpreter()
    try:
        builder.add_data(bundle.data)
        for name, source in bundle.modules.items():
            builder.add_module(name, source)
        compiled = builder.build(None, list(ENTRYPOINTS))
    except regopy.RegoError as error:
        raise PolicyEngineError(f"regopy could not compile the policy bundle: {error}") from error
    if not compiled.ok():
        raise PolicyEngineError("regopy could not compile the policy bundle")
    return compiled
