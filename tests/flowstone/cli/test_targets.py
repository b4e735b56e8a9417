"""TARGET, the same on every command: a file is imported as the dotted module its path
names from the working directory (so a job submitted from it names a module workers can
import), and a target that cannot be loaded is exit 2 with one line naming the file and
the cause."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from cli_support import SHOP_SOURCE, Database, Flowstone, StartWorker, lines, shop
from click.testing import CliRunner
from sqlalchemy import create_engine, select

from flowstone._jobs.reference import reference_of
from flowstone._store.sql.schema import jobs as jobs_table
from flowstone.cli._common import load_target
from flowstone.cli._target import module_name

#: Each command that takes a TARGET, with the arguments it needs besides it.
COMMANDS = {
    "run": ("run", "{target}", "orders"),
    "backfill": ("backfill", "{target}", "orders", "--partitions", "a,b"),
    "status": ("status", "{target}"),
    "assets": ("assets", "{target}"),
    "graph": ("graph", "{target}"),
    "lineage": ("lineage", "{target}", "orders", "--partition", "a"),
}


def command(name: str, target: str) -> list[str]:
    return [part.format(target=target) for part in COMMANDS[name]]


def one_error_line(stderr: str) -> str:
    """The single line a failed command printed, which must start with ``error:``."""
    [line] = stderr.strip().splitlines()
    assert line.startswith("error: "), stderr
    return line


def recorded_references(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(select(jobs_table.c.pipeline_ref)).scalars())
    finally:
        engine.dispose()


@pytest.fixture
def imports_here(project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``load_target`` in this process, from the project directory; ``sys.path`` is put
    back and the project's modules forgotten afterwards."""
    monkeypatch.chdir(project)
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield project
    for name, module in list(sys.modules.items()):  # the test's own modules, not libraries it loaded
        if _from(module, project) or name.split(".")[0] in (
            "mypipes",
            "src",
        ):  # namespace packages have no file
            del sys.modules[name]


def _from(module: object, folder: Path) -> bool:
    file = getattr(module, "__file__", None)
    return file is not None and Path(file).resolve().is_relative_to(folder.resolve())


