"""``flowstone signal``, ``flowstone gates`` and ``flowstone approvals``: only the database needed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import wait_pipelines as wp
from wait_support import HERE, SECRET, Background

import flowstone as fs
from supervisors.testing import wait_for

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.fixture
def cli(url: str) -> Callable[..., subprocess.CompletedProcess[str]]:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "FLOWSTONE_DATABASE_URL": url,
            "FLOWSTONE_SIGNAL_SECRET": SECRET,
            "PYTHONPATH": str(HERE),
        }
        return subprocess.run(
            [sys.executable, "-m", "flowstone", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )

    return run


class TestSignal:
    def test_a_signal_with_a_json_payload_resumes_the_run_and_a_second_is_refused(
        self,
        start_node: Callable[..., fs.Node],
        park: Callable[..., Background],
        cli: Callable[..., subprocess.CompletedProcess[str]],
    ) -> None:
        node = start_node()
        park(node, wp.gated, "published")
        token = node.gates()[0].token

        done = cli("signal", token, "--payload", '{"url": "from the cli"}', "--json")

        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["state"] == "signaled"
        wait_for(lambda: node.status(wp.gated, "published").state == "completed", timeout=10)
        assert node.get(wp.gated, "published") == "v1 at from the cli"
        again = cli("signal", token, "--payload", '{"url": "twice"}')
        assert again.returncode == 1
        assert "already_signaled" in again.stderr
        assert again.stdout == ""

    def test_a_payload_from_a_file_and_the_errors_of_bad_input(
        self,
        start_node: Callable[..., fs.Node],
        park: Callable[..., Background],
        cli: Callable[..., subprocess.CompletedProcess[str]],
        tmp_path: Path,
    ) -> None:
        node = start_node()
        park(node, wp.gated, "transcoded")
        token = node.gates()[0].token
        assert cli("signal", "not-a-token").returncode == 1
        assert "malformed" in cli("signal", "not-a-token").stderr
        assert cli("signal", token, "--payload", "{not json").returncode == 2
        assert cli("signal", token, "--payload", '{"a": NaN}').returncode == 2  # not JSON either
        payload = tmp_path / "payload.json"
        payload.write_text('{"url": "from a file"}')
        done = cli("signal", token, "--payload", f"@{payload}")
        assert done.returncode == 0, done.stderr
        wait_for(lambda: node.status(wp.gated, "transcoded").state == "completed", timeout=10)
        assert node.get(wp.gated, "transcoded")["url"] == "from a file"

    def test_gates_lists_the_waiting_gates_with_their_tokens(
        self,
        start_node: Callable[..., fs.Node],
        park: Callable[..., Background],
        cli: Callable[..., subprocess.CompletedProcess[str]],
    ) -> None:
        node = start_node()
        park(node, wp.gated, "transcoded")
        listed = json.loads(cli("gates", "--json").stdout)
        assert [(g["asset"], g["state"], g["token"]) for g in listed] == [
            ("transcoded", "waiting", node.gates()[0].token)
        ]
        assert json.loads(cli("gates", "--state", "signaled", "--json").stdout) == []
        table = cli("gates").stdout  # piped: the table is as wide as its rows, never wrapped
        assert any(node.gates()[0].token in line for line in table.splitlines())


class TestApprovals:
    def test_approve_from_the_cli_resumes_and_a_second_decision_is_refused(
        self,
        start_node: Callable[..., fs.Node],
        park: Callable[..., Background],
        cli: Callable[..., subprocess.CompletedProcess[str]],
    ) -> None:
        node = start_node()
        park(node, wp.approvals, "announced")
        listed = json.loads(cli("approvals", "--json").stdout)
        assert [(a["asset"], a["message"]) for a in listed] == [("publish", "Publish the Q3 report?")]
        approval_id = listed[0]["id"]

        done = cli("approvals", "approve", approval_id, "--by", "carol", "--reason", "ok", "--json")

        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["decided_by"] == "carol"
        wait_for(lambda: node.status(wp.approvals, "announced").state == "completed", timeout=10)
        assert node.get(wp.approvals, "announced") == "published by carol"
        refused = cli("approvals", "reject", approval_id, "--by", "dave", "--reason", "late")
        assert refused.returncode == 1
        assert "not_pending" in refused.stderr
        assert any(e.event_type == "approval.approved" and e.actor == "carol" for e in node.audit())

    def test_reject_needs_a_reason_and_fails_the_asset(
        self,
        start_node: Callable[..., fs.Node],
        park: Callable[..., Background],
        cli: Callable[..., subprocess.CompletedProcess[str]],
    ) -> None:
        node = start_node()
        park(node, wp.approvals, "publish")
        approval_id = node.approvals()[0].id
        assert cli("approvals", "reject", approval_id, "--by", "dave").returncode == 2
        done = cli("approvals", "reject", approval_id, "--by", "dave", "--reason", "wrong quarter")
        assert done.returncode == 0, done.stderr
        wait_for(lambda: node.status(wp.approvals, "publish").state == "failed", timeout=10)
        assert cli("approvals", "approve", "nope", "--by", "x").returncode == 1


class TestRunThatWaits:
    def test_run_says_what_it_waits_for_and_gives_up_after_its_timeout_leaving_the_run_waiting(
        self, cli: Callable[..., subprocess.CompletedProcess[str]], start_node: Callable[..., fs.Node]
    ) -> None:
        done = cli("run", "wait_pipelines:gated", "published", "--timeout", "1")

        assert done.returncode == 1
        assert "waits on gate" in done.stderr
        assert "flowstone signal " in done.stderr
        assert "still waiting" in done.stderr
        node = start_node()
        [gate] = node.gates()
        assert gate.token in done.stderr  # the line gives the command that resumes it
        assert node.status(wp.gated, "transcoded").state == "waiting"
