"""Tests for flowstone.partitions: the allowed values, their text form, and ranges."""

from __future__ import annotations

import copy
import itertools
import tracemalloc
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowstone.errors import PartitionError
from flowstone.partitions import (
    Partition,
    daily,
    describe,
    deserialize,
    hourly,
    parse_range,
    serialize,
    static,
    validate,
)

ALLOWED = "allowed: None, str, int, date, aware datetime, or tuples of these nested at most 4 deep"
PLUS_TWO = timezone(timedelta(hours=2))
MINUS_FIVE_THIRTY = timezone(-timedelta(hours=5, minutes=30))

# --- strategies ------------------------------------------------------------------------

# Strings may hold any code point but NUL and lone surrogates (category Cs).
storable_chars = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
texts = st.text(alphabet=storable_chars, max_size=6)
offsets = st.timedeltas(
    min_value=-timedelta(hours=23, minutes=59, seconds=59, microseconds=999_999),
    max_value=timedelta(hours=23, minutes=59, seconds=59, microseconds=999_999),
)
fixed_zones = st.one_of(
    st.just(UTC),
    st.sampled_from([PLUS_TWO, MINUS_FIVE_THIRTY, timezone(timedelta(hours=14))]),
    st.builds(timezone, st.integers(-1439, 1439).map(lambda m: timedelta(minutes=m))),
    st.builds(timezone, offsets),
)
aware_datetimes = st.datetimes(timezones=fixed_zones)
scalars = st.one_of(
    st.none(),
    texts,
    st.integers(min_value=-(10**30), max_value=10**30),
    st.dates(),
    aware_datetimes,
)


def _nested(depth: int) -> st.SearchStrategy[Any]:
    if depth == 0:
        return scalars
    inner = _nested(depth - 1)
    return st.one_of(scalars, st.lists(inner, max_size=3).map(tuple))


def _worst_case_bytes(value: object) -> int:
    """An upper bound on the text size that does not depend on the code under test."""
    if isinstance(value, tuple):
        return 2 + max(len(value) - 1, 0) + sum(_worst_case_bytes(item) for item in value)
    return 48  # a 6-char string fully escaped (38) or a datetime with offset seconds (42)


partitions = _nested(4).filter(lambda p: _worst_case_bytes(p) <= 1024)


def assert_identical(actual: object, expected: object, path: str = "partition") -> None:
    """Assert equal values of the same type at every level, and equal UTC offsets.

    Plain ``==`` is not enough: ``1 == True``, a datetime may equal another with a
    different offset, and ``(1,) == (1,)`` says nothing about the element types.
    """
    assert type(actual) is type(expected), f"{path}: {type(actual)} is not {type(expected)}"
    if isinstance(expected, tuple):
        assert isinstance(actual, tuple)
        assert len(actual) == len(expected), path
        for index, (got, want) in enumerate(zip(actual, expected, strict=True)):
            assert_identical(got, want, f"{path}[{index}]")
    elif isinstance(expected, datetime):
        assert isinstance(actual, datetime)
        assert actual.utcoffset() == expected.utcoffset(), path
        assert actual.replace(tzinfo=None) == expected.replace(tzinfo=None), path
    else:
        assert actual == expected, path


# --- round trips -----------------------------------------------------------------------


