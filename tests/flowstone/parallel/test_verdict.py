"""The pure core of parallel joins (``flowstone._parallel.verdict.decide``): properties
that hold for any set of branches, endings, deadlines and times."""

from __future__ import annotations

import hypothesis.strategies as st
from hypothesis import given

import flowstone as fs
from flowstone._parallel.options import ParallelOptions
from flowstone._parallel.verdict import Ended, decide

NAMES = ["a", "b", "c", "d"]
endings = st.sampled_from([Ended(True), Ended(False, "ValueError: x"), Ended(False, None, skipped=True)])


@st.composite
def groups(draw: st.DrawFn) -> tuple[ParallelOptions, dict[str, Ended], dict[str, float | None], float]:
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=4, unique=True))
    branches = {n: fs.Branch(n, required=draw(st.booleans())) for n in names}
    options = ParallelOptions(branches=branches, failure_mode=draw(st.sampled_from(["all", "partial"])))
    ended = {n: draw(endings) for n in names if draw(st.booleans())}
    deadlines = {n: draw(st.none() | st.floats(0, 100)) for n in names}
    return options, ended, deadlines, draw(st.floats(0, 100))


@given(groups())
def test_it_joins_only_when_every_branch_it_needs_has_ended_without_failing(
    group: tuple[ParallelOptions, dict[str, Ended], dict[str, float | None], float],
) -> None:
    options, ended, deadlines, now = group
    verdict = decide(options, ended, deadlines, now)
    needed = [n for n, b in options.branches.items() if options.failure_mode == "all" or b.required]
    if verdict.outcome == "join":
        assert all(n in verdict.ended and not verdict.ended[n].failed for n in needed)
        assert set(verdict.left_out) == set(options.branches) - set(verdict.ended)
    if verdict.outcome == "fail":
        assert any(verdict.ended[n].failed for n in needed if n in verdict.ended)
    if verdict.outcome == "wait":
        assert any(n not in verdict.ended for n in needed)
        assert verdict.until is None or verdict.until > now


@given(groups())
def test_a_branch_past_its_deadline_counts_as_timed_out_and_an_ended_one_keeps_its_ending(
    group: tuple[ParallelOptions, dict[str, Ended], dict[str, float | None], float],
) -> None:
    options, ended, deadlines, now = group
    verdict = decide(options, ended, deadlines, now)
    for name in options.branches:
        deadline = deadlines[name]
        if name in ended:
            assert verdict.ended[name] == ended[name]
        elif deadline is not None and now >= deadline:
            assert (verdict.ended[name].error or "").startswith("ParallelTimeoutError")
        else:
            assert name not in verdict.ended


@given(groups())
def test_with_every_branch_ended_it_never_waits(
    group: tuple[ParallelOptions, dict[str, Ended], dict[str, float | None], float],
) -> None:
    options, ended, deadlines, now = group
    ended = {n: ended.get(n, Ended(True)) for n in options.branches}
    assert decide(options, ended, deadlines, now).outcome in ("join", "fail")
