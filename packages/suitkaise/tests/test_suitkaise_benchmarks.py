"""Every benchmark script runs end to end at its quick size and prints a comparison table.

Benchmarks are not timed tests: this only checks that they work, so that `hatch run bench:all`
never breaks silently.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SCRIPTS = sorted(REPO.glob("packages/*/benchmarks/bench_*.py"))


def test_every_package_with_code_has_benchmarks() -> None:
    owners = {p.parts[-3] for p in SCRIPTS}
    assert {"cerial", "sktime", "processing"} <= owners, owners


@pytest.mark.timeout(240)
@pytest.mark.parametrize("script", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_benchmark_quick_run_prints_a_table(script: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, str(script), "--quick"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=200,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    table_rows = [line for line in done.stdout.splitlines() if line.startswith("|")]
    assert len(table_rows) >= 3, f"{script.name} printed no markdown table:\n{done.stdout}"