class TestRoundTrip:
    @given(partitions)
    def test_every_allowed_partition_round_trips_with_its_types(self, value: Partition) -> None:
        assert_identical(deserialize(serialize(value)), value)

    @given(partitions)
    def test_serialized_text_is_canonical_so_it_round_trips_the_other_way(self, value: Partition) -> None:
        text = serialize(value)
        assert serialize(deserialize(text)) == text

    @given(st.text(alphabet=storable_chars, max_size=170))  # 170 controls escape to 1,022 bytes
    def test_long_strings_of_any_unicode_round_trip(self, value: str) -> None:
        assert_identical(deserialize(serialize(value)), value)

    @given(st.integers(min_value=-(10**1000), max_value=10**1000))
    def test_large_ints_round_trip(self, value: int) -> None:
        assert_identical(deserialize(serialize(value)), value)

    @pytest.mark.parametrize("value", ["2024-01-01", "1", "-1", "null", "None", "()", "(1)", ""])
    def test_string_that_looks_like_another_type_stays_a_string(self, value: str) -> None:
        assert_identical(deserialize(serialize(value)), value)

    def test_string_that_looks_like_a_date_stays_a_string(self) -> None:
        assert_identical(deserialize(serialize("2024-01-01")), "2024-01-01")

    def test_int_stays_an_int_and_digit_string_stays_a_string(self) -> None:
        assert_identical(deserialize(serialize(1)), 1)
        assert_identical(deserialize(serialize("1")), "1")

    def test_date_stays_a_date_and_not_a_datetime(self) -> None:
        assert_identical(deserialize(serialize(date(2024, 1, 1))), date(2024, 1, 1))

    def test_aware_datetime_keeps_its_offset_and_microseconds(self) -> None:
        zone = timezone(-timedelta(hours=3, minutes=7, seconds=11, microseconds=5))
        value = datetime(2024, 3, 9, 23, 59, 58, 123_456, tzinfo=zone)
        back = deserialize(serialize(value))
        assert_identical(back, value)
        assert isinstance(back, datetime)
        assert back.utcoffset() == zone.utcoffset(None)

    @pytest.mark.parametrize("micros", [1, -1])
    def test_offset_of_one_microsecond_is_not_mistaken_for_utc(self, micros: int) -> None:
        # CPython 3.11's fromisoformat reads "+00:00:00.000001" as UTC.
        value = datetime(2000, 1, 1, tzinfo=timezone(timedelta(microseconds=micros)))
        assert_identical(deserialize(serialize(value)), value)

    def test_nested_tuples_stay_nested_tuples(self) -> None:
        value = ("us", (date(2024, 1, 1), (None, (), (7, "x"))))  # four deep
        assert_identical(deserialize(serialize(value)), value)

    def test_escaped_characters_round_trip(self) -> None:
        value = ('quote " backslash \\ newline \n tab \t bell \x07 del \x7f', "é😀")
        assert_identical(deserialize(serialize(value)), value)


class TestTextForm:
    @pytest.mark.parametrize(
        ("value", "text"),
        [
            (None, "null"),
            ("us-east", '"us-east"'),
            ("2024-01-01", '"2024-01-01"'),
            ("", '""'),
            ("é😀", '"é😀"'),
            ('a"b\\c', '"a\\"b\\\\c"'),
            ("line\nnext\ttab\x01", '"line\\nnext\\ttab\\u0001"'),
            (0, "0"),
            (-42, "-42"),
            (date(2024, 1, 1), "2024-01-01"),
            (date(1, 1, 1), "0001-01-01"),
            (datetime(2024, 1, 1, 5, tzinfo=PLUS_TWO), "2024-01-01T05:00:00+02:00"),
            (datetime(2024, 1, 1, 5, 0, 0, 7, tzinfo=UTC), "2024-01-01T05:00:00.000007+00:00"),
            (datetime(2024, 1, 1, tzinfo=MINUS_FIVE_THIRTY), "2024-01-01T00:00:00-05:30"),
            ((), "()"),
            ((1,), "(1)"),
            (("us", date(2024, 1, 1)), '("us",2024-01-01)'),
            ((("a", None), (1, (2,))), '(("a",null),(1,(2)))'),
        ],
    )
    def test_documented_spelling_is_stable(self, value: Partition, text: str) -> None:
        # These strings are stored by users; changing any of them orphans stored data.
        assert serialize(value) == text
        assert_identical(deserialize(text), value)

    @given(partitions)
    def test_serialize_is_deterministic_for_equal_values(self, value: Partition) -> None:
        assert serialize(value) == serialize(copy.deepcopy(value))

    def test_same_offset_from_different_tzinfo_objects_serializes_identically(self) -> None:
        by_name = timezone(timedelta(hours=2), "CEST")
        first = datetime(2024, 6, 1, 12, tzinfo=by_name)
        second = datetime(2024, 6, 1, 12, tzinfo=PLUS_TWO)
        assert serialize(first) == serialize(second)

    def test_same_instant_at_different_offsets_serializes_differently(self) -> None:
        utc = datetime(2024, 1, 1, 10, tzinfo=UTC)
        local = utc.astimezone(PLUS_TWO)
        assert utc == local
        assert serialize(utc) != serialize(local)


