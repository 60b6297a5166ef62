"""Every benchmark script still runs against the gateway's code (at the smallest sizes).

The scripts are not imported by the gateway, so nothing else notices when an interface they
call changes; a run on a quiet machine is then lost to a traceback.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.run import module_commands, run_module


@pytest.mark.parametrize("name", sorted(module_commands("smoke", "", Path())))
def test_the_benchmark_script_runs_to_its_end(name: str, tmp_path: Path) -> None:
    command = module_commands("smoke", f"sqlite:///{tmp_path / 'bench.sqlite3'}", tmp_path)[name]
    result = run_module(name, command)
    assert result["returncode"] == 0, result["error"]
    assert result["output"], "a benchmark that prints nothing measured nothing"
