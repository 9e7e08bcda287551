"""Shared fixtures for the processing tests.

* ``start_method``: every test that takes it runs under fork, forkserver and spawn.
* ``no_leaked_children`` (autouse): fails a test that leaves a child process running.
"""

from __future__ import annotations

import multiprocessing
import time

import psutil
import pytest

START_METHODS = ["fork", "forkserver", "spawn"]


@pytest.fixture(params=START_METHODS)
def start_method(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _children() -> set[int]:
    me = psutil.Process()
    found = set()
    for child in me.children(recursive=True):
        try:
            # forkserver and resource tracker helpers belong to multiprocessing itself
            # and live for the whole test session.
            cmdline = " ".join(child.cmdline())
        except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            continue
        if "forkserver" in cmdline or "resource_tracker" in cmdline:
            continue
        found.add(child.pid)
    return found


@pytest.fixture(autouse=True)
def no_leaked_children() -> object:
    before = _children()
    yield
    deadline = time.monotonic() + 10.0
    leaked = _children() - before
    while leaked and time.monotonic() < deadline:
        time.sleep(0.05)  # bounded poll: children that were told to exit get a moment to go
        leaked = _children() - before
    for pid in leaked:
        try:
            psutil.Process(pid).kill()
        except psutil.NoSuchProcess:
            pass
    assert not leaked, f"test left child processes running: {sorted(leaked)}"


def mp_context(method: str) -> multiprocessing.context.BaseContext:
    return multiprocessing.get_context(method)
