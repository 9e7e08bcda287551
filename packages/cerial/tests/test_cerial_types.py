"""Coverage of the supported-types table: each type round-trips to a usable object."""

from __future__ import annotations

import collections
import contextvars
import dataclasses
import enum
import functools
import io
import logging
import mmap
import os
import queue
import re
import sys
import tempfile
import threading
import traceback
import types
import weakref
from typing import NamedTuple

import pytest

from suitkaise import cerial

from .conftest import roundtrip

# --- builtins and containers ---------------------------------------------------------------


class Point(NamedTuple):
    x: int
    y: int


@dataclasses.dataclass
class DC:
    a: int
    b: list[int] = dataclasses.field(default_factory=list)


class Color(enum.Enum):
    RED = 1
    GREEN = 2


class Slotted:
    __slots__ = ("a", "b")

    def __init__(self) -> None:
        self.a = 1
        self.b = threading.Lock()


def test_builtin_values() -> None:
    values = [
        1,
        2**100,
        1.5,
        complex(1, 2),
        "s",
        b"b",
        bytearray(b"ba"),
        None,
        True,
        ...,
        NotImplemented,
        range(1, 10, 2),
        slice(1, 5, 2),
        frozenset({1}),
        {1, 2},
        (1,),
        [1],
        {"a": 1},
        type(None),
        int,
        len,
        [].append,
        "abc".upper,
        object,
    ]
    out = roundtrip(values)
    assert out[:18] == values[:18]
    assert out[18] is type(None) and out[19] is int and out[20] is len
    assert out[22]() == "ABC" and out[23] is object


def test_iterators_and_views() -> None:
    d = {"a": 1, "b": 2}
    out = roundtrip([iter([1, 2, 3]), d.keys(), d.values(), d.items(), map(str, [1, 2])])
    assert list(out[0]) == [1, 2, 3]
    assert list(out[1]) == ["a", "b"]
    assert list(out[2]) == [1, 2]
    assert list(out[4]) == ["1", "2"]


def test_collections_with_unpicklable_contents() -> None:
    dd: collections.defaultdict = collections.defaultdict(lambda: 0)
    dd["x"] += 2
    lock = threading.Lock()
    lock.acquire()
    dq = collections.deque([1, lock], maxlen=5)
    objs = {
        "dd": dd,
        "dq": dq,
        "od": collections.OrderedDict(a=threading.Event()),
        "c": collections.Counter("aab"),
        "cm": collections.ChainMap({"a": 1}, {"b": 2}),
        "ud": collections.UserDict({"k": 1}),
        "ul": collections.UserList([1]),
    }
    out = roundtrip(objs)
    assert out["dd"]["x"] == 2 and out["dd"]["new"] == 0
    assert out["dq"].maxlen == 5 and out["dq"][0] == 1 and out["dq"][1].locked()
    assert isinstance(out["od"]["a"], threading.Event)
    assert out["c"] == collections.Counter("aab")
    assert out["cm"]["b"] == 2
    assert out["ud"]["k"] == 1 and out["ul"] == [1]


def test_namedtuple_dataclass_enum_slots() -> None:
    out = roundtrip([Point(1, 2), DC(1, [2]), Color.GREEN, Slotted()])
    assert out[0] == Point(1, 2) and out[0].y == 2
    assert out[1] == DC(1, [2])
    assert out[2] is Color.GREEN
    assert out[3].a == 1 and not out[3].b.locked()


def test_local_namedtuple_dataclass_enum() -> None:
    LP = collections.namedtuple("LP", "x y")

    @dataclasses.dataclass(frozen=True)
    class LD:
        v: int

    class LE(enum.Enum):
        A = "a"

    out = roundtrip([LP(1, 2), LD(3), LE.A])
    assert out[0].y == 2 and out[1].v == 3 and out[2].value == "a"


def test_cycles_keep_identity() -> None:
    d: dict = {}
    d["self"] = d
    lst: list = [d]
    lst.append(lst)
    out = roundtrip(lst)
    assert out[0]["self"] is out[0]
    assert out[1] is out


# --- callables -----------------------------------------------------------------------------


