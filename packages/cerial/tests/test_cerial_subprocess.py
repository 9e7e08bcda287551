"""The real contract: one payload with many families, loaded by a fresh interpreter."""

from __future__ import annotations

import collections
import io
import logging
import queue
import re
import sys
import threading

from suitkaise import cerial


def test_kitchen_sink_in_fresh_interpreter(tmp_path, in_child) -> None:
    class Inventory:  # local: travels by value, the child has no such class
        def __init__(self) -> None:
            self.items = collections.defaultdict(lambda: 0)
            self.lock = threading.Lock()
            self.rlock = threading.RLock()
            self.ready = threading.Event()
            self.sem = threading.Semaphore(5)
            self.jobs: queue.Queue = queue.Queue()
            self.pattern = re.compile(r"(?P<sku>[A-Z]{3})-(\d+)")
            self.match = self.pattern.search("order ABC-42 now")
            self.buffer = io.StringIO("hello")
            self.log = logging.getLogger("inventory.child")
            self.error: BaseException | None = None

        @property
        def total(self) -> int:
            return sum(self.items.values())

    inv = Inventory()
    inv.items["apple"] += 3
    inv.lock.acquire()
    inv.rlock.acquire()
    inv.ready.set()
    inv.sem.acquire()
    inv.jobs.put("job-1")
    inv.buffer.seek(2)
    inv.log.setLevel(logging.ERROR)
    try:
        try:
            raise KeyError("missing")
        except KeyError as e:
            raise RuntimeError("lookup failed") from e
    except RuntimeError as e:
        inv.error = e
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    inv.log.addHandler(handler)
    try:
        payload = cerial.serialize(inv, key=b"sink")
    finally:
        inv.log.removeHandler(handler)
    (tmp_path / "signed.bin").write_bytes(payload)
    check = f"""
from suitkaise import cerial
inv = cerial.deserialize(open({str(tmp_path / "signed.bin")!r}, 'rb').read(), key=b"sink")
print(inv.total, inv.items["pear"], inv.lock.locked(), inv.rlock._is_owned(), inv.ready.is_set())
print(inv.sem._value, inv.jobs.get_nowait(), inv.match.group("sku"), inv.buffer.read())
print(type(inv.error).__name__, inv.error.args, type(inv.error.__cause__).__name__)
print("test_kitchen_sink_in_fresh_interpreter" in inv.error.__cerial_traceback__)
inv.log.warning("hidden")
inv.log.error("shown")
"""
    # the payload is signed: load it from a script instead of the unsigned fixture helper
    out = in_child(cerial.serialize(None), check).splitlines()
    assert out == [
        "3 0 True True True",
        "4 job-1 ABC llo",
        "RuntimeError ('lookup failed',) KeyError",
        "True",
        "ERROR shown",
    ]
