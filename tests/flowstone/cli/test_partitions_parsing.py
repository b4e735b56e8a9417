"""Partitions on the command line are parsed one way everywhere (``flowstone.cli._partitions``)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta, timezone

import click
import pytest

import flowstone as fs
from flowstone.cli._partitions import parse_many, parse_one

PLUS_TWO = timezone(timedelta(hours=2))


class TestParseOne:
    def test_a_yyyy_mm_dd_text_is_a_date(self) -> None:
        value = parse_one("2025-01-01")
        assert type(value) is date
        assert value == date(2025, 1, 1)

    def test_a_datetime_with_an_offset_is_an_aware_datetime(self) -> None:
        value = parse_one("2025-01-01T05:00:00+02:00")
        assert isinstance(value, datetime)
        assert value.utcoffset() == timedelta(hours=2)
        assert value == datetime(2025, 1, 1, 3, 0, tzinfo=UTC)

    @pytest.mark.parametrize(("text", "expected"), [("42", 42), ("-7", -7), ("0", 0)])
    def test_an_integer_text_is_an_int(self, text: str, expected: int) -> None:
        value = parse_one(text)
        assert type(value) is int
        assert value == expected

    @pytest.mark.parametrize("text", ["eu", "2025-01", "4.2", "007", "+5"])
    def test_anything_else_stays_a_string(self, text: str) -> None:
        assert parse_one(text) == text

    def test_a_naive_datetime_is_a_bad_parameter_that_says_to_add_an_offset(self) -> None:
        with pytest.raises(click.BadParameter, match=r"naive datetime; add its UTC offset"):
            parse_one("2025-01-01T05:00:00")

    @pytest.mark.parametrize("text", ["2025-01-01", "42", "2025-01-01T05:00:00+02:00"])
    def test_partition_str_keeps_the_text(self, text: str) -> None:
        assert parse_one(text, as_string=True) == text

    def test_no_partition_stays_none(self) -> None:
        assert parse_one(None) is None

    def test_an_impossible_date_is_a_bad_parameter(self) -> None:
        with pytest.raises(click.BadParameter, match="2025-02-30"):
            parse_one("2025-02-30")


class TestParseMany:
    def test_a_comma_separated_text_is_a_list_of_parsed_partitions(self) -> None:
        assert list(parse_many("a,b,c")) == ["a", "b", "c"]
        assert list(parse_many("2025-01-01,eu,3")) == [date(2025, 1, 1), "eu", 3]

    def test_a_single_partition_is_a_list_of_one(self) -> None:
        assert list(parse_many("eu")) == ["eu"]

    def test_partition_str_keeps_the_whole_text_as_one_string(self) -> None:
        assert list(parse_many("a,b..c", as_string=True)) == ["a,b..c"]

    def test_a_date_range_is_every_day_inclusive_with_a_length(self) -> None:
        days = parse_many("2025-01-01..2025-01-31")
        assert len(days) == 31  # type: ignore[arg-type]
        values = list(days)
        assert values == [date(2025, 1, 1) + timedelta(days=n) for n in range(31)]

    def test_a_date_range_is_lazy(self) -> None:
        days = parse_many("0001-01-01..9999-12-31")
        assert not isinstance(days, list | tuple)
        assert len(days) == (date(9999, 12, 31) - date(1, 1, 1)).days + 1  # type: ignore[arg-type]
        assert list(itertools.islice(days, 2)) == [date(1, 1, 1), date(1, 1, 2)]

    def test_a_range_of_aware_datetimes_is_hourly(self) -> None:
        hours = parse_many("2025-01-01T00:00:00+02:00..2025-01-01T05:00:00+02:00")
        assert len(hours) == 6  # type: ignore[arg-type]
        values = list(hours)
        start = datetime(2025, 1, 1, tzinfo=PLUS_TWO)
        assert values == [start + timedelta(hours=n) for n in range(6)]
        assert all(v.utcoffset() == timedelta(hours=2) for v in values)

    @pytest.mark.parametrize(
        "text",
        [
            pytest.param("2025-01-31..2025-01-01", id="reversed"),
            pytest.param("2025-01-01..eu", id="end-not-a-date"),
            pytest.param("a..b", id="text-bounds"),
            pytest.param("1..5", id="int-bounds"),
            pytest.param("2025-01-01..", id="no-end"),
            pytest.param("..2025-01-01", id="no-start"),
            pytest.param("2025-01-01..2025-01-31..2025-02-28", id="three-bounds"),
            pytest.param("2025-01-01..2025-01-01T05:00:00+00:00", id="date-and-datetime"),
            pytest.param("2025-01-01T05:00:00+00:00..2025-01-02", id="datetime-and-date"),
            pytest.param("2025-01-01..2025-02-30", id="impossible-date"),
            pytest.param("2025-01-01T05:00:00+00:00..2025-01-01T01:00:00+00:00", id="reversed-hours"),
        ],
    )
    def test_a_malformed_range_is_a_bad_parameter_with_the_apis_text(self, text: str) -> None:
        with pytest.raises(fs.PartitionError) as api:
            list(fs.partitions.parse_many(text))
        with pytest.raises(click.BadParameter) as cli:
            list(parse_many(text))
        assert cli.value.message == str(api.value)


class TestWithinADeclaredSet:
    def test_a_multi_partition_is_read_by_its_set(self) -> None:
        pset = fs.partitions.Multi(
            region=fs.partitions.Static(["eu", "us"]), day=fs.partitions.Daily("2025-01-01")
        )
        assert parse_one("us|2025-01-02", within=pset) == ("us", date(2025, 1, 2))

    def test_a_partition_outside_the_set_is_a_bad_parameter_naming_the_set(self) -> None:
        with pytest.raises(click.BadParameter, match=r"not in the declared set Daily\(start=2025-01-01"):
            parse_one("2024-12-31", within=fs.partitions.Daily("2025-01-01"))

    def test_a_range_inside_the_set_is_the_sets_range(self) -> None:
        pset = fs.partitions.Static(["a", "b", "c", "d"])
        assert list(parse_many("b..c", within=pset)) == ["b", "c"]