# --- validation ------------------------------------------------------------------------


class TestValidateAccepts:
    @given(partitions)
    def test_allowed_value_is_returned_unchanged(self, value: Partition) -> None:
        assert validate(value) is value

    def test_tuple_nested_exactly_four_deep_is_allowed(self) -> None:
        value = ((((1,),),),)
        assert validate(value) is value

    def test_serialized_form_of_exactly_1024_bytes_is_allowed(self) -> None:
        value = "x" * 1022
        assert len(serialize(value).encode()) == 1024
        assert validate(value) is value


class TestValidateRejects:
    @pytest.mark.parametrize(
        ("value", "start"),
        [
            (1.5, "partition: float 1.5 is not a partition type"),
            (b"x", "partition: bytes b'x' is not a partition type"),
            ([1], "partition: list [1] is not a partition type"),
            ({"a": 1}, "partition: dict {'a': 1} is not a partition type"),
            ({1}, "partition: set {1} is not a partition type"),
            (frozenset(), "partition: frozenset frozenset() is not a partition type"),
            (object, "partition: type <class 'object'> is not a partition type"),
        ],
    )
    def test_value_of_a_foreign_type_is_rejected_saying_what_is_allowed(
        self, value: object, start: str
    ) -> None:
        with pytest.raises(PartitionError) as caught:
            validate(value)
        assert str(caught.value) == f"{start}; {ALLOWED}"

    def test_float_inside_a_nested_tuple_is_named_by_its_path(self) -> None:
        with pytest.raises(PartitionError) as caught:
            validate(("a", (1.5,)))
        assert str(caught.value) == f"partition[1][0]: float 1.5 is not a partition type; {ALLOWED}"

    def test_bool_is_rejected_and_the_message_says_why(self) -> None:
        with pytest.raises(PartitionError, match=r"^partition\[0\]: bool True .*int subclass"):
            validate((True,))

    def test_naive_datetime_is_rejected_with_a_fix(self) -> None:
        with pytest.raises(PartitionError, match=r"^partition\[2\]: naive datetime .*tzinfo"):
            validate((1, 2, datetime(2024, 1, 1)))

    def test_arbitrary_object_is_rejected(self) -> None:
        class Thing:
            def __repr__(self) -> str:
                return "Thing()"

        with pytest.raises(PartitionError, match=r"^partition: Thing Thing\(\) is not a"):
            validate(Thing())

    def test_subclass_of_an_allowed_type_is_rejected_because_it_would_not_round_trip(
        self,
    ) -> None:
        class Region(str):
            __slots__ = ()

        with pytest.raises(PartitionError, match=r"^partition\[0\]: .*Region.* str subclass"):
            validate((Region("eu"),))

    def test_tuple_nested_five_deep_is_rejected_at_the_innermost_tuple(self) -> None:
        with pytest.raises(PartitionError) as caught:
            validate((((((1,),),),),))
        assert str(caught.value).startswith("partition[0][0][0][0]: tuple nested 5 deep")
        assert ALLOWED in str(caught.value)

    @pytest.mark.parametrize(("value", "what"), [("ab\x00", "NUL"), ("a\ud800", "lone surrogate")])
    def test_string_with_nul_or_lone_surrogate_is_rejected(self, value: str, what: str) -> None:
        with pytest.raises(PartitionError, match=rf"^partition\[1\]: str contains .*{what}"):
            validate((1, value))

    def test_serialized_form_over_1024_bytes_is_rejected(self) -> None:
        with pytest.raises(PartitionError, match=r"^partition: serialized form is 1025 bytes"):
            validate("x" * 1023)

    def test_size_limit_counts_utf8_bytes_not_characters(self) -> None:
        value = "é" * 512  # 512 characters, 1,024 bytes, 1,026 with quotes
        with pytest.raises(PartitionError, match="1026 bytes"):
            validate(value)

    def test_tuple_too_long_for_the_limit_is_rejected(self) -> None:
        with pytest.raises(PartitionError, match="1024-byte limit"):
            validate(tuple(range(600)))

    def test_int_with_too_many_digits_is_rejected_without_converting_it(self) -> None:
        # 10**5000 is past CPython's int-to-str limit: str() would raise ValueError.
        with pytest.raises(PartitionError, match="1024-byte limit"):
            validate(10**5000)

    def test_serialize_validates_first(self) -> None:
        with pytest.raises(PartitionError, match=r"^partition\[0\]: float"):
            serialize((1.5,))  # type: ignore[arg-type]


