"""Tests for flowstone.codec: exact round trips, useful errors, and safe decoding.

Equality alone cannot prove a round trip (``1 == True == 1.0``, ``-0.0 == 0.0``,
``Decimal("1.0") == Decimal("1.00")``, and NaN equals nothing), so the properties compare
:func:`canonical` forms, which spell out the type and exact value at every level. NaN
floats and NaN Decimals are therefore compared by their canonical text: a NaN round trips
when it comes back as a NaN of the same type (and, for Decimal, the same sign and payload).
"""

from __future__ import annotations

import ast
import collections
import contextlib
import enum
import inspect
import json
import math
import socket
import struct
import sys
import threading
import tracemalloc
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from types import ModuleType
from typing import Any, NamedTuple
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowstone import codec
from flowstone.codec import (
    DEFAULT_MAX_VALUE_BYTES,
    FORMAT_VERSION,
    decode,
    decode_json,
    encode,
    encode_json,
)
from flowstone.errors import DecodeError, EncodeError


def canonical(value: Any) -> Any:
    """Return a hashable form of ``value`` that differs whenever its types or exact values do."""
    kind = type(value)
    if kind is float:
        return ("float", value.hex())  # keeps -0.0 and makes NaN equal to NaN
    if kind is Decimal:
        return ("Decimal", str(value))  # keeps the exponent, the sign and NaN payloads
    if kind is list or kind is tuple:
        return (kind.__name__, tuple(canonical(item) for item in value))
    if kind is dict:
        return ("dict", tuple((canonical(k), canonical(v)) for k, v in value.items()))
    if kind is set or kind is frozenset:
        return (kind.__name__, frozenset(canonical(item) for item in value))
    if kind is datetime or kind is time:
        return (kind.__name__, value.isoformat(), value.fold, value.utcoffset())
    return (kind.__name__, value)


def assert_round_trips(value: Any) -> Any:
    """Encode and decode ``value``, check the result is identical in types and values."""
    result = decode(encode(value))
    assert canonical(result) == canonical(value)
    return result


# --- strategies ----------------------------------------------------------------------------

fixed_offsets = st.builds(
    timezone,
    st.timedeltas(min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23)),
)
big_ints = st.integers(min_value=-(2**200), max_value=2**200) | st.sampled_from(
    [2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1, -(2**64)]
)


def leaves(*, nan: bool) -> st.SearchStrategy[Any]:
    """Hashable scalars of every supported type; NaN only when asked for."""
    return st.one_of(
        st.none(),
        st.booleans(),
        big_ints,
        st.floats(allow_nan=nan),
        st.text(),
        st.binary(),
        st.dates(),
        st.datetimes(),
        st.datetimes(timezones=fixed_offsets),
        st.times(),
        st.times(timezones=fixed_offsets),
        # Decimal NaN cannot be hashed (signalling) or compared, so it joins only when asked.
        st.decimals(allow_nan=False, allow_infinity=True),
        st.uuids(),
    )


def hashables(*, nan: bool) -> st.SearchStrategy[Any]:
    """Scalars, and tuples and frozensets of them: what may be a dict key or set element."""
    return st.recursive(
        leaves(nan=nan),
        lambda inner: st.lists(inner, max_size=3).map(tuple) | st.frozensets(inner, max_size=3),
        max_leaves=6,
    )


def values(*, nan: bool) -> st.SearchStrategy[Any]:
    """Any supported value, containers nested in containers."""
    keys = st.text() | big_ints | hashables(nan=nan)
    scalars = leaves(nan=nan)
    if nan:
        scalars |= st.floats(allow_nan=True) | st.decimals(allow_nan=True)
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=5),
            st.lists(inner, max_size=5).map(tuple),
            st.dictionaries(keys, inner, max_size=5),
            st.sets(hashables(nan=nan), max_size=5),
            st.frozensets(hashables(nan=nan), max_size=5),
        ),
        max_leaves=25,
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=25,
)


# --- round trips ---------------------------------------------------------------------------


