"""Progress of long CLI operations (backup, export, verify, retention) on stderr.

Drawn only when stderr is a terminal: in a job, a pipe or a log collector the output stays one
result line (and JSON logs), with no carriage returns in between.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

#: (stage, done, total): a step of ``stage`` advanced to ``done`` of ``total``.
Progress = Callable[[str, int, int], None]


def no_progress(_stage: str, _done: int, _total: int) -> None:
    """Nothing is shown: not a terminal."""


def terminal_progress(stream: TextIO | None = None) -> Progress:
    """A progress line on ``stream`` (stderr) when it is a terminal, else nothing."""
    out = sys.stderr if stream is None else stream
    if not out.isatty():
        return no_progress

    def show(stage: str, done: int, total: int) -> None:
        percent = 100 if total <= 0 else min(100, done * 100 // total)
        end = "\n" if done >= total else ""
        out.write(f"\r{stage}: {percent:3d}% ({done}/{total}){end}")
        out.flush()

    return show