# --- deserialize -----------------------------------------------------------------------


class TestDeserializeRejects:
    @pytest.mark.parametrize(
        "text",
        [
            "",
            "(",
            ")",
            "(1,)",
            "(,)",
            "(1 ,2)",
            " 1",
            "1 ",
            '"unterminated',
            '"a"b"',
            '"raw\nnewline"',
            '"\\u0041"',  # "A" spelled the long way
            '"\\/"',
            '"\\u0000"',
            '"\\ud800"',
            "01",
            "-0",
            "+1",
            "1.5",
            "True",
            "None",
            "NULL",
            "nul",
            "2024-02-30",
            "2024-1-01",
            "2024_01_01",
            "2024-01-01T00:00:00",  # naive
            "2024-01-01T00:00:00Z",
            "2024-01-01T00:00:00.000000+00:00",
            "2024-01-01T00:00:00-00:00",
            "2024-01-01T00:00:00+00:00:00",
            "2024-01-01T00:00:00+24:00",
            "2024-01-01T00:00:00+01:60",
            "2024-01-01T24:00:00+00:00",
            "2024-01-01 00:00:00+00:00",
            "((((((1))))))",
            "(1)x",
            "x" * 2000,
        ],
    )
    def test_malformed_text_raises_partition_error(self, text: str) -> None:
        with pytest.raises(PartitionError, match="cannot deserialize"):
            deserialize(text)

    def test_text_that_is_not_a_str_raises_partition_error(self) -> None:
        with pytest.raises(PartitionError, match="bytes"):
            deserialize(b"1")  # type: ignore[arg-type]

    def test_raw_lone_surrogate_in_text_is_rejected(self) -> None:
        with pytest.raises(PartitionError):
            deserialize('("a\ud800")')


# --- describe --------------------------------------------------------------------------


class TestDescribe:
    @pytest.mark.parametrize(
        ("value", "text"),
        [
            (None, "None"),
            ("us-east", "us-east"),
            (42, "42"),
            (date(2024, 1, 1), "2024-01-01"),
            (datetime(2024, 1, 1, 5, tzinfo=UTC), "2024-01-01T05:00:00+00:00"),
            (("us", date(2024, 1, 1)), "(us, 2024-01-01)"),
            (("a", (1, None)), "(a, (1, None))"),
            ((), "()"),
        ],
    )
    def test_describe_gives_a_short_human_form(self, value: Partition, text: str) -> None:
        assert describe(value) == text

    def test_describe_of_an_invalid_value_does_not_raise(self) -> None:
        assert describe((1.5, True)) == "(1.5, True)"


# --- ranges ----------------------------------------------------------------------------


def _allocated_while(action: Any) -> int:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