class WithMethods:
    def __init__(self, v: int) -> None:
        self.v = v

    def get(self) -> int:
        return self.v

    @staticmethod
    def st() -> str:
        return "st"

    @classmethod
    def cm(cls) -> str:
        return cls.__name__


def test_callables() -> None:
    import json

    obj = WithMethods(5)
    out = roundtrip(
        [obj.get, WithMethods.st, WithMethods.cm, functools.partial(max, 3), json, WithMethods]
    )
    assert out[0]() == 5
    assert out[1]() == "st"
    assert out[2]() == "WithMethods"
    assert out[3](1) == 3
    assert out[4] is json
    assert out[5] is WithMethods


def test_local_class_keeps_everything() -> None:
    class Base:
        kind = "base"

        def hello(self) -> str:
            return "hello from " + self.kind

    class Local(Base):
        kind = "local"

        def __init__(self, v: int) -> None:
            self.v = v
            self.__secret = v * 2

        def __eq__(self, other: object) -> bool:
            return isinstance(other, Local) and other.v == self.v

        def __hash__(self) -> int:
            return hash(self.v)

        def __repr__(self) -> str:
            return f"Local({self.v})"

        @property
        def double(self) -> int:
            return self.__secret

        def __private(self) -> int:
            return self.v + 1

        def call_private(self) -> int:
            return self.__private()

    out = roundtrip(Local(4))
    assert type(out) is Local  # isinstance holds within one process
    assert out == Local(4)
    assert repr(out) == "Local(4)"
    assert out.double == 8
    assert out.call_private() == 5
    assert out.hello() == "hello from local"
    assert [c.__name__ for c in type(out).__mro__] == ["Local", "Base", "object"]


def test_recursive_closure() -> None:
    def outer():
        def fact(n: int) -> int:
            return 1 if n <= 1 else n * fact(n - 1)

        return fact

    assert roundtrip(outer())(5) == 120


# --- threading -----------------------------------------------------------------------------


def test_locks_keep_state() -> None:
    held, free = threading.Lock(), threading.Lock()
    held.acquire()
    rl = threading.RLock()
    rl.acquire()
    rl.acquire()
    out = roundtrip({"held": held, "free": free, "rl": rl})
    assert out["held"].locked() and not out["free"].locked()
    assert out["held"] is not held
    r = out["rl"]
    r.release()
    r.release()
    with pytest.raises(RuntimeError):
        r.release()  # it was held exactly twice


def test_semaphores_event_condition_barrier() -> None:
    sem = threading.Semaphore(3)
    sem.acquire()
    bsem = threading.BoundedSemaphore(2)
    bsem.acquire()
    ev_on, ev_off = threading.Event(), threading.Event()
    ev_on.set()
    cond = threading.Condition(threading.Lock())
    bar = threading.Barrier(3, timeout=2.0)
    out = roundtrip([sem, bsem, ev_on, ev_off, cond, bar])
    s, b, on, off, c, br = out
    assert s._value == 2
    assert b.acquire(blocking=False) and not b.acquire(blocking=False)
    b.release()
    b.release()
    with pytest.raises(ValueError):
        b.release()  # bounded at the original initial value
    assert on.is_set() and not off.is_set()
    with c:
        assert not c.wait(timeout=0.01)
    assert br.parties == 3 and br._timeout == 2.0


def test_threading_local() -> None:
    loc = threading.local()
    loc.x = 5
    out = roundtrip(loc)
    assert out.x == 5


# --- queues --------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [queue.Queue, queue.LifoQueue, queue.PriorityQueue])
def test_queue_items_are_copied_original_keeps_them(cls) -> None:
    q = cls(maxsize=10)
    for i in (3, 1, 2):
        q.put(i)
    out = roundtrip(q)
    assert type(out) is cls and out.maxsize == 10
    got = [out.get_nowait() for _ in range(3)]
    expected = [q.get_nowait() for _ in range(3)]
    assert got == expected
    out.task_done()