class TestRoundTrip:
    @settings(max_examples=300, deadline=None)
    @given(values(nan=False))
    def test_decoding_an_encoded_value_gives_an_equal_value_with_the_same_types(self, value: Any) -> None:
        result = assert_round_trips(value)
        assert result == value

    @settings(deadline=None)
    @given(values(nan=True))
    def test_nan_floats_and_decimals_come_back_as_nan_of_the_same_type(self, value: Any) -> None:
        assert_round_trips(value)

    @pytest.mark.parametrize(
        "value",
        [
            1,
            True,
            1.0,
            -0.0,
            "1",
            b"1",
            [1],
            (1,),
            {1},
            frozenset({1}),
            date(2025, 1, 1),
            datetime(2025, 1, 1),
            Decimal("1.0"),
            Decimal("1.00"),
        ],
        ids=repr,
    )
    def test_values_that_compare_equal_keep_their_own_type(self, value: Any) -> None:
        assert type(assert_round_trips(value)) is type(value)

    def test_dict_keys_come_back_with_their_types(self) -> None:
        value = {
            1: "int",
            "1": "str",
            1.5: "float",
            None: "none",
            b"1": "bytes",
            (1, "a"): "tuple",
            frozenset({2}): "frozenset",
            date(2025, 1, 1): "date",
            UUID(int=7): "uuid",
            2**100: "big int",
        }
        assert assert_round_trips(value) == value

    def test_dict_order_is_kept(self) -> None:
        value = {"b": 1, "a": 2, 3: 3}
        assert list(decode(encode(value))) == ["b", "a", 3]

    @pytest.mark.parametrize(
        "number", [2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 10**100, -(10**100)]
    )
    def test_ints_of_any_size_round_trip(self, number: int) -> None:
        assert assert_round_trips(number) == number

    @pytest.mark.parametrize("text", ["NaN", "-NaN", "sNaN", "-sNaN12", "Infinity", "-Infinity"])
    def test_decimal_nan_and_infinity_keep_their_sign_and_payload(self, text: str) -> None:
        assert str(decode(encode(Decimal(text)))) == text

    def test_float_nan_comes_back_as_nan(self) -> None:
        result = decode(encode([math.nan, math.inf, -math.inf]))
        assert math.isnan(result[0])
        assert result[1:] == [math.inf, -math.inf]

    def test_aware_datetime_keeps_its_wall_clock_and_offset(self) -> None:
        zone = timezone(timedelta(hours=-5, minutes=-30))
        value = datetime(2025, 3, 1, 12, 30, 15, 123456, tzinfo=zone)
        result = assert_round_trips(value)
        assert (result.hour, result.utcoffset()) == (12, timedelta(hours=-5, minutes=-30))

    def test_naive_datetime_and_time_stay_naive_and_keep_fold(self) -> None:
        value = [datetime(2025, 10, 26, 2, 30, fold=1), time(2, 30, fold=1)]
        result = assert_round_trips(value)
        assert [item.tzinfo for item in result] == [None, None]
        assert [item.fold for item in result] == [1, 1]

    def test_zoneinfo_datetime_comes_back_with_a_fixed_offset_at_the_same_instant(self) -> None:
        try:
            berlin = ZoneInfo("Europe/Berlin")
        except ZoneInfoNotFoundError:  # pragma: no cover - depends on the machine's tz data
            pytest.skip("no time zone data on this machine")
        value = datetime(2025, 7, 1, 9, 0, tzinfo=berlin)
        result = decode(encode(value))
        assert result == value
        assert result.tzinfo == timezone(timedelta(hours=2))

    def test_shared_sub_values_are_encoded_each_time_they_appear(self) -> None:
        shared = [1, 2]
        assert decode(encode({"a": shared, "b": shared})) == {"a": [1, 2], "b": [1, 2]}

    def test_containers_nested_a_thousand_deep_round_trip(self) -> None:
        value: Any = 0
        for level in range(1000):
            value = (value,) if level % 2 else [value]
        data = encode(value)
        assert encode(decode(data)) == data  # == itself would recurse too deeply

    def test_valid_values_are_never_walked(self, monkeypatch: pytest.MonkeyPatch) -> None:
        def fail(*args: object) -> None:
            raise AssertionError("the locator ran for a valid value")

        monkeypatch.setattr(codec, "_locate", fail)
        value = {"rows": [(i, str(i), {i}, date(2025, 1, 1)) for i in range(100)]}
        assert decode(encode(value)) == value

    def test_output_starts_with_the_format_version_byte(self) -> None:
        assert encode(None)[0] == FORMAT_VERSION == 1