class TestDaily:
    def test_daily_includes_both_ends(self) -> None:
        assert list(daily(date(2024, 2, 27), date(2024, 3, 1))) == [
            date(2024, 2, 27),
            date(2024, 2, 28),
            date(2024, 2, 29),
            date(2024, 3, 1),
        ]

    def test_daily_accepts_iso_date_strings(self) -> None:
        days = list(daily("2024-12-31", "2025-01-01"))
        assert days == [date(2024, 12, 31), date(2025, 1, 1)]
        assert all(type(day) is date for day in days)

    def test_single_day_range_yields_that_day(self) -> None:
        assert list(daily(date(2024, 1, 1), date(2024, 1, 1))) == [date(2024, 1, 1)]

    def test_range_ending_at_the_last_representable_day_stops_cleanly(self) -> None:
        assert list(daily(date.max - timedelta(days=1), date.max)) == [
            date.max - timedelta(days=1),
            date.max,
        ]

    def test_end_before_start_raises_when_called_not_when_iterated(self) -> None:
        with pytest.raises(PartitionError, match="before it starts"):
            daily("2024-01-02", "2024-01-01")

    @pytest.mark.parametrize(
        ("start", "end"),
        [
            ("2024-13-01", "2024-12-01"),
            ("20240101", "2024-01-02"),
            ("2024-01-01", "soon"),
            (datetime(2024, 1, 1, tzinfo=UTC), date(2024, 1, 2)),
            (20240101, date(2024, 1, 2)),
        ],
    )
    def test_bad_bound_raises_partition_error(self, start: Any, end: Any) -> None:
        with pytest.raises(PartitionError):
            daily(start, end)

    def test_million_day_range_is_lazy(self) -> None:
        start = date(2000, 1, 1)
        end = start + timedelta(days=10**6 - 1)

        def take_three() -> None:
            assert list(itertools.islice(daily(start, end), 3)) == [
                start,
                start + timedelta(days=1),
                start + timedelta(days=2),
            ]

        # A list of a million dates would need tens of megabytes.
        assert _allocated_while(take_three) < 100_000


class TestHourly:
    def test_hourly_includes_both_ends_one_hour_apart(self) -> None:
        start = datetime(2024, 1, 1, 22, tzinfo=UTC)
        hours = list(hourly(start, start + timedelta(hours=3)))
        assert hours == [start + timedelta(hours=step) for step in range(4)]
        assert all(hour.utcoffset() == timedelta(0) for hour in hours)

    def test_hourly_keeps_the_start_offset(self) -> None:
        start = datetime(2024, 1, 1, tzinfo=PLUS_TWO)
        hours = list(hourly(start, datetime(2024, 1, 1, 1, tzinfo=UTC)))
        assert len(hours) == 4  # 00:00+02 is 22:00Z, so 22, 23, 00 and 01 UTC
        assert all(hour.utcoffset() == timedelta(hours=2) for hour in hours)

    def test_hourly_accepts_iso_strings_with_offsets(self) -> None:
        hours = list(hourly("2025-01-01T00:00:00+00:00", "2025-01-01T02:00:00+00:00"))
        assert hours == [datetime(2025, 1, 1, hour, tzinfo=UTC) for hour in range(3)]

    def test_end_between_hours_is_not_exceeded(self) -> None:
        start = datetime(2024, 1, 1, tzinfo=UTC)
        hours = list(hourly(start, start + timedelta(hours=2, minutes=30)))
        assert hours[-1] == start + timedelta(hours=2)

    def test_every_hour_is_a_valid_partition(self) -> None:
        start = datetime(2024, 1, 1, tzinfo=MINUS_FIVE_THIRTY)
        for hour in hourly(start, start + timedelta(hours=5)):
            assert_identical(deserialize(serialize(hour)), hour)

    @pytest.mark.parametrize(
        ("start", "end"),
        [
            (datetime(2024, 1, 1), datetime(2024, 1, 2, tzinfo=UTC)),
            ("2024-01-01T00:00:00", "2024-01-01T05:00:00+00:00"),
            (date(2024, 1, 1), datetime(2024, 1, 2, tzinfo=UTC)),
            ("not a time", "2024-01-01T05:00:00+00:00"),
            (datetime(2024, 1, 2, tzinfo=UTC), datetime(2024, 1, 1, tzinfo=UTC)),
        ],
    )
    def test_naive_wrong_typed_or_reversed_bounds_raise(self, start: Any, end: Any) -> None:
        with pytest.raises(PartitionError):
            hourly(start, end)

    def test_million_hour_range_is_lazy(self) -> None:
        start = datetime(2000, 1, 1, tzinfo=UTC)
        end = start + timedelta(hours=10**6)

        def take_two() -> None:
            assert list(itertools.islice(hourly(start, end), 2)) == [
                start,
                start + timedelta(hours=1),
            ]

        assert _allocated_while(take_two) < 100_000


