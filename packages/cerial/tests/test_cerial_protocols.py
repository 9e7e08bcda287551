"""The pickle protocol of user classes, __serialize__, copyreg, register, explain, error paths."""

from __future__ import annotations

import copyreg
import hashlib
import threading

import pytest

from suitkaise import cerial
from suitkaise.cerial import _registry

from .conftest import roundtrip


class WithReduce:
    def __init__(self, v: int) -> None:
        self.v = v
        self.lock = threading.Lock()

    def __reduce__(self):
        return (WithReduce, (self.v * 10,))


class WithState:
    def __init__(self) -> None:
        self.v = 1
        self.cache = {"big": 1}

    def __getstate__(self):
        return {"v": self.v}

    def __setstate__(self, state):
        self.v = state["v"]
        self.cache = {"rebuilt": True}


class WithSerialize:
    def __init__(self, v: int) -> None:
        self.v = v
        self.gen = (i for i in range(3))  # would fail without __serialize__

    def __serialize__(self):
        return {"v": self.v}

    @classmethod
    def __deserialize__(cls, state):
        obj = cls.__new__(cls)
        obj.v = state["v"]
        obj.gen = None
        return obj


class ViaCopyreg:
    def __init__(self, v: int) -> None:
        self.v = v


def test_reduce_getstate_serialize() -> None:
    a, b, c = roundtrip([WithReduce(2), WithState(), WithSerialize(3)])
    assert a.v == 20 and not a.lock.locked()
    assert b.v == 1 and b.cache == {"rebuilt": True}
    assert c.v == 3 and c.gen is None


def test_serialize_protocol_on_local_class() -> None:
    class Local:
        def __init__(self, v):
            self.v = v

        def __serialize__(self):
            return self.v

        @classmethod
        def __deserialize__(cls, state):
            return cls(state + 1)

    assert roundtrip(Local(1)).v == 2


def test_copyreg_is_honoured() -> None:
    copyreg.pickle(ViaCopyreg, lambda o: (ViaCopyreg, (o.v + 100,)))
    try:
        assert roundtrip(ViaCopyreg(1)).v == 101
    finally:
        del copyreg.dispatch_table[ViaCopyreg]
    assert roundtrip(ViaCopyreg(1)).v == 1  # the change is seen on the next call


def test_copyreg_reducer_replaced_for_a_known_type_is_used() -> None:
    # serialize() only notices copyreg keys being added or removed (by the table's length):
    # a reducer replaced for a type already in the table must still be the one used.
    class Replaced:
        def __init__(self, v: int) -> None:
            self.v = v

    copyreg.pickle(Replaced, lambda o: (Replaced, (o.v + 1,)))
    try:
        assert roundtrip(Replaced(1)).v == 2
        copyreg.pickle(Replaced, lambda o: (Replaced, (o.v + 2,)))
        assert roundtrip(Replaced(1)).v == 3
        assert roundtrip([Replaced(1)] * 2)[0].v == 3
    finally:
        del copyreg.dispatch_table[Replaced]
    assert roundtrip(Replaced(1)).v == 1


def test_register_wins_over_builtin_and_decorator_form() -> None:
    calls = []

    @cerial.register(threading.Event)
    def reduce_event(ev):
        calls.append(ev)
        return (threading.Event, ())

    try:
        ev = threading.Event()
        ev.set()
        out = roundtrip(ev)
        assert calls == [ev]
        assert not out.is_set()  # the user's reducer won over the built-in one
    finally:
        _registry.remove_user(threading.Event)
    assert roundtrip(ev).is_set()


def test_register_by_name_and_subclasses() -> None:
    class Base:
        def __init__(self, v):
            self.v = v

    class Child(Base):
        pass

    cerial.register(Base, lambda o: (type(o), (-o.v,)), subclasses=True)
    try:
        assert roundtrip(Child(3)).v == -3
    finally:
        _registry.remove_user(Base)

    class Named:
        pass

    Named.__module__ = "some_uninstalled_lib"
    Named.__qualname__ = "Client"
    cerial.register("some_uninstalled_lib.Client", lambda o: (dict, ({"was": "client"},)))
    try:
        assert roundtrip(Named()) == {"was": "client"}
    finally:
        _registry.remove_user("some_uninstalled_lib.Client")


def test_register_by_name_covers_subclasses_only_when_asked() -> None:
    class Named:
        def __init__(self, v):
            self.v = v

    Named.__module__ = "some_uninstalled_lib"
    Named.__qualname__ = "Base"

    class Child(Named):
        pass

    def as_dict(o):
        return (dict, ({"was": type(o).__qualname__.rpartition(".")[2]},))

    name = "some_uninstalled_lib.Base"
    cerial.register(name, as_dict)
    try:
        assert roundtrip(Named(1)) == {"was": "Base"}
        child = roundtrip(Child(2))  # exact type only (the default): the reducer is not used
        assert type(child).__name__ == "Child" and child.v == 2
        cerial.register(name, as_dict, subclasses=True)
        assert roundtrip(Child(2)) == {"was": "Child"}
    finally:
        _registry.remove_user(name)
    assert roundtrip(Child(3)).v == 3