# --- what cannot be encoded ----------------------------------------------------------------


def callback() -> None:
    """A named function, as an asset might return by mistake."""


def numbers() -> Iterator[int]:
    yield 1


class Pair(NamedTuple):
    a: int
    b: int


class Text(str):
    """A str subclass, as some libraries return for their strings."""


class Color(enum.IntEnum):
    RED = 1


class TestUnencodableValues:
    def error_for(self, value: Any) -> EncodeError:
        with pytest.raises(EncodeError) as caught:
            encode(value)
        return caught.value

    def test_function_is_reported_with_its_path_and_what_to_return_instead(self) -> None:
        err = self.error_for({"name": "job", "callback": callback})
        assert err.path == "value['callback']"
        assert str(err).startswith("value['callback']: function is not serializable")
        assert "return plain data: dict, list, str" in str(err)

    def test_lambda_deep_inside_lists_and_dicts_is_reported_with_its_path(self) -> None:
        err = self.error_for([{"ok": 1}, {"rows": [[0], [1, lambda: 1]]}])
        assert err.path == "value[1]['rows'][1][1]"
        assert "function is not serializable" in str(err)

    def test_lock_is_reported_with_its_path(self) -> None:
        err = self.error_for({"rows": [[0], [1], [2], (3, threading.Lock())]})
        assert err.path == "value['rows'][3][1]"
        assert str(err).startswith("value['rows'][3][1]: Lock is not serializable")

    def test_generator_is_reported_with_its_path(self) -> None:
        err = self.error_for({"stream": numbers()})
        assert err.path == "value['stream']"
        assert "generator is not serializable" in str(err)

    def test_socket_is_reported_with_its_path(self) -> None:
        with socket.socket() as sock:
            err = self.error_for({"conn": [sock]})
        assert err.path == "value['conn'][0]"
        assert "socket is not serializable" in str(err)

    def test_module_is_reported_with_its_path(self) -> None:
        module = ModuleType("helpers")
        err = self.error_for((1, module))
        assert err.path == "value[1]"
        assert "module is not serializable" in str(err)

    def test_instance_of_an_unknown_class_is_reported_with_its_path(self) -> None:
        class Point:
            pass

        err = self.error_for({"points": [Point()]})
        assert err.path == "value['points'][0]"
        assert "Point is not serializable" in str(err)

    def test_bad_top_level_value_has_the_path_value(self) -> None:
        assert self.error_for(object()).path == "value"

    def test_int_dict_key_appears_in_the_path_as_written(self) -> None:
        assert self.error_for({3: {"f": callback}}).path == "value[3]['f']"

    @pytest.mark.parametrize(
        ("value", "base"),
        [
            (collections.OrderedDict(a=1), "dict"),
            (collections.defaultdict(list), "dict"),
            (Pair(1, 2), "tuple"),
            (Text("x"), "str"),
        ],
        ids=["OrderedDict", "defaultdict", "namedtuple", "str subclass"],
    )
    def test_subclass_of_a_supported_type_is_rejected_with_a_hint_to_convert(
        self, value: Any, base: str
    ) -> None:
        err = self.error_for({"x": value})
        assert err.path == "value['x']"
        assert f"subclass of {base}" in str(err)
        assert f"convert it to {base}" in str(err)

    def test_enum_member_is_rejected_with_a_hint_to_store_its_value(self) -> None:
        assert ".value" in str(self.error_for([Color.RED]))

    def test_bad_set_element_is_reported_at_the_set(self) -> None:
        err = self.error_for({"tags": {("a", callback)}})
        assert err.path == "value['tags']"
        assert "value['tags'] (in a set element): function is not serializable" in str(err)

    def test_bad_dict_key_is_reported_at_the_dict(self) -> None:
        err = self.error_for({"index": {(1, callback): "x"}})
        assert err.path == "value['index']"
        assert "(in a dict key)" in str(err)

    def test_reference_cycle_is_reported_where_it_closes(self) -> None:
        rows: list[Any] = [1]
        rows.append({"parent": rows})
        err = self.error_for({"rows": rows})
        assert err.path == "value['rows'][1]['parent']"
        assert "reference cycle" in str(err)

    def test_unpaired_surrogate_in_a_str_is_reported_with_its_path(self) -> None:
        err = self.error_for({"name": "bad \ud800 text"})
        assert err.path == "value['name']"
        assert "surrogate" in str(err)

    def test_value_nested_too_deeply_is_rejected(self) -> None:
        value: Any = []
        for _ in range(1100):
            value = [value]
        assert "more than about 1023 deep" in str(self.error_for(value))

    def test_encode_error_is_also_a_type_error(self) -> None:
        with pytest.raises(TypeError):
            encode(callback)


