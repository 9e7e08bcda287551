"""The small-message path: reused picklers, the one-unpack marker check, cached HMAC pads.

Reusing a pickler must never change what is written: plain data is byte for byte what
``pickle.dumps`` writes, and whatever follows plain data (lambdas, ``__main__`` classes, user
instances deep in a list, locks) still goes by value or through its handler.
"""

from __future__ import annotations

import gc
import hmac
import pickle
import subprocess
import sys
import textwrap
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from suitkaise import cerial
from suitkaise.cerial import _format

MESSAGE = {"op": "result", "task": 17, "value": [1.5, "ok", None, "ok", ("op", "op")]}


class Node:
    def __init__(self, value: Any) -> None:
        self.value = value
        self.lock = threading.Lock()
        self.lock.acquire()


def _body(data: bytes) -> bytes:
    return data[_format.PLAIN_LEN :]


def test_plain_body_is_exactly_pickle_after_other_calls() -> None:
    # Repeated strings are memoized: a memo left over from an earlier call would show up here
    # as a different (and wrong) stream.
    expected = pickle.dumps(MESSAGE, protocol=5)
    assert _body(cerial.serialize(MESSAGE)) == expected
    cerial.serialize({"f": lambda x: x, "n": Node(1), "s": ["op", "ok"] * 50})
    cerial.serialize([str(i) for i in range(5000)])  # a big memo, replaced afterwards
    assert _body(cerial.serialize(MESSAGE)) == expected
    assert _body(cerial.serialize(MESSAGE)) == expected


def test_user_objects_deep_in_plain_data_still_use_handlers_and_by_value() -> None:
    cerial.serialize(MESSAGE)  # warm the reused pickler with plain data
    factor = 3
    obj = {"a": [1, 2, [3, {"deep": [Node(7)]}]], "f": lambda x: x * factor}
    out = cerial.deserialize(cerial.serialize(obj))
    node = out["a"][2][1]["deep"][0]
    assert isinstance(node, Node) and node.value == 7
    assert node.lock.locked()  # the lock handler ran: a held lock comes back held
    assert out["f"](2) == 6
    cerial.serialize(MESSAGE)
    out = cerial.deserialize(cerial.serialize(obj, key=b"k"), key=b"k")
    assert out["a"][2][1]["deep"][0].lock.locked()


def test_failed_call_leaves_next_call_clean() -> None:
    with pytest.raises(cerial.SerializationError, match="generator"):
        cerial.serialize({"ok": [1, 2], "bad": (x for x in range(3))})
    assert _body(cerial.serialize(MESSAGE)) == pickle.dumps(MESSAGE, protocol=5)
    assert cerial.deserialize(cerial.serialize(MESSAGE)) == MESSAGE


class NestedSerialize:
    """Calls serialize from inside a reduction: needs a pickler of its own."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __reduce__(self) -> Any:
        return (_rebuild_nested, (cerial.serialize(self.inner, key=b"n"),))


def _rebuild_nested(data: bytes) -> NestedSerialize:
    return NestedSerialize(cerial.deserialize(data, key=b"n"))


def test_serialize_nested_inside_a_reducer() -> None:
    obj = [MESSAGE, NestedSerialize({"x": [MESSAGE, lambda: 5]}), MESSAGE]
    out = cerial.deserialize(cerial.serialize(obj))
    assert out[0] == out[2] == MESSAGE
    assert out[1].inner["x"][0] == MESSAGE
    assert out[1].inner["x"][1]() == 5


def test_nothing_kept_alive_after_the_call() -> None:
    class Held:
        pass

    held = Held()
    ref = weakref.ref(held)
    cerial.serialize({"held": [held], "f": lambda: 1})
    del held
    gc.collect()
    assert ref() is None


def test_many_threads_at_once() -> None:
    def work(i: int) -> bool:
        for j in range(200):
            obj = {"i": i, "j": j, "s": [str(i)] * 3, "n": Node(j) if j % 7 == 0 else None}
            out = cerial.deserialize(cerial.serialize(obj, key=b"t"), key=b"t")
            if (out["i"], out["j"], out["s"]) != (i, j, [str(i)] * 3):
                return False
            if j % 7 == 0 and (out["n"].value != j or not out["n"].lock.locked()):
                return False
        return True

    with ThreadPoolExecutor(8) as ex:
        assert all(ex.map(work, range(16)))


@pytest.mark.parametrize("key_len", [1, 31, 32, 63, 64, 65, 200])
def test_signature_is_standard_hmac_sha256(key_len: int) -> None:
    key = bytes(range(256))[:key_len] if key_len <= 256 else b"k" * key_len
    data = cerial.serialize(MESSAGE, key=key)
    head = len(_format.SIGNED_MAGIC)
    mac, stream = data[head : head + 32], data[head + 32 :]
    assert mac == hmac.digest(key, stream, "sha256")
    assert cerial.deserialize(data, key=key) == MESSAGE
    other = bytes([key[0] ^ 1]) + key[1:]
    with pytest.raises(cerial.DeserializationError, match="signature"):
        cerial.deserialize(data, key=other)


@pytest.mark.parametrize("size", [0, 1, 500, 1000, 1023, 1024, 1025, 5000])
def test_every_byte_of_the_body_is_checked_around_the_checksum_switch(size: int) -> None:
    obj = b"x" * size
    data = cerial.serialize(obj)
    body_len = len(data) - _format.PLAIN_LEN
    assert cerial.deserialize(data) == obj
    for pos in range(_format.PLAIN_LEN, len(data), max(1, body_len // 40)):
        damaged = bytearray(data)
        damaged[pos] ^= 0x5A
        with pytest.raises(cerial.DeserializationError):
            cerial.deserialize(bytes(damaged))


_SCRIPT = """
import sys
from suitkaise import cerial

class Local:
    def __init__(self, v):
        self.v = v
    def twice(self):
        return self.v * 2

# plain data first: the next call reuses the same pickler
assert cerial.deserialize(cerial.serialize({"a": [1, "b"]})) == {"a": [1, "b"]}
payload = {"plain": {"x": [1, 2]}, "deep": [[[{"obj": Local(21)}]]], "f": lambda n: n + 1}
with open(sys.argv[1], "wb") as f:
    f.write(cerial.serialize(payload, key=b"k"))
"""

_LOADER = """
import sys
from suitkaise import cerial

with open(sys.argv[1], "rb") as f:
    out = cerial.deserialize(f.read(), key=b"k")
obj = out["deep"][0][0][0]["obj"]
print(type(obj).__name__, obj.twice(), out["f"](1), out["plain"])
"""


def test_main_class_and_lambda_after_plain_data_go_by_value(tmp_path: Path) -> None:
    # The loading interpreter has another __main__ with no class Local: only a class carried
    # by value can be rebuilt there.
    (tmp_path / "make.py").write_text(textwrap.dedent(_SCRIPT))
    (tmp_path / "load.py").write_text(textwrap.dedent(_LOADER))
    payload = tmp_path / "payload.bin"
    for script in ("make.py", "load.py"):
        proc = subprocess.run(
            [sys.executable, str(tmp_path / script), str(payload)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
        assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "Local 42 2 {'x': [1, 2]}"
