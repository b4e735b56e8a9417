"""Which modules a worker may import for a job [issue 13.12]: an allow-list of module
patterns, by default a worker's ``--import`` modules and their packages; a reference
outside it is discarded before anything is imported."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from job_pipelines import pipeline
from job_support import StartNode

import flowstone as fs
from flowstone import partitions
from flowstone._jobs.reference import allowed_for_imports, import_allowed, resolve_reference
from flowstone._jobs.table import NewJob
from flowstone._node.registry import LookupReference, RegistryActor

INTRUDER_SOURCE = """\
from pathlib import Path

import flowstone as fs

Path(__file__).with_name("imported").write_text("the intruder ran at import")
pipeline = fs.Pipeline("intruder")


@pipeline.asset
def value(ctx: fs.Context) -> str:
    return "intruder"
"""


@pytest.fixture
def intruder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A module on ``sys.path`` that leaves the file ``imported`` behind when imported."""
    name = f"intruder_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(INTRUDER_SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def imported(tmp_path: Path) -> bool:
    return (tmp_path / "imported").exists()


class TestPatterns:
    @pytest.mark.parametrize(
        ("module", "patterns", "allowed"),
        [
            ("mypipes", ("mypipes",), True),
            ("mypipes.shop", ("mypipes",), True),  # a package covers its modules
            ("mypipes.shop.daily", ("mypipes",), True),
            ("mypipesx", ("mypipes",), False),  # a name, not a prefix
            ("mypipes", ("mypipes.shop",), False),  # a module does not cover its package
            ("reports_eu", ("reports_*",), True),
            ("reports_eu.daily", ("reports_*",), True),
            ("reporting", ("reports_*",), False),
            ("anything.at.all", ("*",), True),
            ("os", (), False),
            ("os", ("mypipes", "job_pipelines"), False),
        ],
    )
    def test_a_module_is_allowed_by_a_pattern_naming_it_or_a_package_above_it(
        self, module: str, patterns: tuple[str, ...], allowed: bool
    ) -> None:
        assert import_allowed(module, patterns) is allowed

    def test_an_imported_module_allows_itself_and_the_rest_of_its_package(self) -> None:
        assert allowed_for_imports(["mypipes.shop", "job_pipelines"]) == ("mypipes", "job_pipelines")
        patterns = allowed_for_imports(["mypipes.shop"])
        assert import_allowed("mypipes.shop", patterns)
        assert import_allowed("mypipes.returns", patterns)
        assert not import_allowed("otherpipes", patterns)

    def test_extra_patterns_widen_the_list_and_duplicates_are_dropped(self) -> None:
        assert allowed_for_imports(["a.b.c", "a.b.d"], ["reports_*", "a.b"]) == ("a.b", "reports_*")

    @pytest.mark.parametrize("pattern", ["", " ", "my pipes", ".relative", "pkg:pipeline", "a/b", "a..b"])
    def test_a_malformed_pattern_is_refused_naming_it(self, pattern: str) -> None:
        with pytest.raises(ValueError, match="module pattern"):
            allowed_for_imports([], [pattern])


class TestResolving:
    def test_a_reference_outside_the_allow_list_is_refused_before_its_module_is_imported(
        self, intruder: str, tmp_path: Path
    ) -> None:
        with pytest.raises(fs.FlowStoneError) as raised:
            resolve_reference(f"{intruder}:pipeline", allowed=("job_pipelines",))
        message = str(raised.value)
        assert intruder in message
        assert "job_pipelines" in message  # what is allowed
        assert "--allow-import" in message  # and what to do
        assert not imported(tmp_path)
        assert intruder not in sys.modules

    def test_a_reference_inside_the_allow_list_is_imported(self, intruder: str, tmp_path: Path) -> None:
        resolved = resolve_reference(f"{intruder}:pipeline", allowed=(intruder,))
        assert resolved.name == "intruder"
        assert imported(tmp_path)

    def test_without_an_allow_list_any_importable_module_is_resolved(self, intruder: str) -> None:
        assert resolve_reference(f"{intruder}:pipeline").name == "intruder"


class TestANodeWithAnAllowList:
    def test_a_job_naming_a_module_outside_it_is_discarded_and_never_imports_it(
        self, start_node: StartNode, intruder: str, tmp_path: Path
    ) -> None:
        node = start_node(queues={"assets": 2}, allow_imports=("job_pipelines",))
        job_id, _ = node.jobs.table.insert(
            NewJob(
                queue="assets",
                pipeline_ref=f"{intruder}:pipeline",
                pipeline="intruder",
                asset="value",
                partition_key=partitions.serialize(None),
                options={},
                priority=0,
                max_attempts=3,
            )
        )
        allowed = node.submit(pipeline, "value", partition="allowed")
        assert allowed.wait(10) == "value:allowed"
        handle = fs.RunHandle(node.jobs, job_id, pipeline, "value", None)
        with pytest.raises(fs.MaterializationError):
            handle.wait(10)
        info = handle.status()
        assert (info.state, info.attempt) == ("discarded", 1)
        assert "allow" in info.errors[-1]["error"]
        assert not imported(tmp_path)

    def test_the_option_is_checked_when_the_node_starts(self) -> None:
        with pytest.raises(TypeError, match="allow_imports"):
            fs.NodeConfig(allow_imports="job_pipelines")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="allow_imports"):
            fs.NodeConfig(allow_imports=("job pipelines",))
        assert fs.NodeConfig(allow_imports=["a", "b.*"]).allow_imports == ("a", "b.*")
        assert fs.NodeConfig().allow_imports is None  # a library node resolves any module


class TestAQueueAsksTheRegistryOncePerReference:
    def test_jobs_of_one_pipeline_reuse_the_pipeline_their_producer_found(
        self, start_node: StartNode, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # [issue 22] Each job's worker asked the registry for its pipeline: a thread
        # round trip per job. The producer asks once per reference and keeps the answer
        # while the pipeline lives; only jobs claimed before the first one resolved it ask.
        asks: list[str] = []
        on_receive = RegistryActor.on_receive

        def counting(self: RegistryActor, message: Any) -> Any:
            if isinstance(message, LookupReference):
                asks.append(message.reference)
            return on_receive(self, message)

        monkeypatch.setattr(RegistryActor, "on_receive", counting)
        node = start_node(queues={"assets": 2})
        node.jobs.pause("assets")
        handles = [node.submit(pipeline, "value", partition=f"p{i}") for i in range(12)]
        node.jobs.resume("assets")
        assert [h.wait(30) for h in handles] == [f"value:p{i}" for i in range(12)]
        # At most: the producer and the worker for each of the first claim's two jobs,
        # and the producer once more after the first resolved it.
        assert 1 <= len(asks) <= 5