def test_simple_queue_and_lock_inside() -> None:
    q: queue.SimpleQueue = queue.SimpleQueue()
    q.put("a")
    q.put(threading.Lock())
    out = roundtrip(q)
    assert out.get_nowait() == "a"
    assert isinstance(out.get_nowait(), type(threading.Lock()))
    assert q.qsize() == 2


# --- logging -------------------------------------------------------------------------------


def test_logger_keeps_level_handlers_and_logs(tmp_path) -> None:
    name = f"cerial.test.{os.getpid()}.{id(tmp_path)}"
    logger = logging.getLogger(name)
    logger.setLevel(logging.WARNING)
    logger.propagate = False
    path = tmp_path / "log.txt"
    fh = logging.FileHandler(path, mode="w")
    fh.setFormatter(logging.Formatter("%(levelname)s:%(message)s"))
    fh.addFilter(logging.Filter(name))
    logger.addHandler(fh)
    logger.warning("first")
    fh.flush()
    try:
        out = roundtrip(logger)
        assert out is logger  # same name -> same logger in this process
        assert out.level == logging.WARNING and out.propagate is False
        assert len(out.handlers) == 1  # an equivalent handler is not added twice
        # a separate handler object: round-trip the handler alone
        fh2 = roundtrip(fh)
        assert fh2 is not fh and fh2.baseFilename == fh.baseFilename
        assert fh2.formatter._fmt == "%(levelname)s:%(message)s"
        rec = logger.makeRecord(name, logging.ERROR, __file__, 1, "second", (), None)
        fh2.handle(rec)
        fh2.close()
    finally:
        logger.removeHandler(fh)
        fh.close()
    assert path.read_text().splitlines() == ["WARNING:first", "ERROR:second"]


def test_stream_handler_rebinds_std_stream() -> None:
    h = logging.StreamHandler(sys.stderr)
    out = roundtrip(h)
    assert out.stream is sys.stderr
    s = io.StringIO()
    h2 = roundtrip(logging.StreamHandler(s))
    assert isinstance(h2.stream, io.StringIO)


def test_logger_in_fresh_interpreter(in_child, tmp_path) -> None:
    name = f"cerial.child.{id(tmp_path)}"
    logger = logging.getLogger(name)
    logger.setLevel(logging.INFO)
    h = logging.StreamHandler(sys.stdout)
    h.setFormatter(logging.Formatter("%(name)s|%(levelname)s|%(message)s"))
    logger.addHandler(h)
    try:
        payload = cerial.serialize(logger)
    finally:
        logger.removeHandler(h)
    out = in_child(payload, "obj.debug('hidden'); obj.info('shown')\nprint(obj.level)")
    assert out.splitlines() == [f"{name}|INFO|shown", "20"]


# --- files ---------------------------------------------------------------------------------


def test_read_file_same_position(tmp_path) -> None:
    p = tmp_path / "r.txt"
    p.write_text("line1\nline2\nline3\n")
    with open(p) as f:
        f.readline()
        out = roundtrip(f)
        try:
            assert out.readline() == "line2\n"
            assert out.name == str(p)
        finally:
            out.close()


def test_write_file_not_truncated(tmp_path) -> None:
    p = tmp_path / "w.bin"
    with open(p, "wb") as f:
        f.write(b"hello ")
        out = roundtrip(f)
        try:
            assert p.read_bytes() == b"hello "  # the receiver did not truncate it
            out.write(b"world")
        finally:
            out.close()
    assert p.read_bytes() == b"hello world"


def test_append_and_raw_and_closed_files(tmp_path) -> None:
    p = tmp_path / "a.txt"
    p.write_text("x")
    with open(p, "a") as f, open(p, "rb", buffering=0) as raw:
        raw.read(1)
        fa, fr = roundtrip([f, raw])
        fa.write("y")
        fa.close()
        assert fr.read() == b"y"
        fr.close()
    closed = roundtrip(f)
    assert closed.closed


def test_file_in_fresh_interpreter(tmp_path, in_child) -> None:
    p = tmp_path / "data.txt"
    p.write_text("abc\ndef\n")
    with open(p) as f:
        f.readline()
        payload = cerial.serialize({"f": f})
    out = in_child(payload, "print(obj['f'].read().strip()); obj['f'].close()")
    assert out.strip() == "def"


