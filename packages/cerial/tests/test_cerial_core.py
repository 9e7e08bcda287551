"""serialize/deserialize: plain data, functions by value, signing, damaged input, threads."""

from __future__ import annotations

import functools
import pickle
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from suitkaise import cerial

from .conftest import roundtrip


def test_plain_data_roundtrip() -> None:
    obj = {"a": [1, 2.5, "x", b"y", None, True], "t": (1, (2, 3)), "s": {1, 2}, "f": frozenset()}
    assert roundtrip(obj) == obj


def test_unsigned_payload_is_a_pickle_stream() -> None:
    obj = {"k": [1, 2, 3]}
    data = cerial.serialize(obj)
    assert data[:2] == b"\x80\x05"
    assert pickle.loads(data) == obj


def test_lambda_closure_partial() -> None:
    n = 10

    def add(x: int) -> int:
        return x + n

    data = roundtrip({"l": lambda x: x * 2, "c": add, "p": functools.partial(add, 5)})
    assert data["l"](4) == 8
    assert data["c"](1) == 11
    assert data["p"]() == 15


def test_closures_sharing_a_cell_still_share_it() -> None:
    def make() -> tuple:
        count = 0

        def inc() -> int:
            nonlocal count
            count += 1
            return count

        def get() -> int:
            return count

        return inc, get

    inc, get = roundtrip(make())
    inc()
    inc()
    assert get() == 2


def test_shared_references_and_cycles_through_tuples() -> None:
    shared: list = []
    lst: list = [shared, shared]
    tup = (lst, 1)
    lst.append(tup)
    out = roundtrip(tup)
    assert out[0][0] is out[0][1]
    assert out[0][2] is out


def test_signed_roundtrip_and_wrong_key() -> None:
    data = cerial.serialize([1, 2], key=b"k1")
    assert cerial.deserialize(data, key=b"k1") == [1, 2]
    assert cerial.deserialize(data, key="k1") == [1, 2]
    with pytest.raises(cerial.DeserializationError, match="signature"):
        cerial.deserialize(data, key=b"k2")
    with pytest.raises(cerial.DeserializationError, match="signed"):
        cerial.deserialize(data)
    with pytest.raises(cerial.DeserializationError, match="not signed"):
        cerial.deserialize(cerial.serialize([1]), key=b"k1")


def test_tampered_signed_payload_is_rejected_before_unpickling(tmp_path) -> None:
    marker = tmp_path / "ran"

    class Boom:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    good = cerial.serialize("x" * 50, key="k")
    evil_stream = cerial.serialize(Boom())
    # a forged payload: the good header and signature, an evil stream
    forged = good[: len(good) - len(cerial.serialize("x" * 50))] + evil_stream
    with pytest.raises(cerial.DeserializationError):
        cerial.deserialize(forged, key="k")
    assert not marker.exists()


def test_bad_keys() -> None:
    with pytest.raises(ValueError):
        cerial.serialize(1, key=b"")
    with pytest.raises(TypeError):
        cerial.serialize(1, key=5)  # type: ignore[arg-type]


@pytest.mark.parametrize("cut", [0, 1, 10, 30, -1, -5])
def test_truncated_payload(cut: int) -> None:
    data = cerial.serialize({"a": list(range(100))})
    with pytest.raises(cerial.DeserializationError):
        cerial.deserialize(data[:cut])


def test_corrupted_byte() -> None:
    data = bytearray(cerial.serialize({"a": list(range(100))}))
    data[len(data) // 2] ^= 0xFF
    with pytest.raises(cerial.DeserializationError, match="corrupted"):
        cerial.deserialize(bytes(data))


def test_wrong_version() -> None:
    from suitkaise.cerial import _format

    data = bytearray(cerial.serialize(1))
    data[_format.VERSION_OFFSET] = 99
    with pytest.raises(cerial.DeserializationError, match="version 99"):
        cerial.deserialize(bytes(data))
    with pytest.raises(cerial.DeserializationError, match="version 99"):
        pickle.loads(bytes(data))


def test_deserialize_needs_bytes() -> None:
    with pytest.raises(TypeError, match="bytes"):
        cerial.deserialize("text")  # type: ignore[arg-type]


def test_bytes_like_input() -> None:
    data = cerial.serialize([1, 2])
    assert cerial.deserialize(bytearray(data)) == [1, 2]
    assert cerial.deserialize(memoryview(data)) == [1, 2]


def test_error_while_loading_is_wrapped() -> None:
    class Bad:
        def __reduce__(self):
            return (int, ("not a number",))

    with pytest.raises(cerial.DeserializationError) as info:
        cerial.deserialize(cerial.serialize(Bad()))
    assert isinstance(info.value.__cause__, ValueError)


def test_thread_safe() -> None:
    def work(i: int) -> bool:
        obj = {"i": i, "f": lambda: i, "l": [threading.Lock() for _ in range(3)]}
        for _ in range(50):
            out = cerial.deserialize(cerial.serialize(obj, key=b"k"), key=b"k")
            assert out["i"] == i and out["f"]() == i
        return True

    with ThreadPoolExecutor(8) as ex:
        assert all(ex.map(work, range(16)))


def test_roundtrip_through_fresh_interpreter(in_child) -> None:
    factor = 3
    payload = cerial.serialize(
        {"data": [1, 2, 3], "fn": lambda xs: [x * factor for x in xs]}, key=None
    )
    out = in_child(payload, "print(obj['fn'](obj['data']))")
    assert out.strip() == "[3, 6, 9]"
