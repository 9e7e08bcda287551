"""Share faults and clean-up: dead coordinator, killed clients, killed owner, exit warnings.

Scripts run in a fresh interpreter (``subprocess.run``) where the test is about what happens
at interpreter exit, or when the classes must live in ``__main__``.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from suitkaise.processing import Share, ShareError

WAIT = 60.0


def _poll(condition: Any, timeout: float) -> bool:
    """Bounded poll for something another process does (no event to wait on)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return bool(condition())


def _kill_coordinator(share: Share) -> None:
    process = share._sk_process
    assert process is not None and process.pid is not None
    os.kill(process.pid, signal.SIGKILL)
    process.join(WAIT)


# --------------------------------------------------------------------------- workers


def blocked_on_lock(share: Share, ready: Any) -> None:
    """Exit 0 only if the dead coordinator turns a blocked call into a quick ShareError."""
    ready.set()
    started = time.monotonic()
    try:
        with share.lock():  # the creator holds it: this call waits in the coordinator
            os._exit(2)
    except ShareError:
        os._exit(0 if time.monotonic() - started < 20 else 3)
    os._exit(4)


def hold_lock_forever(share: Share, ready: Any) -> None:
    with share.lock():
        share.items.append("locked")
        ready.set()
        time.sleep(3600)  # killed by the test while holding the lock


def hammer(share: Share, ready: Any) -> None:
    i = 0
    while True:
        share.counter += 1
        share.items.append(i)
        i += 1
        if i == 50:
            ready.set()


# --------------------------------------------------------------------------- tests


def test_dead_coordinator_raises_share_error_at_once(start_method: str) -> None:
    share = Share(start_method=start_method)
    try:
        share.n = 1
        _kill_coordinator(share)
        started = time.monotonic()
        with pytest.raises(ShareError):
            share.n
        with pytest.raises(ShareError):
            share.n = 2
        with pytest.raises(ShareError):
            with share.lock():
                pass
        assert time.monotonic() - started < 5
    finally:
        share.stop()
    assert not os.path.exists(os.path.dirname(share._sk_client.address))


def test_dead_coordinator_wakes_a_blocked_client(start_method: str) -> None:
    ctx = multiprocessing.get_context(start_method)
    share = Share(start_method=start_method)
    ready = ctx.Event()
    child = ctx.Process(target=blocked_on_lock, args=(share, ready))
    try:
        with share.lock():
            child.start()
            assert ready.wait(WAIT)
            _kill_coordinator(share)
            child.join(WAIT)
        pytest.fail("releasing a lock of a dead coordinator must raise")  # pragma: no cover
    except ShareError:
        pass
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        share.stop()
    assert child.exitcode == 0


def test_client_killed_holding_the_lock_releases_it(start_method: str) -> None:
    ctx = multiprocessing.get_context(start_method)
    ready = ctx.Event()
    with Share(start_method=start_method) as share:
        share.items = []
        child = ctx.Process(target=hold_lock_forever, args=(share, ready))
        child.start()
        try:
            assert ready.wait(WAIT)
            child.kill()
            child.join(WAIT)
            with share.lock(timeout=20):  # the coordinator released the dead client's lock
                share.items.append("after")
            assert share.items == ["locked", "after"]
        finally:
            if child.is_alive():
                child.kill()
            child.join()


def test_client_killed_mid_operation_leaves_the_coordinator_consistent(start_method: str) -> None:
    ctx = multiprocessing.get_context(start_method)
    ready = ctx.Event()
    with Share(start_method=start_method) as share:
        share.counter = 0
        share.items = []
        children = [ctx.Process(target=hammer, args=(share, ready)) for _ in range(2)]
        for c in children:
            c.start()
        try:
            assert ready.wait(WAIT)
            for c in children:
                c.kill()
                c.join(WAIT)
        finally:
            for c in children:
                if c.is_alive():
                    c.kill()
                c.join()
        counter = share.counter
        items = list(share.items)
        assert isinstance(counter, int) and counter >= 50
        # each item appended once per completed loop; nothing torn or duplicated
        assert len(items) in (counter - 2, counter - 1, counter)
        share.counter += 1
        assert share.counter == counter + 1