class TestSizeLimit:
    def test_default_limit_is_64_mib(self) -> None:
        assert DEFAULT_MAX_VALUE_BYTES == 64 * 1024 * 1024

    def test_value_over_the_limit_says_size_limit_and_what_to_do(self) -> None:
        with pytest.raises(EncodeError) as caught:
            encode(b"x" * 2000, max_bytes=1000)
        message = str(caught.value)
        assert "2,004 bytes" in message
        assert "1,000 bytes" in message
        assert "Files IO manager" in message
        assert "max_value_bytes" in message

    def test_value_exactly_at_the_limit_is_accepted(self) -> None:
        size = len(encode("x" * 100))
        assert decode(encode("x" * 100, max_bytes=size)) == "x" * 100


# --- hostile nesting -----------------------------------------------------------------------


def nested(depth: int, leaf: Any = 0) -> Any:
    """``depth`` lists, one inside the other, around ``leaf``."""
    value: Any = [leaf]
    for _ in range(depth - 1):
        value = [value]
    return value


def peak_bytes_of(action: Any) -> int:
    """The most memory Python allocated while ``action()`` ran (its EncodeError expected)."""
    tracemalloc.start()
    try:
        with pytest.raises(EncodeError):
            action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


class TestDeepValues:
    """A deep value is refused where it crosses the nesting limit, in memory linear in its size.

    A list nested 100,000 deep is about 6 MB of objects; explaining it once kept a path string
    per pending part, so memory grew with the square of the depth (15 GB for this one).
    """

    def test_list_nested_100000_deep_is_refused_at_the_limit_in_a_few_megabytes(self) -> None:
        value = nested(100_000)
        caught: list[EncodeError] = []

        def encode_it() -> None:
            try:
                encode(value)
            except EncodeError as exc:
                caught.append(exc)
                raise

        assert peak_bytes_of(encode_it) < 4 * 2**20
        assert caught[0].path == "value" + "[0]" * 1024
        assert "nests containers more than about 1023 deep" in str(caught[0])
        assert "flatten it" in str(caught[0])

    def test_json_list_nested_100000_deep_is_refused_at_the_json_limit_in_a_few_megabytes(
        self,
    ) -> None:
        value = nested(100_000)
        assert peak_bytes_of(lambda: encode_json(value)) < 4 * 2**20
        with pytest.raises(EncodeError, match="more than about 511 deep") as caught:
            encode_json(value)
        assert caught.value.path == "value" + "[0]" * 512

    def test_explaining_a_deep_value_costs_memory_linear_in_its_depth(self) -> None:
        peaks = [peak_bytes_of(lambda d=depth: encode(nested(d, callback))) for depth in (250, 500, 1000)]
        # Linear: 500 more levels cost about twice what 250 more did (quadratic: four times).
        assert peaks[2] - peaks[1] < 3 * (peaks[1] - peaks[0])

    def test_unencodable_leaf_at_the_deepest_level_allowed_is_reported_with_its_path(self) -> None:
        with pytest.raises(EncodeError, match="function is not serializable") as caught:
            encode(nested(1023, callback))
        assert caught.value.path == "value" + "[0]" * 1023

    def test_values_at_the_nesting_limits_still_encode_and_one_level_more_is_refused(self) -> None:
        assert encode(decode(encode(nested(1023)))) == encode(nested(1023))  # 1,024 levels
        assert decode_json(encode_json(nested(511))) == nested(511)  # 512 levels
        with pytest.raises(EncodeError, match="more than about 1023 deep") as caught:
            encode(nested(1024))
        assert caught.value.path == "value" + "[0]" * 1024  # the leaf, at level 1,025
        with pytest.raises(EncodeError, match="more than about 511 deep"):
            encode_json(nested(512))

    def test_deep_tuple_nested_in_a_dict_key_is_refused_at_the_dict(self) -> None:
        key: Any = ()
        for _ in range(100_000):
            key = (key,)
        with pytest.raises(EncodeError, match="in a dict key") as caught:
            encode({"index": {key: 1}})
        assert caught.value.path == "value['index']"
        with pytest.raises(EncodeError, match=r"dict key \(\(\(") as caught:
            encode_json({"index": {key: 1}})  # its repr is shortened, not a RecursionError
        assert caught.value.path == "value['index']"

    def test_json_encoding_with_little_python_stack_left_raises_encode_error(self) -> None:
        value = nested(400)

        def call_deep_in_the_stack(frames_left: int) -> str:
            if frames_left > 100:
                return call_deep_in_the_stack(frames_left - 1)
            return encode_json(value)

        frames_used = len(inspect.stack(0))
        with pytest.raises(EncodeError, match="nests too deeply for json"):
            call_deep_in_the_stack(sys.getrecursionlimit() - frames_used)


