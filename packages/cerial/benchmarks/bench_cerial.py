"""Benchmark: suitkaise.cerial vs pickle, cloudpickle and dill, side by side in one run.

Round-trip time (serialize + deserialize, best of N) and payload size on plain nested data,
10k dataclass instances, a 50 MB bytes object, a numpy array (if installed) and a "hard
object"; then a coverage count over ~45 type families (a family counts as handled when the
round trip succeeds and the result passes a behaviour check).

Run: python packages/cerial/benchmarks/bench_cerial.py [--quick]
"""

from __future__ import annotations

import argparse
import collections
import contextvars
import dataclasses
import enum
import functools
import hmac
import io
import logging
import mmap
import os
import pickle
import platform
import queue
import re
import socket
import sqlite3
import sys
import tempfile
import threading
import time
import tracemalloc
import warnings
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

import cloudpickle

from suitkaise import cerial

try:
    import dill
except ImportError:  # pragma: no cover
    dill = None
try:
    import numpy as np
except ImportError:  # pragma: no cover
    np = None

Dumps = Callable[[Any], bytes]
Loads = Callable[[bytes], Any]

PEERS: dict[str, tuple[Dumps, Loads]] = {
    "pickle": (lambda o: pickle.dumps(o, protocol=5), pickle.loads),
    "cloudpickle": (lambda o: cloudpickle.dumps(o, protocol=5), cloudpickle.loads),
}
if dill is not None:
    PEERS["dill"] = (lambda o: dill.dumps(o, protocol=5), dill.loads)
PEERS["cerial"] = (cerial.serialize, cerial.deserialize)


@dataclasses.dataclass
class Record:
    id: int
    name: str
    score: float
    tags: list[str]


class Pt(NamedTuple):
    x: int
    y: int


class Color(enum.Enum):
    RED = 1


class Slots:
    __slots__ = ("a",)

    def __init__(self) -> None:
        self.a = 1


def top_level(x: int) -> int:
    return x + 1


class Methods:
    def __init__(self) -> None:
        self.v = 3

    def get(self) -> int:
        return self.v

    @staticmethod
    def st() -> int:
        return 4


# ------------------------------------------------------------------------------------------
# timing


def nested_data() -> dict[str, Any]:
    return {
        f"key{i}": [i, str(i) * 3, i * 0.5, {"n": i, "t": (i, None, True)}, b"bytes"]
        for i in range(10_000)
    }


def hard_object(tmp: str) -> tuple[Any, list[Any]]:
    lock = threading.Lock()
    lock.acquire()
    logger = logging.getLogger("bench.hard")
    logger.setLevel(logging.INFO)
    path = os.path.join(tmp, "hard.txt")
    with open(path, "w") as f:
        f.write("line\n" * 10)
    fh = open(path)  # noqa: SIM115
    fh.readline()
    factor = 3

    def closure(x: int) -> int:
        return x * factor

    class Local:
        def __init__(self) -> None:
            self.v = 1

    obj: dict[str, Any] = {
        "lock": lock,
        "rlock": threading.RLock(),
        "event": threading.Event(),
        "logger": logger,
        "file": fh,
        "regex": re.compile(r"\d+"),
        "lambda": lambda x: x + 1,
        "closure": closure,
        "local": Local(),
    }
    obj["cycle"] = obj
    return obj, [fh]


def best_of(fn: Callable[[], Any], repeats: int, inner: int = 1) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        best = min(best, (time.perf_counter() - t0) / inner)
    return best


def fmt_time(s: float) -> str:
    if s < 1e-5:
        return f"{s * 1e6:.1f} µs"
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s < 1:
        return f"{s * 1e3:.1f} ms"
    return f"{s:.2f} s"


def fmt_size(n: int) -> str:
    if n < 10_000:
        return f"{n} B"
    if n < 10_000_000:
        return f"{n / 1e3:.0f} kB"
    return f"{n / 1e6:.1f} MB"