class TestFileTargetsImportAsTheirDottedModule:
    """[12.2] the reference a job records is the module's importable dotted name."""

    @pytest.mark.parametrize("package", [False, True], ids=["namespace", "regular-package"])
    def test_a_file_in_a_folder_is_the_module_of_that_dotted_name(
        self, imports_here: Path, package: bool
    ) -> None:
        shop(imports_here, package=package)

        pipeline = load_target("mypipes/shop.py:pipeline")

        assert reference_of(pipeline) == "mypipes.shop:pipeline"
        assert sys.modules["mypipes.shop"].pipeline is pipeline

    def test_a_file_in_the_working_directory_is_a_top_level_module(self, imports_here: Path) -> None:
        (imports_here / "shop_top.py").write_text(SHOP_SOURCE)

        assert reference_of(load_target("shop_top.py:pipeline")) == "shop_top:pipeline"

    def test_an_absolute_path_under_the_working_directory_gets_the_same_name(
        self, imports_here: Path
    ) -> None:
        folder = shop(imports_here)

        pipeline = load_target(f"{folder / 'shop.py'}:pipeline")

        assert reference_of(pipeline) == "mypipes.shop:pipeline"

    def test_a_file_inside_a_regular_package_is_named_from_the_package(self, imports_here: Path) -> None:
        package = imports_here / "src" / "retail"
        package.mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "shop.py").write_text(SHOP_SOURCE)
        sys.path.insert(0, str(imports_here / "src"))  # an installed (editable) src layout

        assert reference_of(load_target("src/retail/shop.py:pipeline")) == "retail.shop:pipeline"

    def test_loading_the_same_file_twice_gives_the_same_pipeline(self, imports_here: Path) -> None:
        shop(imports_here)

        assert load_target("mypipes/shop.py:pipeline") is load_target("./mypipes/shop.py:pipeline")

    def test_a_durable_backfill_of_a_file_target_is_run_by_a_worker_importing_its_dotted_name(
        self, flowstone: Flowstone, project: Path, start_worker: StartWorker, database: Database
    ) -> None:
        shop(project)
        worker = start_worker("mypipes.shop", "--queues", "assets=2", database=database)

        result = flowstone(
            "backfill",
            "mypipes/shop.py:pipeline",
            "daily_report",
            "--partitions",
            "2025-05-01..2025-05-03",
            "--durable",
            "--json",
            *database.args,
        )

        summary = json.loads(result.stdout)
        assert (summary["succeeded"], summary["failed"]) == (2, 1), result.stderr + worker.output()
        assert "No module named" not in json.dumps(summary)
        assert "No module named" not in worker.output()
        assert set(recorded_references(database.url)) == {"mypipes.shop:pipeline"}
        assert sorted(lines(project / "mypipes" / "reports.log")) == [
            "2025-05-01",
            "2025-05-02",
            "2025-05-03",
        ]

    def test_a_durable_backfill_of_a_file_no_worker_could_import_is_refused_before_enqueueing(
        self,
        flowstone: Flowstone,
        project: Path,
        sqlite_database: Database,
        tmp_path_factory: pytest.TempPathFactory,
    ) -> None:
        elsewhere = tmp_path_factory.mktemp("elsewhere") / "shop.py"  # outside the cwd and sys.path
        elsewhere.write_text(SHOP_SOURCE)
        target = f"{elsewhere}:pipeline"

        refused = flowstone(
            "backfill", target, "daily_report", "--partitions", "2025-05-01..2025-05-20", "--durable"
        )

        assert refused.returncode == 2, refused.stderr
        line = one_error_line(refused.stderr)
        assert str(elsewhere) in line
        assert "PYTHONPATH" in line  # what to do
        listed = flowstone("jobs", "list", "--json")
        assert listed.returncode == 0, listed.stderr
        assert json.loads(listed.stdout) == []  # nothing was enqueued
        ran = flowstone("run", target, "orders", "--json")  # in-process commands still work
        assert ran.returncode == 0, ran.stderr
        assert json.loads(ran.stdout)["value"] == 3


class TestModuleName:
    """The name derivation alone, over files in a temporary folder."""

    @staticmethod
    def files(root: Path, *names: str) -> None:
        for name in names:
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text("")

    def test_the_nearest_root_at_or_above_the_top_package_wins(self, tmp_path: Path) -> None:
        self.files(tmp_path, "src/retail/__init__.py", "src/retail/shop.py")
        found = module_name(tmp_path / "src/retail/shop.py", [tmp_path, tmp_path / "src"])
        assert (found.name, found.root, found.importable) == ("retail.shop", tmp_path / "src", True)

    def test_a_root_inside_a_package_names_the_module_from_there(self, tmp_path: Path) -> None:
        self.files(tmp_path, "project/__init__.py", "project/pipe.py")
        found = module_name(tmp_path / "project/pipe.py", [tmp_path / "project"])
        assert (found.name, found.importable) == ("pipe", True)

    def test_a_package_init_is_the_package(self, tmp_path: Path) -> None:
        self.files(tmp_path, "retail/__init__.py")
        assert module_name(tmp_path / "retail/__init__.py", [tmp_path]).name == "retail"

    def test_a_folder_that_is_no_identifier_leaves_no_importable_name(self, tmp_path: Path) -> None:
        self.files(tmp_path, "my-pipes/shop.py")
        found = module_name(tmp_path / "my-pipes/shop.py", [tmp_path])
        assert (found.name, found.root, found.importable) == ("shop", tmp_path / "my-pipes", False)


