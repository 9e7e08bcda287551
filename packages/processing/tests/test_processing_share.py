"""Share from one process: values, proxies, augmented assignment, lock, snapshot, lifecycle.

Each test starts a real coordinator process (the default start method; the multi-process
tests in ``test_processing_share_concurrency.py`` cover every start method).
"""

from __future__ import annotations

import collections
import copy
import enum
import json
import operator
import os
import pickle
import stat
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from suitkaise.cerial import SerializationError
from suitkaise.processing import RemoteTraceback, Share, ShareError
from suitkaise.sktime import Sktimer, TimeThis


class Stats:
    """A user class held by a Share."""

    def __init__(self) -> None:
        self.hits = 0
        self.names: list[str] = []

    def hit(self, n: int = 1) -> int:
        self.hits += n
        return self.hits

    def fail(self) -> None:
        raise BudgetError("over budget", limit=3)

    @property
    def doubled(self) -> int:
        return 2 * self.hits


class BudgetError(ValueError):
    def __init__(self, message: str, limit: int = 0) -> None:
        super().__init__(message)
        self.limit = limit

    def __reduce__(self) -> Any:
        return (BudgetError, (self.args[0], self.limit))


@pytest.fixture
def share() -> Iterator[Share]:
    with Share() as s:
        yield s


def test_scalars_come_back_as_values(share: Share) -> None:
    share.none = None
    share.flag = True
    share.n = 41
    share.x = 1.5
    share.z = 2j
    share.s = "text"
    share.b = b"bytes"
    share.t = (1, "a")
    share.f = frozenset({1, 2})
    assert share.none is None
    assert share.flag is True
    assert share.n == 41 and isinstance(share.n, int)
    assert share.n + 1 == 42 and type(share.n + 1) is int
    assert share.x * 2 == 3.0
    assert share.z == 2j
    assert share.s.upper() == "TEXT" and f"{share.s:>6}" == "  text"
    assert share.b == b"bytes"
    assert share.t == (1, "a")
    assert share.f == {1, 2}
    assert {share.s: 1}["text"] == 1  # hashes like the value
    assert json.dumps({"n": share.n, "s": share.s}) == '{"n": 41, "s": "text"}'
    # pickled or copied, a value read from a Share is a plain value
    assert type(pickle.loads(pickle.dumps(share.n))) is int
    assert type(copy.copy(share.s)) is str
    assert type(copy.deepcopy(share.t)) is tuple


class Color(enum.IntEnum):
    RED = 1


Point = collections.namedtuple("Point", "x y")


def test_immutable_subclasses_come_back_as_values(share: Share) -> None:
    share.color = Color.RED
    share.point = Point(1, 2)
    assert share.color is Color.RED
    assert share.point == Point(1, 2) and share.point.x == 1


class Bag:
    """Hands out its list through a property; takes keyword arguments."""

    def __init__(self) -> None:
        self._items: list[Any] = []

    @property
    def items(self) -> list[Any]:
        return self._items

    def put(self, **values: Any) -> None:
        self.__dict__.update(values)


def test_writes_through_tuples_properties_and_keywords_reach_the_share(share: Share) -> None:
    share.t = ([1], "label")  # a tuple holding a list is not immutable: a proxy, not a copy
    share.t[0].append(2)
    assert share.t[0] == [1, 2]
    assert share.snapshot()["t"] == ([1, 2], "label")
    share.bag = Bag()
    share.bag.items.append("x")  # a property resolved again in the coordinator
    assert share.bag.items == ["x"]
    assert share.snapshot()["bag"].items == ["x"]
    share.data = [1]
    share.bag.put(data=share.data)  # a proxy passed by keyword is the live object there
    share.data.append(2)
    assert share.bag.data == [1, 2]