def run_timing(quick: bool, tmp: str) -> None:
    big = 10_000_000 if quick else 50_000_000
    message = {"op": "result", "task": 17, "value": [1.5, "ok", None]}
    cases: list[tuple[str, Any, int]] = [
        ("small message (dict of 3 keys)", message, 5),
        ("nested dict, 10k mixed entries", nested_data(), 3 if quick else 15),
        (
            "10k dataclass instances",
            [Record(i, f"n{i}", i / 3, ["a", "b"]) for i in range(10_000)],
            3 if quick else 15,
        ),
        (f"{big // 1_000_000} MB bytes", os.urandom(big), 2 if quick else 5),
    ]
    if np is not None:
        n = 1_000_000 if quick else 4_000_000
        cases.append((f"numpy float64[{n:,}]", np.arange(n, dtype=np.float64), 2 if quick else 7))
    hard, to_close = hard_object(tmp)
    cases.append(
        (
            "hard object (locks, logger, file, regex, lambda, closure, local class, cycle)",
            hard,
            3 if quick else 15,
        )
    )
    names = list(PEERS)
    time_rows: list[list[str]] = []
    size_rows: list[list[str]] = []
    for label, obj, repeats in cases:
        times: dict[str, float | None] = {}
        sizes: dict[str, int | None] = {}
        working = []
        for name, (dumps, loads) in PEERS.items():
            try:
                data = dumps(obj)
                loads(data)
            except Exception:
                times[name] = sizes[name] = None
                continue
            sizes[name] = len(data)
            times[name] = float("inf")
            working.append(name)
        inner = 2000 if obj is message else 1
        # round-robin repeats: on a busy machine, noise then hits every peer alike
        for _ in range(repeats):
            for name in working:
                dumps, loads = PEERS[name]
                t = best_of(lambda d=dumps, lo=loads, o=obj: lo(d(o)), 1, inner)
                times[name] = min(times[name] or t, t)
        base_t, base_s = times[names[0]], sizes[names[0]]
        trow, srow = [label], [label]
        for name in names:
            t, s = times[name], sizes[name]
            if t is None or s is None:
                trow.append("fails")
                srow.append("fails")
                continue
            trow.append(fmt_time(t) + (f" ({t / base_t:.2f}x)" if base_t else ""))
            srow.append(fmt_size(s) + (f" ({s / base_s:.2f}x)" if base_s else ""))
        ct, cc = times.get("cerial"), times.get("cloudpickle")
        trow.append(f"{ct / cc:.2f}x" if ct and cc else "-")
        dt = times.get("dill")
        trow.append(f"{ct / dt:.2f}x" if ct and dt else "-")
        time_rows.append(trow)
        size_rows.append(srow)
    for f in to_close:
        f.close()
    print("### Round trip (serialize + deserialize), best of N; ratio to pickle\n")
    print_table(["case", *names, "ratio cerial/cloudpickle", "ratio cerial/dill"], time_rows)
    print("\n### Payload size; ratio to pickle\n")
    print_table(["case", *names], size_rows)
    print("\n### Peak memory while serializing the large bytes object (tracemalloc)\n")
    blob = os.urandom(big)
    rows = []
    for name, (dumps, _) in PEERS.items():
        tracemalloc.start()
        out = dumps(blob)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        del out
        rows.append([name, f"{peak / 1e6:.0f} MB", f"{peak / big:.2f}x the payload"])
    print_table(["serializer", "peak", "ratio"], rows)


def run_small_signed(quick: bool) -> None:
    """Small messages signed with a key: what processing sends between processes."""
    key = os.urandom(32)

    def signed(dumps: Dumps, loads: Loads) -> Callable[[Any], Any]:
        def roundtrip(obj: Any) -> Any:
            data = dumps(obj)
            payload = hmac.digest(key, data, "sha256") + data
            if not hmac.compare_digest(payload[:32], hmac.digest(key, payload[32:], "sha256")):
                raise ValueError("bad signature")
            return loads(payload[32:])

        return roundtrip

    peers: dict[str, Callable[[Any], Any]] = {
        name: signed(*PEERS[name]) for name in PEERS if name != "cerial"
    }
    peers["cerial (key=)"] = lambda o: cerial.deserialize(cerial.serialize(o, key=key), key=key)
    cases = [
        ("dict of 3 keys (66 B pickled)", {"op": "result", "task": 17, "value": [1.5, "ok", None]}),
        (
            "call message (~200 B pickled)",
            {
                "op": "call",
                "args": [list(range(20)), {"a": "x" * 50, "b": (1.0, 2.0)}],
                "id": 123456,
                "name": "worker-3",
            },
        ),
    ]
    names = list(peers)
    rows = []
    for label, obj in cases:
        times = dict.fromkeys(names, float("inf"))
        for _ in range(3 if quick else 9):  # round-robin: noise hits every peer alike
            for name, fn in peers.items():
                times[name] = min(times[name], best_of(lambda f=fn, o=obj: f(o), 1, 2000))
        base = times[names[0]]
        rows.append(
            [label]
            + [f"{times[n] * 1e6:.1f} µs ({times[n] / base:.2f}x)" for n in names]
            + [f"{times['cerial (key=)'] / times['cloudpickle']:.2f}x"]
        )
    print("\n### Small messages signed with a key (HMAC-SHA256), round trip; ratio to pickle\n")
    print("Peers sign with `hmac.digest(key, data, 'sha256')` and verify with `compare_digest`.\n")
    print_table(
        ["message", *[f"{n} + HMAC" for n in names[:-1]], names[-1], "cerial/cloudpickle"], rows
    )


