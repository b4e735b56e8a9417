"""Every reason ``node.signal`` refuses a signal for; none of them changes anything."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import wait_pipelines as wp
from wait_support import SECRET, Background

import flowstone as fs
from flowstone._waits.tokens import Secrets, TokenClaims, sign
from supervisors.testing import wait_for


def refused(node: fs.Node, token: object, payload: object = None) -> str:
    with pytest.raises(fs.SignalError) as caught:
        node.signal(token, payload)  # type: ignore[arg-type]
    return caught.value.reason


@pytest.fixture
def waiting(
    start_node: Callable[..., fs.Node], park: Callable[..., Background]
) -> tuple[fs.Node, fs.GateInfo]:
    node = start_node(max_signal_bytes=1_000)
    park(node, wp.gated, "transcoded")
    return node, node.gates()[0]


def still_waiting(node: fs.Node, gate: fs.GateInfo) -> None:
    assert [g.state for g in node.gates(state=None) if g.id == gate.id] == ["waiting"]
    assert node.status(wp.gated, "transcoded").state == "waiting"


class TestReasons:
    @pytest.mark.parametrize("token", ["", "abc", "a.b.c", "!!!.???", 42, None, "e30.AAAA"])
    def test_malformed(self, waiting: tuple[fs.Node, fs.GateInfo], token: object) -> None:
        node, gate = waiting
        assert refused(node, token) in ("malformed", "bad_signature")
        assert refused(node, "abc") == "malformed"
        still_waiting(node, gate)

    def test_bad_signature_for_a_token_forged_with_another_secret(
        self, waiting: tuple[fs.Node, fs.GateInfo]
    ) -> None:
        node, gate = waiting
        forged = sign(Secrets(b"another-secret-entirely-32-bytes"), TokenClaims(gate.id, 0, None))
        assert refused(node, forged) == "bad_signature"
        body, mac = gate.token.split(".")
        assert refused(node, f"{body}.{mac[:-2]}AA") == "bad_signature"  # a tampered signature
        still_waiting(node, gate)

    def test_not_found_for_a_signed_token_of_no_gate(self, waiting: tuple[fs.Node, fs.GateInfo]) -> None:
        node, gate = waiting
        assert refused(node, sign(Secrets(SECRET.encode()), TokenClaims("0" * 32, 0, None))) == "not_found"
        still_waiting(node, gate)

    def test_already_signaled(self, waiting: tuple[fs.Node, fs.GateInfo]) -> None:
        node, gate = waiting
        node.signal(gate.token, {"url": "first"})
        assert refused(node, gate.token, {"url": "second"}) == "already_signaled"
        wait_for(lambda: node.status(wp.gated, "transcoded").state == "completed", message="resumed")
        assert node.get(wp.gated, "transcoded")["url"] == "first"

    def test_cancelled(self, waiting: tuple[fs.Node, fs.GateInfo]) -> None:
        node, gate = waiting
        node.cancel_gate(gate.token)
        assert refused(node, gate.token, {"url": "x"}) == "cancelled"
        with pytest.raises(fs.SignalError) as again:
            node.cancel_gate(gate.token)
        assert again.value.reason == "cancelled"

    def test_too_large(self, waiting: tuple[fs.Node, fs.GateInfo]) -> None:
        node, gate = waiting
        assert refused(node, gate.token, {"url": "x" * 2_000}) == "too_large"
        still_waiting(node, gate)

    def test_unencodable(self, waiting: tuple[fs.Node, fs.GateInfo]) -> None:
        node, gate = waiting
        assert refused(node, gate.token, {"url": object()}) == "unencodable"
        still_waiting(node, gate)

    def test_expired(self, start_node: Callable[..., fs.Node]) -> None:
        node = start_node(resources={"gate_timeout": 0.2})
        with pytest.raises(fs.MaterializationError) as failed:
            node.run(wp.gated, "transcoded", timeout=10)
        assert isinstance(failed.value.__cause__, fs.GateTimeoutError)
        gate = node.gates(state="expired")[0]
        assert refused(node, gate.token, {"url": "late"}) == "expired"
        assert node.status(wp.gated, "transcoded").state == "failed"

    def test_bad_key_writes_nothing(self, start_node: Callable[..., fs.Node]) -> None:
        node = start_node()
        with pytest.raises(fs.MaterializationError) as failed:
            node.run(wp.gated, "bad_key")
        cause = failed.value.__cause__
        assert isinstance(cause, fs.SignalError)
        assert cause.reason == "bad_key"
        assert node.gates(state=None) == []

    def test_every_reason_is_a_flowstone_error(self) -> None:
        assert issubclass(fs.SignalError, fs.FlowStoneError)
        assert set(fs.SignalError.REASONS) >= {
            "malformed",
            "bad_signature",
            "not_found",
            "expired",
            "already_signaled",
            "cancelled",
            "too_large",
            "unencodable",
        }


class TestSecrets:
    def test_a_previous_secret_is_accepted_for_rotation_and_an_unknown_one_is_not(
        self, start_node: Callable[..., fs.Node], park: Callable[..., Background]
    ) -> None:
        node = start_node(previous_signal_secrets=["the-old-secret-the-old-secret-!!"])
        park(node, wp.gated, "transcoded")
        gate = node.gates()[0]
        old = sign(Secrets(b"the-old-secret-the-old-secret-!!"), TokenClaims(gate.id, 0, None))
        node.signal(old, {"url": "rotated"})
        wait_for(lambda: node.status(wp.gated, "transcoded").state == "completed", message="resumed")

    def test_a_short_secret_is_refused_at_start(self) -> None:
        with pytest.raises(ValueError, match="signal_secret: a signal secret must be at least 16 bytes"):
            fs.start(signal_secret="short")

    def test_the_secret_is_not_shown_in_the_config(self, start_node: Callable[..., fs.Node]) -> None:
        node = start_node()
        assert SECRET not in repr(node.config)
