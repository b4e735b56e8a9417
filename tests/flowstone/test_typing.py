"""User code type-checks under ``mypy --strict``: typed options, partitions, values and logs.

mypy runs in a subprocess over small files: ``tests/typing_cases/typed_pipeline.py``, the
runnable ``examples/`` and the code blocks of ``docs/typing.md`` and ``docs/testing.md`` must
pass; ``tests/typing_cases/option_typos.py`` must fail with exactly the errors its ``# E:``
comments name, on their lines and nowhere else.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import subprocess
import sys
from pathlib import Path

import pytest

import flowstone as fs
from flowstone._kwargs import AssetKwargs, RouterKwargs
from flowstone._routing.options import RouterOptions
from flowstone._start_kwargs import NodeKwargs

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "tests" / "typing_cases"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
ERROR = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): error: (?P<message>.*)$")
EXPECTED = re.compile(r"# E: (.*)$")
TYPED_DOCS = ("typing.md", "testing.md")  # pages whose code is written for mypy --strict


@pytest.fixture(scope="module")
def mypy_errors(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[int, str]]]:
    """One mypy --strict run over every case (one run: mypy's start-up is most of its cost)."""
    where = tmp_path_factory.mktemp("typing")
    files = [
        CASES / "typed_pipeline.py",
        CASES / "option_typos.py",
        *sorted((ROOT / "examples").glob("*.py")),
    ]
    for page in TYPED_DOCS:
        blocks = BLOCK.findall((ROOT / "docs" / page).read_text())
        assert blocks, f"docs/{page} has no python block to check"
        for number, code in enumerate(blocks, start=1):
            path = where / f"docs_{page.removesuffix('.md')}_block_{number}.py"
            path.write_text(code)
            files.append(path)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-error-summary",
            "--show-error-codes",
            "--cache-dir",
            str(ROOT / ".mypy_cache"),
            *map(str, files),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode in (0, 1), f"mypy crashed:\n{result.stdout}\n{result.stderr}"
    errors: dict[str, list[tuple[int, str]]] = {}
    for line in result.stdout.splitlines():
        if match := ERROR.match(line):
            errors.setdefault(Path(match["file"]).name, []).append((int(match["line"]), match["message"]))
    return errors


def test_the_typed_example_passes_mypy_strict(mypy_errors: dict[str, list[tuple[int, str]]]) -> None:
    assert mypy_errors.get("typed_pipeline.py", []) == []


def test_the_examples_pass_mypy_strict(mypy_errors: dict[str, list[tuple[int, str]]]) -> None:
    examples = {path.name for path in (ROOT / "examples").glob("*.py")}
    assert examples
    assert {name: found for name, found in mypy_errors.items() if name in examples} == {}


def test_the_typed_docs_examples_pass_mypy_strict(mypy_errors: dict[str, list[tuple[int, str]]]) -> None:
    assert {name: found for name, found in mypy_errors.items() if name.startswith("docs_")} == {}


def test_option_typos_fail_with_the_expected_errors(mypy_errors: dict[str, list[tuple[int, str]]]) -> None:
    source = (CASES / "option_typos.py").read_text().splitlines()
    expected = {n: m[1] for n, text in enumerate(source, start=1) if (m := EXPECTED.search(text))}
    found = mypy_errors.get("option_typos.py", [])
    assert len(expected) >= 6
    for line, wanted in expected.items():
        on_line = [message for n, message in found if n == line]
        assert any(wanted in message for message in on_line), (line, wanted, on_line)
    unexpected = [(n, message) for n, message in found if n not in expected]
    assert unexpected == []


@pytest.mark.parametrize(
    ("kwargs", "options"),
    [
        (AssetKwargs, [fs.AssetOptions]),
        (RouterKwargs, [fs.AssetOptions, RouterOptions]),
        (NodeKwargs, [fs.NodeConfig]),
    ],
)
def test_each_keyword_type_names_exactly_its_dataclass_fields(kwargs: type, options: list[type]) -> None:
    fields = {f.name for cls in options for f in dataclasses.fields(cls)}
    assert set(kwargs.__required_keys__) | set(kwargs.__optional_keys__) == fields  # type: ignore[attr-defined]


class TestTypedRuntime:
    """What the types promise holds at run time too."""

    def test_node_run_takes_the_asset_function_and_returns_its_value(self) -> None:
        pipeline = fs.Pipeline("by_function")

        @pipeline.asset
        def numbers(ctx: fs.Context) -> list[int]:
            return [1, 2, 3]

        @pipeline.asset
        def total(ctx: fs.Context, numbers: list[int]) -> int:
            return sum(numbers)

        with fs.start() as node:
            assert node.run(pipeline, total) == 6
            assert node.get(pipeline, "numbers") == [1, 2, 3]

    def test_a_function_that_is_not_an_asset_of_the_pipeline_is_refused(self) -> None:
        pipeline, other = fs.Pipeline("mine"), fs.Pipeline("theirs")

        @other.asset
        def numbers(ctx: fs.Context) -> int:
            return 1

        with fs.start() as node, pytest.raises(fs.AssetNotFoundError, match="'mine' has no asset defined by"):
            node.run(pipeline, numbers)

    def test_partition_accessors_return_the_declared_shape(self) -> None:
        pipeline = fs.Pipeline("accessors")
        seen: list[object] = []

        @pipeline.asset
        def shapes(ctx: fs.Context) -> None:
            seen.append(ctx.partition_tuple if isinstance(ctx.partition, tuple) else ctx.partition_str)

        with fs.start() as node:
            node.run(pipeline, shapes, partition="eu")
            node.run(pipeline, shapes, partition=("eu", 3))
        assert seen == ["eu", ("eu", 3)]

    @pytest.mark.parametrize(
        ("partition", "accessor"),
        [
            (dt.datetime(2025, 1, 1, 3, tzinfo=dt.UTC), "partition_date"),
            ("eu", "partition_int"),
            (True, "partition_int"),
            (3, "partition_str"),
            (dt.date(2025, 1, 1), "partition_datetime"),
            (None, "partition_tuple"),
        ],
    )
    def test_a_partition_of_another_shape_is_a_partition_error_naming_the_asset(
        self, partition: fs.partitions.Partition, accessor: str
    ) -> None:
        ctx = fs.Context("run-1", "sales", partition, 1, "p", None, {})  # type: ignore[arg-type]
        with pytest.raises(fs.PartitionError, match=r"asset 'sales' \(run run-1\) expected its partition"):
            getattr(ctx, accessor)

    def test_a_misspelt_option_still_fails_at_run_time_for_untyped_callers(self) -> None:
        pipeline = fs.Pipeline("untyped")
        options: dict[str, object] = {"retries": 3}
        with pytest.raises(fs.OptionError, match="unknown asset option"):
            pipeline.asset(**options)  # type: ignore[arg-type]