def print_table(header: list[str], rows: list[list[str]]) -> None:
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


# ------------------------------------------------------------------------------------------
# coverage


def families(tmp: str) -> list[tuple[str, Callable[[], Any], Callable[[Any], bool]]]:
    def file_r():
        p = os.path.join(tmp, "r.txt")
        with open(p, "w") as f:
            f.write("a\nb\n")
        f = open(p)  # noqa: SIM115
        f.readline()
        return f

    def file_w():
        return open(os.path.join(tmp, "w.txt"), "w")

    def locked():
        lk = threading.Lock()
        lk.acquire()
        return lk

    def closure():
        n = 5
        return lambda: n

    def local_instance():
        class Local:
            def __init__(self):
                self.v = 2

            def twice(self):
                return self.v * 2

        return Local()

    def cycle():
        d: dict = {}
        d["d"] = d
        return d

    def exc_with_cause():
        try:
            try:
                raise KeyError("k")
            except KeyError as e:
                raise ValueError("v") from e
        except ValueError as e:
            return e

    def tb():
        try:
            raise ValueError("x")
        except ValueError as e:
            return e.__traceback__

    def match():
        return re.search(r"(\d+)", "ab12cd")

    def cvar():
        return contextvars.ContextVar("cv", default=1)

    class Target:
        pass

    target = Target()

    def logger():
        lg = logging.getLogger("bench.cov")
        lg.setLevel(logging.WARNING)
        return lg

    def server_sock():
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        return s

    def sqlite_mem():
        c = sqlite3.connect(":memory:")
        c.execute("create table t (x)")
        c.execute("insert into t values (1)")
        return c

    def q():
        qq: queue.Queue = queue.Queue()
        qq.put(1)
        return qq

    def sq():
        qq: queue.SimpleQueue = queue.SimpleQueue()
        qq.put(1)
        return qq

    def sem():
        s = threading.Semaphore(2)
        s.acquire()
        return s

    def ev():
        e = threading.Event()
        e.set()
        return e

    def mm():
        m = mmap.mmap(-1, 8)
        m.write(b"abc")
        return m

    def ntf():
        t = tempfile.NamedTemporaryFile("w+", dir=tmp, delete=False)  # noqa: SIM115
        t.write("x")
        t.flush()
        return t

    def revive(o: Any) -> Any:
        return cerial.reconnect_all(o) if isinstance(o, cerial.Reconnector) else o

    return [
        ("scalars", lambda: [1, 2.5, "s", b"b", None, 3j], lambda o: o[1] == 2.5),
        (
            "nested containers",
            lambda: {"a": [(1, {2})], "b": frozenset([1])},
            lambda o: o["a"][0][1] == {2},
        ),
        ("cycles", cycle, lambda o: o["d"] is o),
        ("namedtuple", lambda: Pt(1, 2), lambda o: o.y == 2),
        ("dataclass", lambda: Record(1, "a", 1.0, []), lambda o: o.name == "a"),
        ("enum", lambda: Color.RED, lambda o: o.value == 1),
        ("__slots__ class", Slots, lambda o: o.a == 1),
        ("defaultdict(lambda)", lambda: collections.defaultdict(lambda: 0), lambda o: o["x"] == 0),
        (
            "deque holding a lock",
            lambda: collections.deque([threading.Lock()]),
            lambda o: not o[0].locked(),
        ),
        ("module-level function", lambda: top_level, lambda o: o(1) == 2),
        ("lambda", lambda: lambda x: x * 2, lambda o: o(2) == 4),
        ("closure", closure, lambda o: o() == 5),
        ("functools.partial", lambda: functools.partial(top_level, 1), lambda o: o() == 2),
        ("bound method", lambda: Methods().get, lambda o: o() == 3),
        ("staticmethod", lambda: Methods.st, lambda o: o() == 4),
        ("local class instance", local_instance, lambda o: o.twice() == 4),
        ("module", lambda: re, lambda o: o.compile("a").match("a") is not None),
        ("threading.Lock (held)", locked, lambda o: o.locked()),
        ("threading.RLock", threading.RLock, lambda o: o.acquire(blocking=False)),
        ("threading.Semaphore", sem, lambda o: o._value == 1),
        ("threading.Event (set)", ev, lambda o: o.is_set()),
        ("threading.Condition", threading.Condition, lambda o: isinstance(o, threading.Condition)),
        ("threading.Barrier", lambda: threading.Barrier(2), lambda o: o.parties == 2),
        ("threading.local", threading.local, lambda o: isinstance(o, threading.local)),
        ("queue.Queue with items", q, lambda o: o.get_nowait() == 1),
        ("queue.SimpleQueue", sq, lambda o: o.get_nowait() == 1),
        ("logging.Logger", logger, lambda o: o.name == "bench.cov" and o.level == logging.WARNING),
        (
            "logging.StreamHandler",
            lambda: logging.StreamHandler(sys.stderr),
            lambda o: o.stream is sys.stderr,
        ),
        (
            "logging.FileHandler",
            lambda: logging.FileHandler(os.path.join(tmp, "l.log"), delay=True),
            lambda o: o.baseFilename.endswith("l.log"),
        ),
        ("file opened for reading", file_r, lambda o: o.read() == "b\n"),
        ("file opened for writing", file_w, lambda o: o.writable()),
        ("io.StringIO", lambda: io.StringIO("abc"), lambda o: o.read() == "abc"),
        ("NamedTemporaryFile", ntf, lambda o: os.path.exists(o.name)),
        ("mmap", mm, lambda o: o[:3] == b"abc"),
        ("re.Pattern", lambda: re.compile(r"\w+", re.I), lambda o: o.flags & re.I),
        ("re.Match", match, lambda o: o.group(1) == "12"),
        ("contextvars.ContextVar", cvar, lambda o: o.get() == 1),
        ("weakref.ref", lambda: [target, weakref.ref(target)], lambda o: o[1]() is o[0]),
        ("memoryview", lambda: memoryview(b"abc"), lambda o: bytes(o) == b"abc"),
        ("code object", lambda: top_level.__code__, lambda o: o.co_name == "top_level"),
        ("traceback", tb, lambda o: o is not None),
        ("exception with __cause__", exc_with_cause, lambda o: isinstance(o.__cause__, KeyError)),
        ("socket.socket", server_sock, lambda o: isinstance(revive(o), socket.socket)),
        (
            "sqlite3.Connection",
            sqlite_mem,
            lambda o: revive(o).execute("select x from t").fetchone() == (1,),
        ),
        (
            "threading.Thread",
            lambda: threading.Thread(target=top_level, args=(1,)),
            lambda o: isinstance(revive(o), threading.Thread),
        ),
        (
            "ThreadPoolExecutor",
            lambda: ThreadPoolExecutor(1),
            lambda o: revive(o).submit(top_level, 1).result() == 2,
        ),
    ]