def test_stringio_bytesio_keep_position() -> None:
    s = io.StringIO("hello")
    s.seek(2)
    b = io.BytesIO(b"world")
    b.seek(3)
    s2, b2 = roundtrip([s, b])
    assert s2.read() == "llo" and b2.read() == b"ld"


def test_file_from_fd_refused(tmp_path) -> None:
    fd = os.open(tmp_path / "x", os.O_CREAT | os.O_RDWR)
    with open(fd, "rb") as f, pytest.raises(cerial.SerializationError, match="file descriptor"):
        cerial.serialize({"f": f})


def test_named_temporary_file(tmp_path) -> None:
    with tempfile.NamedTemporaryFile("w+", dir=tmp_path, suffix=".txt") as t:
        t.write("abc")
        t.flush()
        out = roundtrip(t)
        assert out.name == t.name
        out.seek(0)
        assert out.read() == "abc"
        out.close()
        assert os.path.exists(t.name)  # the receiver does not delete the creator's file


def test_mmap() -> None:
    m = mmap.mmap(-1, 16)
    m.write(b"abcdef")
    out = roundtrip(m)
    assert out[:6] == b"abcdef" and out.tell() == 6
    out.close()
    m.close()


# --- regex, misc ---------------------------------------------------------------------------


def test_regex_pattern_and_match() -> None:
    pat = re.compile(r"(?P<word>\w+)@(\d+)", re.I)
    m = pat.search("xx hello@42 yy")
    assert m is not None
    p2, m2 = roundtrip([pat, m])
    assert p2.flags == pat.flags and p2.pattern == pat.pattern
    assert m2.span() == m.span() and m2.groups() == m.groups()
    assert m2.group("word") == "hello"


def test_contextvars() -> None:
    var: contextvars.ContextVar[int] = contextvars.ContextVar("v", default=7)

    def inside() -> bytes:
        var.set(3)
        return cerial.serialize(var)

    v2 = cerial.deserialize(contextvars.copy_context().run(inside))
    assert v2.name == "v"
    assert v2.get() == 3
    assert contextvars.Context().run(v2.get) == 7
    ctx = contextvars.copy_context()
    ctx2 = roundtrip(ctx)
    assert isinstance(ctx2, contextvars.Context)


def test_contextvar_holding_an_elementwise_comparing_value() -> None:
    np = pytest.importorskip("numpy")  # its == is elementwise: no truth value
    var = contextvars.ContextVar("arr", default=np.arange(3))  # noqa: B039 (the point)

    def inside() -> bytes:
        var.set(np.arange(4))
        return cerial.serialize(var)

    v2 = cerial.deserialize(contextvars.copy_context().run(inside))
    assert v2.get().tolist() == [0, 1, 2, 3]
    assert contextvars.Context().run(v2.get).tolist() == [0, 1, 2]


def test_weakrefs() -> None:
    class T:
        pass

    target = T()
    target.v = 1
    ref = weakref.ref(target)
    prox = weakref.proxy(target)
    out = roundtrip({"t": target, "r": ref, "p": prox})
    assert out["r"]() is out["t"]
    assert out["p"].v == 1
    dead = weakref.ref(T())
    assert roundtrip(dead)() is None

    class M:
        def hello(self) -> str:
            return "hi"

    m = M()
    m2, wm = roundtrip([m, weakref.WeakMethod(m.hello)])
    assert wm()() == "hi" and wm().__self__ is m2
    wvd: weakref.WeakValueDictionary = weakref.WeakValueDictionary({"a": target})
    t2, w2 = roundtrip([target, wvd])
    assert w2["a"] is t2


def test_memoryview_and_code() -> None:
    mv, code = roundtrip([memoryview(b"abc"), (lambda: 1).__code__])
    assert bytes(mv) == b"abc"
    assert isinstance(code, types.CodeType)
    assert eval(code) == 1