class TestBadTargetsExit2WithOneLine:
    """[12.12] every command: a target that cannot be loaded is exit 2, one line, no traceback."""

    @pytest.mark.parametrize("name", sorted(COMMANDS))
    def test_a_file_that_fails_to_import(self, flowstone: Flowstone, project: Path, name: str) -> None:
        (project / "broken.py").write_text("import flowstone as fs\n\nimport no_such_module_here\n")

        result = flowstone(*command(name, "broken.py:pipeline"))

        assert result.returncode == 2, result.stderr
        line = one_error_line(result.stderr)
        assert "broken.py" in line
        assert "ModuleNotFoundError: No module named 'no_such_module_here'" in line
        assert "broken.py:3" in line  # where it was raised
        assert "Traceback" not in result.stderr

    def test_the_error_docs_cli_shows_is_the_one_printed(self, flowstone: Flowstone, project: Path) -> None:
        docs = (Path(__file__).resolve().parents[3] / "docs" / "cli.md").read_text()
        example = re.search(r"^\$ flowstone (backfill broken\.py.*)\n(error: .*)$", docs, re.M)
        assert example is not None, "docs/cli.md shows no failing target"
        command_line, shown = example.groups()
        (project / "broken.py").write_text("import flowstone as fs\n\nimport warehouse_client\n")

        result = flowstone(*command_line.split())

        assert result.returncode == 2
        assert result.stderr.strip() == shown

    def test_debug_shows_the_traceback_of_a_file_that_fails_to_import(
        self, flowstone: Flowstone, project: Path
    ) -> None:
        (project / "broken.py").write_text("raise RuntimeError('half-written module')\n")

        result = flowstone("--debug", "run", "broken.py:pipeline", "orders")

        assert result.returncode == 2
        assert "Traceback (most recent call last)" in result.stderr
        assert "half-written module" in result.stderr


@pytest.fixture
def cli(imports_here: Path) -> Iterator[CliRunner]:
    """The command in this process (fast), from the project directory, logging restored."""
    saved = structlog.get_config()
    yield CliRunner()
    structlog.configure(**saved)


@pytest.mark.parametrize(
    ("files", "target", "expected"),
    [
        ({"bad.py": "def broken(:\n"}, "bad.py:pipeline", ["bad.py", "SyntaxError", "line 1"]),
        (
            {"bad.py": "raise RuntimeError('half-written')\n"},
            "bad.py:pipeline",
            ["bad.py:1", "RuntimeError: half-written"],
        ),
        ({"bad.py": "import sys\nsys.exit(3)\n"}, "bad.py:pipeline", ["bad.py:2", "SystemExit: 3"]),
        ({}, "missing.py:pipeline", ["missing.py", "no such file"]),
        ({"folder/x.txt": ""}, "folder/:pipeline", ["folder/", "not a .py file"]),
        ({"ok.py": "x = 1\n"}, "ok.py:pipeline", ["ok.py", "no attribute 'pipeline'"]),
        (
            {"ok.py": "pipeline = 1\n"},
            "ok.py:pipeline",
            ["ok.py", "'pipeline' is an int, not a flowstone.Pipeline"],
        ),
        ({}, "ok.py", ["'ok.py'", "path/to/file.py:pipeline or package.module:pipeline"]),
        ({}, "no_such_package_here.mod:pipeline", ["no_such_package_here.mod", "No module named"]),
        (
            {"badpkg/__init__.py": "", "badpkg/mod.py": "raise KeyError('k')\n"},
            "badpkg.mod:pipeline",
            ["badpkg.mod", "badpkg/mod.py:1", "KeyError: 'k'"],
        ),
        ({"json.py": "pipeline = 1\n"}, "json.py:pipeline", ["json.py", "'json'", "already"]),
    ],
    ids=[
        "syntax-error",
        "raises",
        "exits",
        "missing-file",
        "not-a-file",
        "no-attribute",
        "not-a-pipeline",
        "no-colon",
        "missing-module",
        "module-raises",
        "name-taken",
    ],
)
def test_each_kind_of_bad_target_is_exit_2_with_one_line(
    cli: CliRunner, imports_here: Path, files: dict[str, str], target: str, expected: list[str]
) -> None:
    from flowstone.cli import main

    for name, text in files.items():
        (imports_here / name).parent.mkdir(parents=True, exist_ok=True)
        (imports_here / name).write_text(text)

    result = cli.invoke(main, ["assets", target])

    assert result.exit_code == 2, result.output
    line = one_error_line(result.stderr)
    for part in expected:
        assert part in line
    assert result.stdout == ""
