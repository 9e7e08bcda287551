"""Hypothesis round trips, a fuzz test of damaged payloads, and deep nesting."""

from __future__ import annotations

import pickle
import random
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from suitkaise import cerial
from suitkaise.cerial import _format

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary()
    | st.complex_numbers(allow_nan=False)
)
hashables = st.recursive(
    scalars, lambda c: st.tuples(c, c) | st.frozensets(c, max_size=3), max_leaves=8
)
nested = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=6)
        | st.tuples(children, children)
        | st.dictionaries(hashables, children, max_size=6)
        | st.sets(hashables, max_size=4)
    ),
    max_leaves=40,
)


@settings(max_examples=150, deadline=None)
@given(nested)
def test_nested_data_roundtrips(obj) -> None:
    assert cerial.deserialize(cerial.serialize(obj)) == obj


@settings(max_examples=60, deadline=None)
@given(nested, st.binary(min_size=1, max_size=32))
def test_signed_nested_data_roundtrips(obj, key) -> None:
    assert cerial.deserialize(cerial.serialize(obj, key=key), key=key) == obj


def _expect_deserialization_error(data: bytes, key: bytes | None = None) -> None:
    try:
        cerial.deserialize(data, key=key)
    except cerial.DeserializationError:
        return
    raise AssertionError(f"loaded damaged payload without error: {data[:60]!r}")


def _sample_payloads() -> list[bytes]:
    def f(x):
        return x + 1

    return [
        cerial.serialize({"a": [1, 2.5, "three", b"four"], "t": (None, True)}),
        cerial.serialize([f, lambda y: y * 2, {1, 2, 3}]),
        cerial.serialize(ValueError("boom")),
        cerial.serialize(list(range(300))),
    ]


def test_fuzz_damaged_payloads_only_raise_deserialization_error() -> None:
    rng = random.Random(1234)
    samples = _sample_payloads()
    signed = [cerial.serialize(s, key=b"k") for s in ("x" * 40, [1, 2, 3])]
    count = 0
    # random bytes, including ones that start like a pickle or a cerial payload
    for n in range(1500):
        size = rng.randrange(0, 400)
        data = bytes(rng.getrandbits(8) for _ in range(size))
        if n % 3 == 1:
            data = b"\x80\x05" + data
        elif n % 3 == 2:
            # a well-formed marker over a random body: the checksum stops it
            data = _format.make_prefix(rng.getrandbits(32), len(data)) + data
        _expect_deserialization_error(data)
        count += 1
    # every truncation of every sample
    for s in samples:
        for cut in range(len(s)):
            _expect_deserialization_error(s[:cut])
            count += 1
    # byte flips, insertions and deletions
    for _ in range(2000):
        s = bytearray(rng.choice(samples))
        i = rng.randrange(len(s))
        op = rng.randrange(3)
        if op == 0:
            s[i] ^= rng.randrange(1, 256)
        elif op == 1:
            s.insert(i, rng.getrandbits(8))
        else:
            del s[i]
        _expect_deserialization_error(bytes(s))
        count += 1
    # signed payloads: flips, wrong keys, missing keys
    for _ in range(500):
        s = bytearray(rng.choice(signed))
        s[rng.randrange(len(s))] ^= rng.randrange(1, 256)
        _expect_deserialization_error(bytes(s), key=b"k")
        _expect_deserialization_error(bytes(rng.choice(signed)), key=b"other")
        count += 2
    assert count >= 5000


def _with_valid_crc(stream: bytes) -> bytes:
    """A cerial marker whose checksum matches ``stream`` (bypasses the integrity check)."""
    return _format.make_prefix(_format.checksum(stream), len(stream)) + stream


@pytest.mark.parametrize(
    "stream",
    [
        b"",  # no object at all
        b"\x80\x05.",  # STOP with an empty stack
        b"\x80\x05\xff.",  # unknown opcode
        b"\x80\x05\x8c\x04nope\x8c\x04nope\x93.",  # module that does not exist
        b"\x80\x05\x8c\x08builtins\x8c\x07missing\x93.",  # attribute that does not exist
        b"\x80\x05]\x94(K\x01",  # truncated list
        b"\x80\x05h\x05.",  # memo entry that does not exist
        pickle.dumps(1)[:-1],  # no STOP
    ],
)
def test_broken_streams_with_valid_checksum_are_wrapped(stream: bytes) -> None:
    with pytest.raises(cerial.DeserializationError) as info:
        cerial.deserialize(_with_valid_crc(stream))
    assert info.value.__cause__ is not None or "payload" in str(info.value)


