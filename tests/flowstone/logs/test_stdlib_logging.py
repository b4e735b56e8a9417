"""Library events go through stdlib ``logging``: the host's configuration decides (issue 21).

Each case runs a small host program in a fresh interpreter (logging and structlog are
process-global) and captures its real stdout and stderr.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

PIPELINE = """
import flowstone as fs

pipeline = fs.Pipeline("logs")

@pipeline.asset
def numbers(ctx):
    ctx.log.info("numbers.made", count=3)
    return [1, 2, 3]

@pipeline.asset(retry=fs.Retry(max_attempts=2, base_delay=0.01))
def total(ctx, numbers):
    if ctx.attempt == 1:
        raise RuntimeError("first attempt fails")
    return sum(numbers)

def run(url):
    with fs.start(database_url=url) as node:
        assert node.run(pipeline, "total") == 6
"""


def _host(tmp_path: Path, setup: str) -> subprocess.CompletedProcess[str]:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    program = "\n".join([textwrap.dedent(setup), PIPELINE, f"run({url!r})"])
    script = tmp_path / "host.py"
    script.write_text(program)
    return subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )


def test_a_run_under_basic_config_at_error_prints_nothing(tmp_path: Path) -> None:
    done = _host(tmp_path, "import logging\nlogging.basicConfig(level=logging.ERROR)")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert done.stderr == ""


def test_without_any_configuration_a_run_prints_nothing_to_stdout(tmp_path: Path) -> None:
    done = _host(tmp_path, "")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""


def test_info_events_reach_the_hosts_handler_with_their_fields_and_no_alembic_chatter(tmp_path: Path) -> None:
    done = _host(
        tmp_path,
        """
        import logging, sys
        FORMAT = "%(levelname)s %(name)s %(message)s"
        logging.basicConfig(level=logging.INFO, stream=sys.stderr, format=FORMAT)
        """,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    made = [line for line in lines if "numbers.made" in line]
    assert len(made) == 1
    assert made[0].startswith("INFO flowstone ")
    assert "run_id=" in made[0]
    assert "asset=numbers" in made[0]
    assert "count=3" in made[0]
    assert not [line for line in lines if "alembic" in line], lines


def test_fields_are_record_attributes_for_a_json_formatter(tmp_path: Path) -> None:
    done = _host(
        tmp_path,
        """
        import json, logging, sys

        class Json(logging.Formatter):
            def format(self, record):
                fields = {key: getattr(record, key) for key in getattr(record, "flowstone_fields", ())}
                shown = {"logger": record.name, "event": record.getMessage(), **fields}
                return json.dumps(shown, default=str)

        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(Json())
        logging.basicConfig(level=logging.INFO, handlers=[handler])
        """,
    )
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    made = [r for r in records if r["event"].startswith("numbers.made")]
    assert len(made) == 1
    assert made[0]["asset"] == "numbers"
    assert made[0]["count"] == 3
    assert made[0]["run_id"]


def test_a_host_that_configured_structlog_keeps_getting_structlog_events(tmp_path: Path) -> None:
    done = _host(
        tmp_path,
        """
        import logging, sys, structlog
        logging.basicConfig(level=logging.CRITICAL)
        structlog.configure(
            processors=[structlog.processors.JSONRenderer()],
            logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        )
        """,
    )
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert any(e["event"] == "numbers.made" and e["asset"] == "numbers" for e in events), events
    assert done.stderr == ""
