"""Node options from FLOWSTONE_<FIELD> and flowstone.toml / [tool.flowstone] (issue 21).

Precedence: explicit argument > environment > file > default; a bad value names the
variable or the file it came from.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import flowstone as fs
from flowstone._settings import PLAIN_FIELDS, env_name, merge, resolve

ROOT = Path(__file__).resolve().parents[2]
#: Options that are objects, not plain data: arguments only.
OBJECTS = {
    "retry",
    "job_retry",
    "resources",
    "io",
    "store",
    "lineage_store",
    "schedules",
    "pipelines",
    "clock",
}


def test_every_plain_field_of_node_config_has_an_environment_and_file_form() -> None:
    fields = {f.name for f in dataclasses.fields(fs.NodeConfig)}
    assert set(PLAIN_FIELDS) == fields - OBJECTS


def test_precedence_is_argument_then_environment_then_file_then_default(tmp_path: Path) -> None:
    (tmp_path / "flowstone.toml").write_text("rescue_after = 30\nshutdown_grace = 5\nwait_tick = 0.25\n")
    environ = {"FLOWSTONE_SHUTDOWN_GRACE": "7", "FLOWSTONE_WAIT_TICK": "0.75"}
    resolved = resolve({"wait_tick": 2.0}, environ=environ, cwd=tmp_path)
    assert resolved.values == {"rescue_after": 30, "shutdown_grace": 7.0, "wait_tick": 2.0}
    assert resolved.sources["wait_tick"] == "argument"
    assert resolved.sources["shutdown_grace"] == "FLOWSTONE_SHUTDOWN_GRACE"
    assert resolved.sources["rescue_after"] == str(tmp_path / "flowstone.toml")
    assert resolved.sources["poll_interval"] == "default"


def test_pyproject_tool_flowstone_is_found_from_a_subdirectory(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.flowstone]\nqueues = { assets = 3 }\n'
    )
    inner = tmp_path / "src" / "pkg"
    inner.mkdir(parents=True)
    resolved = merge({}, environ={}, cwd=inner)
    assert resolved.values == {"queues": {"assets": 3}}
    assert resolved.sources["queues"] == f"{tmp_path / 'pyproject.toml'} [tool.flowstone]"


def test_a_pyproject_without_the_table_is_passed_over(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert merge({}, environ={}, cwd=tmp_path).file is None


def test_flowstone_config_names_the_file(tmp_path: Path) -> None:
    named = tmp_path / "elsewhere.toml"
    named.write_text('isolation = "process"\nallow_imports = ["mypipes"]\n')
    resolved = merge({}, environ={"FLOWSTONE_CONFIG": str(named)}, cwd=tmp_path)
    assert resolved.values == {"isolation": "process", "allow_imports": ("mypipes",)}


def test_environment_texts_parse_to_the_fields_types() -> None:
    environ = {
        "FLOWSTONE_QUEUES": "assets=8,reports=2",
        "FLOWSTONE_AUTO_MIGRATE": "false",
        "FLOWSTONE_MAX_PARALLEL": "6",
        "FLOWSTONE_ALLOW_IMPORTS": "mypipes reports_*",
        "FLOWSTONE_DATABASE_URL": "sqlite:///x.db",
        "FLOWSTONE_UPKEEP": "",
    }
    values = merge({}, environ=environ, cwd=Path("/")).values
    assert values["queues"] == {"assets": 8, "reports": 2}
    assert values["auto_migrate"] is False
    assert values["max_parallel"] == 6
    assert values["allow_imports"] == ("mypipes", "reports_*")
    assert values["upkeep"] is None


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"FLOWSTONE_QUEUES": "assets"}, "FLOWSTONE_QUEUES: expected NAME=N pairs"),
        ({"FLOWSTONE_MAX_PARALLEL": "many"}, "FLOWSTONE_MAX_PARALLEL: expected a whole number"),
        ({"FLOWSTONE_RESCUE_AFTER": "-1"}, "FLOWSTONE_RESCUE_AFTER: rescue_after must be a finite number"),
        ({"FLOWSTONE_ISOLATION": "fork"}, "FLOWSTONE_ISOLATION: "),
        ({"FLOWSTONE_AUTO_MIGRATE": "maybe"}, "FLOWSTONE_AUTO_MIGRATE: expected true or false"),
    ],
)
def test_a_bad_environment_value_names_its_variable(environ: dict[str, str], expected: str) -> None:
    with pytest.raises(fs.OptionError, match="^" + expected.replace("(", r"\(")):
        resolve({}, environ=environ, cwd=Path("/"))


def test_a_bad_file_value_or_key_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "flowstone.toml"
    path.write_text('rescue_after = "soon"\n')
    with pytest.raises(fs.OptionError, match=f"^{path}: rescue_after must be a number of seconds"):
        resolve({}, environ={}, cwd=tmp_path)
    path.write_text("rescue_afterr = 3\n")
    with pytest.raises(fs.OptionError, match=f"^{path}: unknown option 'rescue_afterr'"):
        resolve({}, environ={}, cwd=tmp_path)


def test_an_explicit_argument_overrides_a_bad_environment_value_it_replaces() -> None:
    resolved = resolve({"rescue_after": 5.0}, environ={"FLOWSTONE_RESCUE_AFTER": "-1"}, cwd=Path("/"))
    assert resolved.values["rescue_after"] == 5.0


def test_fs_start_reads_the_environment_and_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "flowstone.toml").write_text("max_parallel = 3\nhealth_timeout = 1.5\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FLOWSTONE_MAX_PARALLEL", "5")
    with fs.start(name="configured") as node:
        assert node.config.max_parallel == 5
        assert node.config.health_timeout == 1.5
        assert node.config.name == "configured"


@given(
    st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True), st.integers(0, 10_000), min_size=1)
)
def test_queue_tables_round_trip_through_their_environment_text(table: dict[str, int]) -> None:
    text = ",".join(f"{name}={limit}" for name, limit in table.items())
    assert PLAIN_FIELDS["queues"](text) == table


def test_the_config_command_shows_values_and_sources_with_secrets_masked(tmp_path: Path) -> None:
    (tmp_path / "flowstone.toml").write_text("rescue_after = 30\n")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FLOWSTONE_")},
        "PYTHONPATH": str(ROOT),
        env_name("signal_secret"): "a-secret-of-at-least-16-bytes",
        env_name("database_url"): "postgresql+psycopg://app:hunter2@db/flowstone",
    }
    done = subprocess.run(
        [sys.executable, "-m", "flowstone", "config", "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "hunter2" not in done.stdout
    assert "a-secret-of-at-least" not in done.stdout
    rows = {row["option"]: row for row in json.loads(done.stdout)["options"]}
    assert rows["rescue_after"]["value"] == 30
    assert rows["rescue_after"]["source"] == str(tmp_path / "flowstone.toml")
    assert rows["signal_secret"]["source"] == "FLOWSTONE_SIGNAL_SECRET"
    assert rows["signal_secret"]["value"] == "********"
    assert rows["database_url"]["value"] == "postgresql+psycopg://app:***@db/flowstone"
    assert rows["poll_interval"]["source"] == "default"
