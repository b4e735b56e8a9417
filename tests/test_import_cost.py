"""``import flowstone`` loads the definition core only; the runtime loads on first use.

Issue 22: the node runtime (stores, jobs, waits, schedules), the testing helpers, process
children (multiprocessing) and the heavy third-party libraries are imported when first
named, so a script that only defines assets does not pay for them. Counted in a fresh
interpreter, never timed (benchmarks/bench_import.py has the figures).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import flowstone as fs

NOT_AT_IMPORT = (
    "flowstone._node.node",
    "flowstone._store.memory",
    "flowstone._jobs.api",
    "flowstone._waits.runtime",
    "flowstone._schedules.actor",
    "flowstone.testing",
    "supervisors._process",
    "supervisors._ref",
    "supervisors._supervisor",
    "pykka",
    "flowstone.events",
    "flowstone.codec",
    "msgpack",
    "multiprocessing",
    "sqlalchemy",
    "alembic",
    "psycopg",
    "rich",
    "croniter",
    "flowstone.http",
    "httpx",
)


def _modules_after(code: str) -> set[str]:
    snippet = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", snippet], check=True, capture_output=True, text=True)
    return set(json.loads(result.stdout))


def test_import_flowstone_loads_none_of_the_runtime() -> None:
    loaded = _modules_after("import flowstone")
    assert sorted(loaded & set(NOT_AT_IMPORT)) == []


def test_naming_a_runtime_export_loads_it() -> None:
    loaded = _modules_after("import flowstone\nflowstone.Node")
    assert "flowstone._node.node" in loaded


@pytest.mark.parametrize("name", sorted(fs.__all__))
def test_every_export_resolves_from_a_fresh_import(name: str) -> None:
    assert getattr(fs, name) is not None


def test_the_modules_flowstone_exports_load_when_named() -> None:
    loaded = _modules_after(
        "import flowstone\nflowstone.io.SQL, flowstone.events.EventBus, flowstone.codec.encode"
    )
    assert {"flowstone.io", "flowstone.events", "flowstone.codec", "msgpack"} <= loaded


def test_supervisors_loads_its_runtime_when_a_name_is_used() -> None:
    loaded = _modules_after("import supervisors")
    assert "pykka" not in loaded
    loaded = _modules_after("import supervisors\nsupervisors.Supervisor")
    assert {"supervisors._ref", "pykka"} <= loaded


def test_an_unknown_name_is_still_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nodes'"):
        fs.Nodes  # noqa: B018 - the attribute access is what is tested