# --- decoding bad bytes --------------------------------------------------------------------


def framed(value: Any) -> bytes:
    """Raw msgpack after a valid version byte, to hand-craft what the encoder never writes."""
    packed: bytes = msgpack.packb(value, use_bin_type=True)
    return bytes([FORMAT_VERSION]) + packed


NEW_YEAR = struct.pack("<HBBBBBIB", 2025, 1, 1, 0, 0, 0, 0, 0)  # a datetime ext's fields


class TestDecodeErrors:
    def test_unknown_format_version_is_rejected(self) -> None:
        data = bytearray(encode({"a": 1}))
        data[0] = 2
        with pytest.raises(DecodeError, match="unknown codec format version 2"):
            decode(bytes(data))

    def test_json_text_passed_to_decode_gets_a_hint(self) -> None:
        with pytest.raises(DecodeError, match="decode_json"):
            decode(b'{"a": 1}')

    @pytest.mark.parametrize(
        "data",
        [
            b"",
            b"\x01",
            b"\x01\xc1",
            b"\x01\x92\x01",
            encode([1, 2]) + b"\x00",
            b"\x01\xa2\xff\xfe",
            framed(msgpack.ExtType(99, b"")),
            framed(msgpack.ExtType(5, b"\x01")),
            framed(msgpack.ExtType(5, struct.pack("<HBB", 2025, 13, 1))),
            framed(msgpack.ExtType(2, b"")),
            framed([1, msgpack.ExtType(2, b"")]),
            framed([msgpack.ExtType(3, b""), [1]]),
            b"\x01\x81\x91\x01\x02",
            framed(msgpack.ExtType(7, NEW_YEAR + b"\x00\x00")),
            framed(msgpack.ExtType(7, NEW_YEAR + struct.pack("<q", 25 * 3600 * 10**6))),
        ],
        ids=[
            "empty",
            "version only",
            "never-used byte",
            "truncated",
            "trailing bytes",
            "invalid utf-8",
            "unknown ext",
            "short date",
            "month 13",
            "lone tuple marker",
            "marker not first",
            "unhashable set element",
            "list as map key",
            "cut UTC offset",
            "UTC offset of 25 hours",
        ],
    )
    def test_bad_bytes_raise_decode_error(self, data: bytes) -> None:
        with pytest.raises(DecodeError):
            decode(data)

    def test_non_bytes_input_raises_decode_error(self) -> None:
        with pytest.raises(DecodeError, match="expected bytes"):
            decode("not bytes")  # type: ignore[arg-type]

    @given(st.binary(max_size=64))
    def test_arbitrary_bytes_decode_or_raise_decode_error_only(self, data: bytes) -> None:
        with contextlib.suppress(DecodeError):
            decode(bytes([FORMAT_VERSION]) + data)

    @given(values(nan=False), st.data())
    def test_corrupted_encodings_decode_or_raise_decode_error_only(
        self, value: Any, data: st.DataObject
    ) -> None:
        encoded = bytearray(encode(value))
        index = data.draw(st.integers(1, len(encoded) - 1) if len(encoded) > 1 else st.just(0))
        encoded[index] = data.draw(st.integers(0, 255))
        with contextlib.suppress(DecodeError):
            decode(bytes(encoded))