def test_list_proxy_forwards_everything(share: Share) -> None:
    share.items = [3, 1, 2]
    items = share.items
    assert len(items) == 3
    assert 1 in items and 9 not in items
    assert list(items) == [3, 1, 2]
    assert list(reversed(items)) == [2, 1, 3]
    assert items[0] == 3 and items[-1] == 2
    assert items[0:2] == [3, 1]
    assert items == [3, 1, 2] and items != [1]
    assert repr(items) == "[3, 1, 2]" and str(items) == "[3, 1, 2]"
    assert bool(items) is True
    items.append(4)
    items.sort()
    assert share.items == [1, 2, 3, 4]
    assert share.items.pop() == 4  # mutating methods return their real value
    assert share.items.pop(0) == 1
    items[0] = 20
    del items[1]
    assert share.items == [20]
    with pytest.raises(IndexError, match="pop from empty list"):
        share.items.clear()
        share.items.pop()


def test_dict_and_set_proxies(share: Share) -> None:
    share.d = {"a": 1}
    share.d["b"] = 2
    assert share.d["a"] == 1 and share.d.get("zz", 0) == 0
    assert sorted(share.d.keys()) == ["a", "b"]
    assert "b" in share.d and len(share.d) == 2
    del share.d["a"]
    assert share.d == {"b": 2}
    with pytest.raises(KeyError):
        share.d["missing"]
    share.seen = set()
    share.seen.add("x")
    share.seen |= {"y"}
    assert share.seen == {"x", "y"}
    assert share.snapshot()["seen"] == {"x", "y"}


def test_user_class_methods_and_errors(share: Share) -> None:
    share.stats = Stats()
    assert share.stats.hit() == 1
    assert share.stats.hit(5) == 6
    share.stats.names.append("ann")  # a nested proxy
    assert share.stats.names == ["ann"]
    assert share.stats.doubled == 12  # properties are computed in the coordinator
    share.stats.label = "new attribute"
    assert share.stats.label == "new attribute"
    del share.stats.label
    assert not hasattr(share.stats, "label")
    with pytest.raises(BudgetError, match="over budget") as info:
        share.stats.fail()
    assert info.value.limit == 3
    assert isinstance(info.value.__cause__, RemoteTraceback)
    assert "fail" in str(info.value.__cause__)
    with pytest.raises(AttributeError):
        share.stats.no_such_method()