class TestStatic:
    def test_static_returns_the_values_as_a_tuple_in_order(self) -> None:
        assert static(["b", "a", 3, ("x", date(2024, 1, 1))]) == (
            "b",
            "a",
            3,
            ("x", date(2024, 1, 1)),
        )

    def test_static_accepts_any_iterable(self) -> None:
        assert static(iter(range(3))) == (0, 1, 2)

    def test_duplicate_value_is_rejected_naming_both_positions(self) -> None:
        with pytest.raises(PartitionError, match=r"values\[2\].*values\[0\]"):
            static(["eu", "us", "eu"])

    def test_same_instant_at_two_offsets_is_a_duplicate(self) -> None:
        utc = datetime(2024, 1, 1, tzinfo=UTC)
        with pytest.raises(PartitionError, match="repeats"):
            static([utc, utc.astimezone(PLUS_TWO)])

    def test_int_and_its_string_are_not_duplicates(self) -> None:
        assert static([1, "1"]) == (1, "1")

    def test_invalid_value_is_named_by_its_position(self) -> None:
        with pytest.raises(PartitionError, match=r"^values\[1\]\[0\]: float"):
            static(["a", (1.5,)])  # type: ignore[list-item]

    def test_single_string_is_rejected_instead_of_split_into_characters(self) -> None:
        with pytest.raises(PartitionError, match="single str"):
            static("abc")


class TestParseRange:
    def test_date_range_parses_into_inclusive_days(self) -> None:
        days = list(parse_range("2025-01-01..2025-01-31"))
        assert len(days) == 31
        assert days[0] == date(2025, 1, 1)
        assert days[-1] == date(2025, 1, 31)
        assert all(type(day) is date for day in days)

    def test_datetime_range_parses_into_inclusive_hours(self) -> None:
        hours = list(parse_range("2025-01-01T00:00:00+00:00..2025-01-01T05:00:00+00:00"))
        assert hours == [datetime(2025, 1, 1, hour, tzinfo=UTC) for hour in range(6)]

    def test_surrounding_whitespace_is_ignored(self) -> None:
        assert list(parse_range(" 2025-01-01 .. 2025-01-02 ")) == [
            date(2025, 1, 1),
            date(2025, 1, 2),
        ]

    def test_huge_range_is_lazy(self) -> None:
        def take_one() -> None:
            assert next(iter(parse_range("0001-01-01..9999-12-31"))) == date(1, 1, 1)

        assert _allocated_while(take_one) < 100_000

    @pytest.mark.parametrize(
        "text",
        [
            "",
            "2025-01-01",
            "2025-01-01..",
            "..2025-01-01",
            "2025-01-01...2025-01-02",
            "2025-01-01..2025-01-02..2025-01-03",
            "2025-01-01-2025-01-31",
            "2025-01-31..2025-01-01",
            "2025-01-01..2025-01-01T05:00:00+00:00",
            "2025-01-01T00:00:00..2025-01-01T05:00:00",
            "yesterday..today",
        ],
    )
    def test_malformed_range_raises_partition_error(self, text: str) -> None:
        with pytest.raises(PartitionError):
            parse_range(text)