def test_memoryview_keeps_format_shape_and_readonly() -> None:
    import struct

    flat = memoryview(bytearray(struct.pack("4H", 1, 2, 3, 65535))).cast("H")
    grid = memoryview(bytes(range(6))).cast("B", (2, 3))
    odd = memoryview(struct.pack("<ih", 7, 8))  # not castable: a flat byte view
    flat2, grid2, odd2 = roundtrip([flat, grid, odd])
    assert (
        isinstance(flat2, memoryview) and flat2.format == "H" and flat2.tolist() == [1, 2, 3, 65535]
    )
    assert not flat2.readonly
    flat2[0] = 9  # writable like the original
    assert flat2[0] == 9
    assert (
        grid2.format == "B" and grid2.shape == (2, 3) and grid2.tolist() == [[0, 1, 2], [3, 4, 5]]
    )
    assert grid2.readonly  # over bytes, as the original
    assert bytes(odd2) == bytes(odd)


def test_code_from_other_python_is_refused() -> None:
    from suitkaise.cerial import _format

    with pytest.raises(cerial.DeserializationError, match=r"Python 3\.99"):
        _format.make_code((3, 99), ())


# --- exceptions, tracebacks, frames --------------------------------------------------------


class NeedsTwo(Exception):
    def __init__(self, a: int, b: int) -> None:
        super().__init__(f"{a}-{b}")
        self.a = a
        self.b = b


def _raise_chain() -> BaseException:
    try:
        try:
            raise KeyError("inner")
        except KeyError as e:
            raise ValueError("outer", 2) from e
    except ValueError as e:
        return e


def test_exception_keeps_args_cause_traceback() -> None:
    exc = _raise_chain()
    out = roundtrip(exc)
    assert type(out) is ValueError and out.args == ("outer", 2)
    assert type(out.__cause__) is KeyError and out.__cause__.args == ("inner",)
    assert out.__suppress_context__
    assert "_raise_chain" in out.__cerial_traceback__
    # a second hop keeps the carried traceback
    assert "_raise_chain" in roundtrip(out).__cerial_traceback__


def test_exception_with_awkward_constructor() -> None:
    e = NeedsTwo(1, 2)
    e.add_note("a note")
    out = roundtrip(e)
    assert type(out) is NeedsTwo and str(out) == "1-2" and (out.a, out.b) == (1, 2)
    assert out.__notes__ == ["a note"]


def test_exception_group_and_context_cycle() -> None:
    a = ValueError("a")
    b = TypeError("b")
    a.__context__ = b
    b.__context__ = a
    g = ExceptionGroup("g", [a, b])
    out = roundtrip(g)
    assert out.exceptions[0].__context__ is out.exceptions[1]
    assert out.exceptions[1].__context__ is out.exceptions[0]


def test_traceback_and_finished_frame_become_summaries() -> None:
    exc = _raise_chain()
    tb = roundtrip(exc.__traceback__)
    assert isinstance(tb, traceback.StackSummary)
    assert "_raise_chain" in "".join(tb.format())
    frame = exc.__traceback__.tb_frame  # _raise_chain has returned
    fs = roundtrip(frame)
    assert isinstance(fs, traceback.FrameSummary) and fs.name == "_raise_chain"


def test_running_frame_refused() -> None:
    with pytest.raises(cerial.SerializationError, match="running frame") as info:
        cerial.serialize({"here": sys._getframe()})
    assert info.value.path == "dict['here']"


# --- refused clearly -----------------------------------------------------------------------


def test_generators_and_coroutines_refused_with_path_and_hint() -> None:
    async def coro() -> None:
        pass

    async def agen():
        yield 1

    class Holder:
        def __init__(self) -> None:
            self.items = [1, (x for x in range(3))]

    with pytest.raises(cerial.SerializationError) as info:
        cerial.serialize(Holder())
    e = info.value
    assert e.path == "Holder.items[1]"
    assert e.type_name == "builtins.generator"
    assert "list(" in (e.hint or "")
    assert isinstance(e, TypeError)
    c = coro()
    try:
        with pytest.raises(cerial.SerializationError, match="coroutine"):
            cerial.serialize(c)
    finally:
        c.close()
    with pytest.raises(cerial.SerializationError, match="async_generator"):
        cerial.serialize(agen())