def run_coverage(tmp: str) -> None:
    names = list(PEERS)
    counts = dict.fromkeys(names, 0)
    rows = []
    fams = families(tmp)
    for label, make, check in fams:
        row = [label]
        for name, (dumps, loads) in PEERS.items():
            ok = False
            try:
                obj = make()
                out = loads(dumps(obj))
                ok = bool(check(out))
            except Exception:
                ok = False
            counts[name] += ok
            row.append("yes" if ok else "no")
        rows.append(row)
    print(f"\n### Coverage: {len(fams)} type families (round trip + behaviour check)\n")
    print_table(["family", *names], rows)
    print("| **total** | " + " | ".join(f"**{counts[n]}/{len(fams)}**" for n in names) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats (~10 s)")
    parser.add_argument("--no-coverage", action="store_true")
    args = parser.parse_args()
    versions = f"cloudpickle {cloudpickle.__version__}" + (
        f", dill {dill.__version__}" if dill else ""
    )
    print(
        f"## cerial benchmark ({'quick' if args.quick else 'full'}): Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs, {versions}\n"
    )
    logging.getLogger("bench").propagate = False
    warnings.simplefilter("ignore")  # dill warns about classes it cannot locate
    with tempfile.TemporaryDirectory() as tmp:
        run_timing(args.quick, tmp)
        run_small_signed(args.quick)
        if not args.no_coverage:
            run_coverage(tmp)


if __name__ == "__main__":
    main()