def test_codec_imports_and_calls_nothing_that_could_run_code_from_data() -> None:
    tree = ast.parse(inspect.getsource(codec))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}  # fmt: skip
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    allowed = {
        "__future__", "collections.abc", "dataclasses", "datetime", "decimal", "enum",
        "flowstone.errors", "flowstone._codec_explain", "json", "math", "msgpack", "struct", "types",
        "typing", "uuid",
    }  # fmt: skip
    assert imported <= allowed
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    assert not names & {"eval", "exec", "compile", "__import__", "getattr", "import_module"}


# --- JSON ----------------------------------------------------------------------------------


class TestJson:
    @settings(deadline=None)
    @given(json_values)
    def test_json_values_round_trip_with_their_types(self, value: Any) -> None:
        text = encode_json(value)
        assert json.loads(text) == value
        assert canonical(decode_json(text)) == canonical(value)

    def test_json_text_is_compact_and_keeps_non_ascii_readable(self) -> None:
        assert encode_json({"city": "Köln", "n": [1, 2.5]}) == '{"city":"Köln","n":[1,2.5]}'

    def test_tuple_is_rejected_because_it_would_come_back_as_a_list(self) -> None:
        with pytest.raises(EncodeError) as caught:
            encode_json({"point": (1, 2)})
        assert caught.value.path == "value['point']"
        assert "come back as a list" in str(caught.value)

    @pytest.mark.parametrize(
        ("value", "path"),
        [
            ({"day": date(2025, 1, 1)}, "value['day']"),
            ([1, {2, 3}], "value[1]"),
            ({"raw": b"x"}, "value['raw']"),
            ({"price": Decimal("1.5")}, "value['price']"),
            ({"d": collections.OrderedDict()}, "value['d']"),
            ({"f": callback}, "value['f']"),
        ],
        ids=["date", "set", "bytes", "Decimal", "dict subclass", "function"],
    )
    def test_non_json_types_are_rejected_with_path_and_pointer_to_msgpack(
        self, value: Any, path: str
    ) -> None:
        with pytest.raises(EncodeError) as caught:
            encode_json(value)
        assert caught.value.path == path
        assert "JSON types" in str(caught.value)
        assert "default msgpack format" in str(caught.value)

    @pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf])
    def test_nan_and_infinity_are_rejected(self, number: float) -> None:
        with pytest.raises(EncodeError) as caught:
            encode_json({"x": [number]})
        assert caught.value.path == "value['x'][0]"

    def test_non_str_dict_key_is_rejected_because_json_would_make_it_a_str(self) -> None:
        with pytest.raises(EncodeError, match="dict key 1") as caught:
            encode_json({"counts": {1: "one"}})
        assert caught.value.path == "value['counts']"

    def test_unpaired_surrogate_is_rejected(self) -> None:
        with pytest.raises(EncodeError, match="surrogate"):
            encode_json(["\udc80"])

    def test_json_over_the_size_limit_is_rejected(self) -> None:
        with pytest.raises(EncodeError, match="max_value_bytes"):
            encode_json("ä" * 600, max_bytes=1000)  # 1,202 bytes of UTF-8, 602 characters

    @pytest.mark.parametrize("text", ["", "{", "[1,]", "NaN", "[Infinity]", "-Infinity", "\x00"])
    def test_bad_json_text_raises_decode_error(self, text: str) -> None:
        with pytest.raises(DecodeError):
            decode_json(text)