def test_register_refuses_builtin_fast_path_types_by_name() -> None:
    for name in ("builtins.int", "builtins.dict", "builtins.NoneType", "builtins.frozenset"):
        with pytest.raises(TypeError, match="builtin"):
            cerial.register(name, lambda o: (dict, ()))
        assert name not in _registry._user_names
    # another builtin, one that does reach reducer_override, is still accepted by name
    cerial.register("builtins.complex", lambda o: (complex, (0, 0)))
    try:
        assert roundtrip(1 + 2j) == 0j
    finally:
        _registry.remove_user("builtins.complex")
    assert roundtrip(1 + 2j) == 1 + 2j


def test_register_rejects_bad_input_and_bad_reducers() -> None:
    with pytest.raises(TypeError):
        cerial.register(42, lambda o: o)  # type: ignore[call-overload]
    with pytest.raises(TypeError):
        cerial.register("NoModule", lambda o: o)
    with pytest.raises(TypeError, match="builtin"):
        cerial.register(dict, lambda o: (dict, ()))
    with pytest.raises(TypeError):
        cerial.register(WithState, "not callable")  # type: ignore[call-overload]

    class Odd:
        pass

    cerial.register(Odd, lambda o: 5)
    try:
        with pytest.raises(cerial.SerializationError, match="expected a reduce tuple"):
            cerial.serialize([Odd()])
    finally:
        _registry.remove_user(Odd)


# --- SerializationError paths --------------------------------------------------------------


class Conn:
    def __init__(self, sock):
        self.sock = sock


class Pool:
    def __init__(self, conns):
        self.conns = conns


class Worker:
    def __init__(self):
        self.pool = Pool([Conn(1), Conn(2), Conn(hashlib.sha256())])


def test_error_names_path_type_reason() -> None:
    with pytest.raises(cerial.SerializationError) as info:
        cerial.serialize(Worker())
    e = info.value
    assert e.path == "Worker.pool.conns[2].sock"
    assert e.type_name == "_hashlib.HASH"
    assert "HASH" in e.reason
    assert "Worker.pool.conns[2].sock" in str(e) and "_hashlib.HASH" in str(e)
    assert isinstance(e, TypeError)
    assert e.__cause__ is not None


def test_error_path_through_dict_tuple_and_closure() -> None:
    h = hashlib.md5()

    def uses() -> object:
        return h

    with pytest.raises(cerial.SerializationError) as info:
        cerial.serialize({"k": (1, uses)})
    assert info.value.path == "dict['k'][1].<closure h>"


def test_error_in_user_reduce_is_named() -> None:
    class Broken:
        def __reduce__(self):
            raise RuntimeError("nope")

    with pytest.raises(cerial.SerializationError) as info:
        cerial.serialize({"b": Broken()})
    assert info.value.path == "dict['b']" and "nope" in str(info.value)


def test_explain_reports_each_part_and_never_raises() -> None:
    class Holder:
        def __init__(self):
            self.lock = threading.Lock()
            self.fn = lambda: 1
            self.bad = hashlib.sha1()
            self.items = [1, 2]

    text = cerial.explain(Holder())
    assert "Holder.lock: _thread.lock -> handler locks.reduce_lock" in text
    assert "Holder.fn: builtins.function -> by value (cloudpickle)" in text
    assert "Holder.bad: _hashlib.HASH -> FAILS" in text
    assert text.splitlines()[-1].startswith("fails: 1 part(s)")
    assert cerial.explain([1, 2]).splitlines()[-1] == "ok: every part can be serialized"
    big = cerial.explain([object() for _ in range(1000)])
    assert "more parts not shown" in big

    class Evil:
        def __reduce_ex__(self, protocol):
            raise SystemError("boom")

    assert "FAILS" in cerial.explain(Evil())


def test_type_cache_does_not_keep_runtime_classes_forever() -> None:
    import gc
    import weakref

    def make():
        class Temp:
            pass

        return Temp

    first = make()
    ref = weakref.ref(first)
    cerial.serialize(first())
    del first
    for _ in range(_registry._CACHE_MAX + 10):
        cerial.serialize(make()())
    gc.collect()
    assert ref() is None
    assert len(_registry._cache) <= _registry._CACHE_MAX


def test_multiprocessing_objects_get_a_specific_hint() -> None:
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("needs the fork start method")
    # a fork-context lock is unlinked at once: no resource-tracker process is started
    lock = multiprocessing.get_context("fork").Lock()
    with pytest.raises(cerial.SerializationError) as info:
        cerial.serialize({"mp_lock": lock})
    assert info.value.path == "dict['mp_lock']"
    assert "Share" in (info.value.hint or "")