def test_augmented_assignment_every_form(share: Share) -> None:
    share.counter = 10
    share.counter += 5
    share.counter -= 1
    share.counter *= 2
    share.counter //= 4
    share.counter **= 2
    share.counter %= 40
    share.counter <<= 1
    share.counter |= 1
    assert share.counter == ((((10 + 5 - 1) * 2 // 4) ** 2) % 40 << 1) | 1
    share.ratio = 1
    share.ratio /= 4
    assert share.ratio == 0.25
    share.name = "a"
    share.name += "b"
    assert share.name == "ab"
    share.d = {"k": 1, "nested": {"n": [1]}}
    share.d["k"] += 2
    share.d["nested"]["n"] += [2]
    assert share.d == {"k": 3, "nested": {"n": [1, 2]}}
    share.stats = Stats()
    share.stats.hits += 3
    share.stats.names += ["bo"]
    assert (share.stats.hits, share.stats.names) == (3, ["bo"])
    share.flag = False
    share.flag += 1  # bool and None cannot be tagged; the operation still runs remotely
    assert share.flag == 1


def test_local_copy_of_a_value_does_not_write_back(share: Share) -> None:
    share.counter = 5
    local = share.counter
    local += 1  # changes only the local variable, as with a plain int
    assert local == 6
    assert share.counter == 5
    share.other = local  # a pending result stored elsewhere is its plain value
    assert share.other == 6 and share.counter == 5


def test_read_modify_write_through_a_variable_is_atomic(share: Share) -> None:
    # The statement form the bytecode shortcut does not see: a tagged value made pending by
    # `+=` and stored back at the same place applies the operation to the current value.
    share.counter = 1
    value = share.counter
    value += 10
    share.counter = 100  # another write lands in between
    share.counter = value
    assert share.counter == 110


def test_failed_augmented_assignment_raises_the_real_error(share: Share) -> None:
    share.items = [1]
    with pytest.raises(TypeError, match="not iterable"):
        share.items += 5
    share.text = "a"
    with pytest.raises(TypeError):
        share.text += 1
    assert share.items == [1] and share.text == "a"


def test_alias_between_share_objects(share: Share) -> None:
    share.a = [1]
    share.b = share.a  # the same live list, as in plain Python
    share.b.append(2)
    assert share.a == [1, 2]
    share.a = share.a  # assigning a proxy to its own place changes nothing
    assert share.b == [1, 2]
    with Share() as other:
        other.copy = share.a  # a proxy of another Share is stored by value
        share.a.append(3)
        assert other.copy == [1, 2]


def test_delete_missing_and_reserved(share: Share) -> None:
    share.x = 1
    del share.x
    with pytest.raises(AttributeError, match="Share has no attribute 'x'"):
        share.x
    assert not hasattr(share, "x")
    with pytest.raises(AttributeError, match="Share has no attribute 'x'"):
        del share.x
    for name in ("stop", "snapshot", "lock", "_private"):
        with pytest.raises(AttributeError, match="reserved"):
            setattr(share, name, 1)
    with pytest.raises(AttributeError, match="reserved"):
        del share.stop


def test_unserializable_value_names_the_attribute(share: Share) -> None:
    with pytest.raises(SerializationError, match=r"share\.gen") as info:
        share.gen = (i for i in range(3))
    assert info.value.path == "share.gen"
    share.d = {}
    with pytest.raises(SerializationError, match=r"share\.d\['g'\]"):
        share.d["g"] = (i for i in range(3))
    assert share.d == {}


def test_unsendable_result_is_an_error_not_a_hang(share: Share) -> None:
    share.make = lambda: (i for i in range(3))  # a function stored in the Share
    with pytest.raises(SerializationError):
        share.make()
    assert share.make is not None  # the coordinator is fine


def test_snapshot_is_a_plain_copy(share: Share) -> None:
    share.n = 1
    share.items = [1, 2]
    snap = share.snapshot()
    assert snap == {"n": 1, "items": [1, 2]}
    assert type(snap["items"]) is list
    snap["items"].append(3)
    assert share.items == [1, 2]


def test_repr_and_dir(share: Share) -> None:
    share.n = 1
    share.items = ["a"]
    assert repr(share) == "Share(n=1, items=['a'])"
    share.big = list(range(10_000))
    assert len(repr(share)) < 200 and "..." in repr(share)
    assert {"n", "items", "stop", "lock"} <= set(dir(share))


def test_lock_is_reentrant_and_holds_off_other_clients(share: Share) -> None:
    share.n = 0
    outcome: dict[str, Any] = {}

    def other_thread() -> None:
        # another thread is another client: it must wait for the lock
        try:
            with share.lock(timeout=0.3):
                outcome["got"] = True
        except TimeoutError as exc:
            outcome["timeout"] = exc

    with share.lock():
        with share.lock():  # re-entrant
            share.n += 1
        t = threading.Thread(target=other_thread)
        t.start()
        t.join(30)
        share.n += 1
    assert "timeout" in outcome and "got" not in outcome
    t = threading.Thread(target=other_thread)
    t.start()
    t.join(30)
    assert outcome.get("got") is True
    assert share.n == 2
    with pytest.raises(RuntimeError, match="not held"):
        share.lock().release()


def test_threads_of_one_process(share: Share) -> None:
    share.counter = 0
    share.items = []

    def work(k: int) -> None:
        for i in range(200):
            share.counter += 1
            share.items.append((k, i))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert share.counter == 800
    assert sorted(share.items) == sorted((k, i) for k in range(4) for i in range(200))


def test_sktimer_in_a_share(share: Share) -> None:
    share.timer = Sktimer()
    share.timer.add_time(0.5)
    with TimeThis(share.timer):
        sum(range(1000))
    share.timer.start()
    share.timer.stop()
    share.timer.start()
    share.timer.discard()  # not recorded
    assert share.timer.num_times == 3
    assert share.timer.times[0] == 0.5
    assert share.timer.max == 0.5
    assert share.timer.mean is not None and share.timer.mean > 0.5 / 3
    local = Sktimer()
    local.add_time(2.0)
    merged = Sktimer.merge(share.timer, local)
    assert merged.num_times == 4 and merged.max == 2.0
    assert isinstance(share.snapshot()["timer"], Sktimer)


def test_stop_frees_everything_and_later_calls_raise() -> None:
    share = Share()
    share.n = 1
    process = share._sk_process
    assert process is not None
    directory = os.path.dirname(share._sk_client.address)
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700  # only this user can connect
    share.stop()
    share.stop()  # idempotent
    assert not process.is_alive()
    assert not os.path.exists(directory)
    with pytest.raises(ShareError, match="not running"):
        share.n
    with pytest.raises(ShareError):
        share.n = 2
    assert repr(share) == "<Share (stopped)>"


def test_repr_of_a_proxy_after_stop_says_so() -> None:
    with Share() as share:
        share.items = [1]
        items = share.items
    assert repr(items) == "<Share proxy share.items (coordinator not running)>"
    with pytest.raises(ShareError):
        len(items)


def test_garbage_collected_share_stops_its_coordinator() -> None:
    share = Share()
    process = share._sk_process
    assert process is not None
    del share
    process.join(10)
    assert not process.is_alive()


def test_pickled_share_reuses_this_process_client(share: Share) -> None:
    share.n = 3
    clone = pickle.loads(pickle.dumps(share))
    assert clone._sk_client is share._sk_client
    assert clone.n == 3
    clone.stop()  # not the owner: only closes this thread's connection
    assert share.n == 3


def test_wrong_authkey_is_refused(share: Share) -> None:
    from suitkaise.processing._int.share_client import ShareClient

    intruder = ShareClient(share._sk_client.address, b"wrong key", share._sk_client.key)
    with pytest.raises(ShareError):
        intruder.get(((0, "n"),))
    share.n = 1  # the coordinator is unaffected
    assert share.n == 1


def test_in_place_operator_applies_on_the_coordinator(share: Share) -> None:
    share.items = [1]
    proxy = share.items
    proxy += [2]  # an alias of the shared list, extended in place like a plain list
    assert share.items == [1, 2]
    assert operator.iadd(share.items, [3]) is not None
    assert share.items == [1, 2, 3]


def test_common_statements_cost_one_round_trip(share: Share) -> None:
    client = share._sk_client
    share.counter = 0
    share.items = []
    share.d = {"k": 0}
    share.stats = Stats()
    share.items.append(0)  # the first look at a path learns what lives there
    share.d.get("k")
    share.stats.hit(0)

    def round_trips(statement: Any) -> int:
        before = client.requests
        statement()
        return client.requests - before

    def increment() -> None:
        share.counter += 1

    def increment_item() -> None:
        share.d["k"] += 1

    def append() -> None:
        share.items.append(1)

    def read() -> None:
        share.counter

    def read_item() -> None:
        share.d["k"]

    def word_count(word: str = "w") -> None:
        share.d[word] = share.d.get(word, 0)  # get: one CALL; store: one SET

    assert round_trips(increment) == 1
    assert round_trips(increment_item) == 1  # share.d is known: one AUGMENT on share.d['k']
    assert round_trips(append) == 1
    assert round_trips(read) == 1
    assert round_trips(read_item) == 1
    assert round_trips(word_count) == 2

    def nested_attribute() -> None:
        share.stats.hits += 1
        share.stats.hits = share.stats.hits * 2

    assert round_trips(nested_attribute) == 3  # AUGMENT, GET, SET
    assert share.stats.hits == 2
    assert (share.counter, share.d["k"], share.items) == (1, 1, [0, 1])
    assert share.d == {"k": 1, "w": 0}


def test_proxy_stored_inside_a_value_fails_clearly_not_deadlocks(share: Share) -> None:
    share.a = [1]
    share.pair = [share.a]  # a proxy inside a list: the coordinator cannot use it
    assert repr(share) == "Share(a=[1], pair=[<Share proxy share.a (stored inside the Share)>])"
    with pytest.raises(ShareError, match="inside its own coordinator"):
        len(share.pair[0])
    del share.pair
    assert repr(share) == "Share(a=[1])"


def test_client_cache_is_bounded() -> None:
    from suitkaise.processing._int import share_client

    for i in range(100):
        share_client.client_for(f"/nonexistent/share-{i}", b"k", b"k")
    assert len(share_client._clients) <= share_client._CLIENTS_KEPT
    first = share_client.client_for("/nonexistent/share-99", b"k", b"k")
    assert share_client.client_for("/nonexistent/share-99", b"k", b"k") is first
    for i in range(100):
        share_client.forget_client(f"/nonexistent/share-{i}")


def test_big_values_round_trip(share: Share) -> None:
    blob = os.urandom(5_000_000)
    share.blob = blob
    assert share.blob == blob
    share.numbers = list(range(100_000))
    assert sum(share.numbers) == sum(range(100_000))
    assert share.numbers[-1] == 99_999
    assert len(share.snapshot()["numbers"]) == 100_000


def test_connection_fallback_used_where_sockets_are_not_available(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Windows has no AF_UNIX in multiprocessing: messages then go through the Connection
    # itself. Named pipes do not exist here, so this runs that message path over AF_UNIX
    # (the coordinator is forked, so it inherits the switch).
    from suitkaise.processing._int import share_transport

    monkeypatch.setattr(share_transport, "RAW_SOCKETS", False)
    with Share(start_method="fork") as share:
        share.counter = 0
        share.counter += 2
        share.items = [1]
        share.items.append(2)
        share.blob = b"x" * 200_000
        assert (share.counter, share.items, len(share.blob)) == (2, [1, 2], 200_000)


# --------------------------------------------------------------------------- model-based

_LIST_OPS = st.one_of(
    st.tuples(st.just("append"), st.integers(-5, 5)),
    st.tuples(st.just("pop"), st.none()),
    st.tuples(st.just("insert"), st.tuples(st.integers(-3, 3), st.integers(-5, 5))),
    st.tuples(st.just("setitem"), st.tuples(st.integers(-3, 3), st.integers(-5, 5))),
    st.tuples(st.just("delitem"), st.integers(-3, 3)),
    st.tuples(st.just("iadd"), st.lists(st.integers(-5, 5), max_size=3)),
    st.tuples(st.just("remove"), st.integers(-5, 5)),
    st.tuples(st.just("sort"), st.booleans()),
    st.tuples(st.just("item_iadd"), st.tuples(st.integers(-3, 3), st.integers(-5, 5))),
)


def _apply_list_op(target: Any, op: str, arg: Any) -> Any:
    if op == "append":
        return target.append(arg)
    if op == "pop":
        return target.pop()
    if op == "insert":
        return target.insert(*arg)
    if op == "setitem":
        target[arg[0]] = arg[1]
        return None
    if op == "delitem":
        del target[arg]
        return None
    if op == "iadd":
        target += arg
        return None
    if op == "remove":
        return target.remove(arg)
    if op == "sort":
        return target.sort(reverse=arg)
    if op == "item_iadd":
        target[arg[0]] += arg[1]
        return None
    raise AssertionError(op)


def _outcome(func: Any) -> Any:
    try:
        return ("ok", func())
    except Exception as exc:  # the same exception type and message on both sides
        return ("error", type(exc), str(exc))


@pytest.fixture(scope="module")
def model_share() -> Iterator[Share]:
    with Share() as s:
        yield s


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(start=st.lists(st.integers(-5, 5), max_size=4), ops=st.lists(_LIST_OPS, max_size=12))
def test_a_shared_list_behaves_like_a_list(
    model_share: Share, start: list[int], ops: list[tuple[str, Any]]
) -> None:
    local = list(start)
    model_share.items = list(start)
    shared = model_share.items
    for op, arg in ops:
        expected = _outcome(lambda: _apply_list_op(local, op, arg))  # noqa: B023
        got = _outcome(lambda: _apply_list_op(shared, op, arg))  # noqa: B023
        assert got == expected, (op, arg)
        assert model_share.items == local
    assert list(model_share.items) == local and len(model_share.items) == len(local)
