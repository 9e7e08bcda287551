"""Shared helpers for cerial tests: round trips in-process and through a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from suitkaise import cerial


def roundtrip(obj: Any, **kw: Any) -> Any:
    return cerial.deserialize(cerial.serialize(obj, **kw), **kw)


@pytest.fixture
def rt() -> Callable[..., Any]:
    """In-process round trip."""
    return roundtrip


def run_python(code: str, *, cwd: Path | None = None, timeout: float = 60) -> str:
    """Run ``code`` in a fresh interpreter; return its stdout (fail the test on error)."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )
    assert proc.returncode == 0, f"child failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.fixture
def in_child(tmp_path: Path) -> Callable[[bytes, str], str]:
    """Load a payload in a fresh interpreter and run ``check`` (which sees ``obj``) there."""

    def go(payload: bytes, check: str) -> str:
        f = tmp_path / "payload.bin"
        f.write_bytes(payload)
        code = (
            "from suitkaise import cerial\n"
            f"obj = cerial.deserialize(open({str(f)!r}, 'rb').read())\n" + textwrap.dedent(check)
        )
        return run_python(code, cwd=tmp_path)

    return go
