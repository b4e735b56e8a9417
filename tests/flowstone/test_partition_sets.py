"""Partition sets (``fs.partitions.Daily/Hourly/Static/Multi``) and the one typed-text parser."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import flowstone as fs
from flowstone.partitions import Daily, Hourly, Multi, PartitionSet, Static

storable_chars = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
texts = st.text(alphabet=storable_chars, min_size=1, max_size=8)
zones = st.sampled_from(["UTC", "Europe/Paris", "America/New_York", "+02:00", "-05:00"])
days = st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 1, 1))
scalars = st.one_of(
    texts,
    st.integers(min_value=-(10**30), max_value=10**30),
    days,
    st.datetimes(timezones=st.just(UTC)),
)


@st.composite
def daily_sets(draw: st.DrawFn) -> Daily:
    start = draw(days)
    length = draw(st.integers(min_value=0, max_value=400))
    return Daily(start, start + timedelta(days=length), timezone=draw(zones))


@st.composite
def hourly_sets(draw: st.DrawFn) -> Hourly:
    hour = draw(st.integers(min_value=0, max_value=200_000)) * 3600 + 1_600_000_000 // 3600 * 3600
    start = datetime.fromtimestamp(hour, UTC)
    return Hourly(start, start + timedelta(hours=draw(st.integers(0, 300))), timezone=draw(zones))


static_sets = st.lists(
    st.one_of(texts, st.integers(-1000, 1000), days),
    min_size=1,
    max_size=20,
    unique_by=fs.partitions.format_partition,
).map(Static)
any_single = st.one_of(daily_sets(), hourly_sets(), static_sets)
multi_sets = st.builds(
    lambda a, b: Multi(region=a, day=b),
    st.lists(st.text(alphabet="abcxyz-", min_size=1, max_size=4), min_size=1, max_size=4, unique=True).map(
        Static
    ),
    st.builds(lambda d, n: Daily(d, d + timedelta(days=n)), days, st.integers(0, 20)),
)
any_set = st.one_of(any_single, multi_sets)


def _member(data: st.DataObject, pset: PartitionSet) -> Any:
    index = data.draw(st.integers(min_value=0, max_value=len(pset) - 1))
    return next(itertools.islice(pset, index, None))


class TestTypedText:
    @given(scalars)
    def test_a_value_read_back_from_its_typed_text_is_equal_and_of_the_same_type(self, value: Any) -> None:
        text = fs.partitions.format_partition(value)
        back = fs.partitions.parse(text)
        assert back == value
        assert type(back) is type(value)

    @given(st.tuples(scalars, scalars))
    def test_a_tuple_round_trips_in_the_canonical_syntax(self, value: tuple[Any, ...]) -> None:
        assert fs.partitions.parse(fs.partitions.format_partition(value)) == value

    @pytest.mark.parametrize("text", ["42", "2025-01-01", "(1)", '"quoted"'])
    def test_a_string_that_looks_like_another_type_is_written_quoted_and_reads_back_as_a_string(
        self, text: str
    ) -> None:
        written = fs.partitions.format_partition(text)
        assert written != text
        assert fs.partitions.parse(written) == text


class TestEverySet:
    @given(any_set, st.data())
    def test_parse_reads_back_what_format_writes(self, pset: PartitionSet, data: st.DataObject) -> None:
        partition = _member(data, pset)
        text = pset.format(partition)
        assert pset.parse(text) == partition
        assert pset.format(pset.parse(text)) == text

    @given(any_set)
    def test_iteration_gives_len_distinct_members_in_order(self, pset: PartitionSet) -> None:
        members = list(pset)
        assert len(members) == len(pset)
        assert all(partition in pset for partition in members)
        assert len({fs.partitions.serialize(p) for p in members}) == len(members)

    @given(any_single, st.data())
    def test_a_range_holds_exactly_the_members_between_its_ends(
        self, pset: PartitionSet, data: st.DataObject
    ) -> None:
        first, last = sorted(
            (data.draw(st.integers(0, len(pset) - 1)), data.draw(st.integers(0, len(pset) - 1)))
        )
        members = list(pset)
        assert list(pset.range(members[first], members[last])) == members[first : last + 1]

    @given(any_single, st.data())
    def test_a_reversed_range_is_refused(self, pset: PartitionSet, data: st.DataObject) -> None:
        members = list(pset)
        if len(members) < 2:
            return
        with pytest.raises(fs.PartitionError, match="ends before it starts"):
            pset.range(members[-1], members[0])


class TestDaily:
    def test_both_ends_are_members_and_counted(self) -> None:
        january = Daily("2025-01-01", "2025-01-31")
        assert len(january) == 31
        assert date(2025, 1, 1) in january
        assert date(2025, 1, 31) in january
        assert date(2025, 2, 1) not in january
        assert datetime(2025, 1, 5, tzinfo=UTC) not in january  # a datetime is not a day

    def test_an_open_ended_set_runs_up_to_today(self) -> None:
        before = datetime.now(UTC).date()
        open_ended = Daily(before - timedelta(days=2))
        after = datetime.now(UTC).date()
        assert len(open_ended) in {3, 3 + (after - before).days}
        assert list(open_ended)[-1] in {before, after}
        assert before + timedelta(days=400) in open_ended  # a future day is in the set, not yet due

    def test_a_partition_outside_is_refused_naming_the_set(self) -> None:
        with pytest.raises(
            fs.PartitionError, match=r"'2024-12-31' is not in the declared set Daily\(start=2025-01-01\)"
        ):
            Daily("2025-01-01").parse("2024-12-31")

    def test_text_that_is_not_a_day_is_refused(self) -> None:
        with pytest.raises(fs.PartitionError, match="is not a day"):
            Daily("2025-01-01").parse("eu")

    def test_an_unknown_timezone_is_an_option_error(self) -> None:
        with pytest.raises(fs.OptionError, match="Mars/Olympus"):
            Daily("2025-01-01", timezone="Mars/Olympus")

    def test_a_set_ending_before_it_starts_is_refused(self) -> None:
        with pytest.raises(fs.PartitionError, match="swap the bounds"):
            Daily("2025-01-31", "2025-01-01")

    def test_equal_sets_compare_equal(self) -> None:
        assert Daily("2025-01-01") == Daily(date(2025, 1, 1))
        assert Daily("2025-01-01") != Daily("2025-01-01", timezone="Europe/Paris")


class TestHourly:
    def test_hours_are_shown_in_the_sets_timezone(self) -> None:
        hours = Hourly("2025-01-01T00:00:00", "2025-01-01T02:00:00", timezone="Europe/Paris")
        assert len(hours) == 3
        assert [h.isoformat() for h in hours] == [  # type: ignore[union-attr]
            "2025-01-01T00:00:00+01:00",
            "2025-01-01T01:00:00+01:00",
            "2025-01-01T02:00:00+01:00",
        ]

    def test_the_same_instant_at_another_offset_is_a_member(self) -> None:
        hours = Hourly("2025-01-01T00:00:00+00:00", "2025-01-01T05:00:00+00:00")
        assert hours.parse("2025-01-01T07:00:00+02:00") == datetime(2025, 1, 1, 5, tzinfo=UTC)

    def test_a_daylight_saving_night_still_has_one_partition_per_real_hour(self) -> None:
        night = Hourly("2025-03-30T00:00:00", "2025-03-30T04:00:00", timezone="Europe/Paris")
        assert len(night) == 4  # 02:00 does not exist that night

    def test_a_time_off_the_hour_is_not_a_member(self) -> None:
        hours = Hourly("2025-01-01T00:00:00+00:00")
        assert datetime(2025, 1, 1, 0, 30, tzinfo=UTC) not in hours
        with pytest.raises(fs.PartitionError, match="not on the hour"):
            Hourly("2025-01-01T00:30:00+00:00")


class TestStatic:
    def test_values_keep_their_order_and_types(self) -> None:
        regions = Static(["eu", "us", 3])
        assert list(regions) == ["eu", "us", 3]
        assert regions.parse("3") == 3
        assert regions.parse("eu") == "eu"
        assert "3" not in regions

    def test_values_written_the_same_way_are_refused(self) -> None:
        with pytest.raises(fs.PartitionError, match="both written"):
            Static(["1", 1])

    def test_duplicates_are_refused(self) -> None:
        with pytest.raises(fs.PartitionError, match="repeats"):
            Static(["eu", "eu"])

    def test_a_digit_string_value_is_parsed_back_as_the_string(self) -> None:
        assert Static(["007", "42"]).parse("42") == "42"


class TestMulti:
    def setup_method(self) -> None:
        self.pset = Multi(region=Static(["eu", "us"]), day=Daily("2025-01-01", "2025-01-03"))

    def test_a_partition_is_a_plain_tuple_in_dimension_order(self) -> None:
        assert len(self.pset) == 6
        assert list(self.pset)[:2] == [("eu", date(2025, 1, 1)), ("eu", date(2025, 1, 2))]
        assert self.pset.named(("us", date(2025, 1, 2))) == {"region": "us", "day": date(2025, 1, 2)}

    def test_its_text_joins_the_dimensions_with_a_bar(self) -> None:
        assert self.pset.format(("us", date(2025, 1, 2))) == "us|2025-01-02"
        assert self.pset.parse("us|2025-01-02") == ("us", date(2025, 1, 2))

    def test_text_with_the_wrong_number_of_parts_is_refused_naming_the_dimensions(self) -> None:
        with pytest.raises(fs.PartitionError, match=r"region\|day"):
            self.pset.parse("us")

    def test_a_range_is_the_box_between_its_corners(self) -> None:
        box = self.pset.range(("eu", date(2025, 1, 2)), ("us", date(2025, 1, 3)))
        assert len(box) == 4

    def test_a_single_dimension_is_refused(self) -> None:
        with pytest.raises(fs.OptionError, match="at least two dimensions"):
            Multi(day=Daily("2025-01-01"))


class TestParseMany:
    def test_a_range_without_a_set_is_a_sized_daily_set(self) -> None:
        days_ = fs.partitions.parse_many("2025-01-01..2025-01-31")
        assert days_ == Daily("2025-01-01", "2025-01-31")

    def test_a_range_within_a_set_is_its_range(self) -> None:
        letters = Static(["a", "b", "c"])
        assert list(fs.partitions.parse_many("a..b", letters)) == ["a", "b"]

    def test_a_list_within_a_set_refuses_a_partition_outside_it(self) -> None:
        with pytest.raises(fs.PartitionError, match="not in the declared set"):
            fs.partitions.parse_many("a,z", Static(["a", "b"]))

    def test_parse_range_keeps_working_with_the_same_error_text(self) -> None:
        with pytest.raises(fs.PartitionError) as old:
            fs.partitions.parse_range("2025-01-01..eu")
        with pytest.raises(fs.PartitionError) as new:
            fs.partitions.parse_many("2025-01-01..eu")
        assert str(old.value) == str(new.value)