def _run_script(tmp_path: Path, source: str, *args: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "share_script.py"
    script.write_text(textwrap.dedent(source))
    return subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )


def test_coordinator_exits_when_its_owner_is_killed(tmp_path: Path, start_method: str) -> None:
    result = _run_script(
        tmp_path,
        """
        import os, signal, sys
        from suitkaise.processing import Share

        if __name__ == "__main__":
            share = Share(start_method=sys.argv[1])
            share.n = 1
            print(share._sk_process.pid, os.path.dirname(share._sk_client.address), flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        """,
        start_method,
    )
    assert result.returncode == -signal.SIGKILL
    pid_text, directory = result.stdout.split()
    pid = int(pid_text)
    assert _poll(lambda: not psutil.pid_exists(pid) or _is_zombie(pid), 20)
    assert _poll(lambda: not os.path.exists(directory), 20)


def _is_zombie(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


MAIN_SCRIPT = """
import multiprocessing, os, sys
from suitkaise.processing import Share


class Tally:  # defined in __main__: carried by value to the coordinator
    def __init__(self):
        self.seen = []

    def add(self, who):
        self.seen.append(who)
        return len(self.seen)


def work(share, who):
    share.tally.add(who)
    share.count += 1


if __name__ == "__main__":
    method, stop = sys.argv[1], sys.argv[2] == "stop"
    ctx = multiprocessing.get_context(method)
    share = Share(start_method=method)
    share.tally = Tally()
    share.count = 0
    procs = [ctx.Process(target=work, args=(share, w)) for w in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    print(sorted(share.tally.seen), share.count, type(share.snapshot()["tally"]).__name__)
    print(share._sk_process.pid, os.path.dirname(share._sk_client.address))
    if stop:
        share.stop()
"""


@pytest.mark.parametrize("stop", ["stop", "no-stop"])
def test_main_classes_and_clean_exit(tmp_path: Path, start_method: str, stop: str) -> None:
    result = _run_script(tmp_path, MAIN_SCRIPT, start_method, stop)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "[0, 1, 2] 3 Tally"
    for bad in ("resource_tracker", "leaked", "Warning", "Traceback", "Exception"):
        assert bad not in result.stderr, result.stderr
    pid_text, directory = lines[1].split()
    assert _poll(lambda: not psutil.pid_exists(int(pid_text)) or _is_zombie(int(pid_text)), 20)
    assert not os.path.exists(directory)


def test_stop_does_not_wait_for_a_client_holding_the_lock(start_method: str) -> None:
    ctx = multiprocessing.get_context(start_method)
    ready = ctx.Event()
    share = Share(start_method=start_method)
    share.items = []
    child = ctx.Process(target=hold_lock_forever, args=(share, ready))
    child.start()
    try:
        assert ready.wait(WAIT)
        started = time.monotonic()
        share.stop()
        assert time.monotonic() - started < 10
        assert share._sk_process is not None and not share._sk_process.is_alive()
    finally:
        child.kill()
        child.join()


def test_ctrl_c_does_not_kill_the_coordinator() -> None:
    with Share() as share:
        share.n = 1
        process = share._sk_process
        assert process is not None and process.pid is not None
        os.kill(process.pid, signal.SIGINT)  # what a terminal's Ctrl-C sends to the group
        process.join(1.0)  # it would exit within this if SIGINT were not ignored
        assert process.is_alive()
        share.n += 1
        assert share.n == 2


def test_missing_main_guard_is_explained(tmp_path: Path) -> None:
    result = _run_script(
        tmp_path,
        """
        from suitkaise.processing import Share

        share = Share(start_method="spawn")  # no `if __name__ == "__main__":` guard
        share.stop()
        """,
    )
    assert result.returncode != 0
    assert "ShareError" in result.stderr
    assert "if __name__ == '__main__':" in result.stderr


def try_share_in_daemon(_: int) -> str:
    try:
        Share()
    except ShareError as exc:
        return str(exc)
    return "created"  # pragma: no cover - multiprocessing forbids it


def test_daemonic_process_gets_a_clear_error(start_method: str) -> None:
    with multiprocessing.get_context(start_method).Pool(1) as pool:  # daemonic workers
        message = pool.map(try_share_in_daemon, [0])[0]
    assert "daemonic" in message and "create it in the parent" in message