def _nest(depth: int) -> list:
    x: list = []
    for _ in range(depth):
        x = [x]
    return x


def _pickle_max_depth() -> int:
    lo, hi = 1, 20_000
    while lo < hi:
        mid = (lo + hi + 1) // 2
        try:
            pickle.dumps(_nest(mid))
            lo = mid
        except RecursionError:
            hi = mid - 1
    return lo


class Link:
    def __init__(self, nxt):
        self.nxt = nxt


def _chain(depth: int) -> Link | None:
    chain = None
    for _ in range(depth):
        chain = Link(chain)
    return chain


def _pickle_max_object_depth() -> int:
    """The longest chain of objects plain pickle serializes in this thread."""
    lo, hi = 1, 20_000
    while lo < hi:
        mid = (lo + hi + 1) // 2
        try:
            pickle.dumps(_chain(mid))
            lo = mid
        except RecursionError:
            hi = mid - 1
    return lo


# Python 3.12 and 3.13 bound calls through C by a fixed limit that no thread stack raises: there
# cerial nests lists as deep as elsewhere, but objects only about as deep as pickle does.
C_STACK_BOUND = (3, 12) <= sys.version_info < (3, 14)


def test_deep_nesting_at_least_as_deep_as_pickle() -> None:
    limit = _pickle_max_depth()
    for depth in (limit, limit + 1, 20_000):
        out = cerial.deserialize(cerial.serialize(_nest(depth)))
        d = 0
        while out:
            out = out[0]
            d += 1
        assert d == depth
    links = _pickle_max_object_depth() if C_STACK_BOUND else 10_000
    out = cerial.deserialize(cerial.serialize(_chain(links)))
    n = 0
    while out is not None:
        out = out.nxt
        n += 1
    assert n == links


@pytest.mark.skipif(not C_STACK_BOUND, reason="only Python 3.12 and 3.13 bound C recursion")
def test_object_chain_past_the_c_limit_is_a_clear_error() -> None:
    with pytest.raises(cerial.SerializationError, match="few thousand levels of other objects"):
        cerial.serialize(_chain(50_000))


def test_too_deep_is_a_clear_error() -> None:
    with pytest.raises(cerial.SerializationError, match="nested too deeply"):
        cerial.serialize(_nest(300_000))


def test_large_raw_payloads_roundtrip_and_damage_is_caught() -> None:
    mb2 = 2 * 1024 * 1024
    obj = [b"a" * mb2, "s" * mb2, bytearray(b"c" * mb2), {"k": b"b" * mb2}, list(range(50))]
    data = cerial.serialize(obj)
    assert cerial.deserialize(data) == obj
    assert pickle.loads(data) == obj
    _, _, _, regions = _format.parse_prefix(memoryview(data))
    assert len(regions) == 4  # the four big blocks are left out of the checksum
    _expect_deserialization_error(data[:-1])
    _expect_deserialization_error(data[: len(data) // 2])
    for pos in (len(data) - 3, len(data) - 40, 60, 80):  # structure and marker bytes
        damaged = bytearray(data)
        damaged[pos] ^= 0x01
        _expect_deserialization_error(bytes(damaged))
    signed = cerial.serialize(obj, key=b"k")
    assert cerial.deserialize(signed, key=b"k") == obj
    damaged = bytearray(signed)
    damaged[len(damaged) // 2] ^= 0x01  # inside a raw block: the HMAC covers it
    _expect_deserialization_error(bytes(damaged), key=b"k")


def test_failure_deep_inside_deep_object_names_path() -> None:
    x: list = [(i for i in range(2))]
    for _ in range(5_000):
        x = [x]
    with pytest.raises(cerial.SerializationError) as info:
        cerial.serialize(x)
    assert info.value.path is not None and info.value.path.endswith("[0][0][0]")
    assert info.value.type_name == "builtins.generator"


class _Base:
    pass


class _Holder:
    def __init__(self) -> None:
        self.x = {"ok": [1, 2], "k": super(_Base, _Base())}


def test_failure_after_a_successful_reduce_names_path() -> None:
    # a super object reduces fine; the pickler then refuses the reduction's output
    with pytest.raises(cerial.SerializationError) as info:
        cerial.serialize(_Holder())
    assert info.value.path == "_Holder.x['k']"
    assert info.value.type_name == "builtins.super"
    assert "_Holder.x['k']" in str(info.value)
    report = cerial.explain(_Holder())
    assert "_Holder.x['k']: builtins.super -> FAILS" in report
    assert report.splitlines()[-1].startswith("fails: 1 part(s)")
