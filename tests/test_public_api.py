"""The public API is what the packages export, and it matches the documented contract."""

from __future__ import annotations

import ast
from pathlib import Path

import flowstone as fs
import supervisors

ROOT = Path(__file__).resolve().parent.parent

SUPERVISORS_CONTRACT = {
    "Supervisor", "DynamicSupervisor", "ChildSpec", "Actor", "Backoff",
    "ExitReason", "Normal", "Shutdown", "Crashed", "Killed",
    "ChildInfo", "TreeNode", "render_tree", "check_child_specs", "monitor", "demonitor", "Down",
    "SupervisorError", "StartChildError", "ChildSpecError",
    "SupervisorTimeoutError", "AlreadyStartedError", "whereis", "register", "unregister", "registered",
    "link", "unlink", "Exit", "Linked", "GaveUp", "ProcessChild", "ProcessChildError", "ProcessExitError",
    "JsonCodec",
}  # fmt: skip

FLOWSTONE_CONTRACT = {
    "Pipeline", "AssetOptions", "Retry", "start", "Node", "Status", "BackfillReport", "PartitionResult",
    "LineageRef", "Health", "Check", "AssetInfo", "AuditEntry", "RunHandle", "JobInfo", "Unique", "Snooze",
    "Discard", "FlowStoneError", "DefinitionError", "CycleError", "MaterializationError",
    "DependencyNotReadyError", "NotMaterializedError", "AssetNotFoundError", "PartitionError", "LineageError",
    "EncodeError", "StoreUnavailableError", "assets", "asset_info", "graph", "run", "get", "exists", "status",
    "invalidate", "backfill", "backfill_iter", "codec", "events", "io", "partitions", "testing",
    "SchemaVersionError", "Gate", "GateInfo", "RequestApproval", "ApprovalInfo", "SignalError",
    "ApprovalError", "ApprovalRejectedError", "GateTimeoutError",
    "Scatter", "Batch", "BatchInfo", "Rate", "Slots", "ScatterKeyError", "ScatterError",
    "ScatterCancelledError", "ScatterProgress", "readers",
    "Fallback", "SKIPPED", "RouteError", "IsolationError", "OptionError",
    "Schedule", "ScheduleInfo", "SensorResult", "SensorContext", "SensorInfo", "sensors",
    "Branch", "BranchResult", "ParallelBranchError", "ParallelTimeoutError",
    "PartitionStatus",
    "TagError",
    "Resource", "env", "ResourceError", "ResourceUnavailableError", "http",
}  # fmt: skip


def test_supervisors_exports_its_contract() -> None:
    assert set(supervisors.__all__) >= SUPERVISORS_CONTRACT
    assert all(hasattr(supervisors, name) for name in supervisors.__all__)


def test_flowstone_exports_its_contract() -> None:
    assert set(fs.__all__) >= FLOWSTONE_CONTRACT
    assert all(hasattr(fs, name) for name in fs.__all__)


def test_errors_share_one_root() -> None:
    errors = [getattr(fs, name) for name in fs.__all__ if name.endswith("Error")]
    assert errors
    assert all(issubclass(error, fs.FlowStoneError) for error in errors)


def test_supervisors_never_imports_flowstone() -> None:
    for path in (ROOT / "supervisors").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not any(n == "flowstone" or n.startswith("flowstone.") for n in names), path


def test_both_packages_ship_type_information() -> None:
    assert (ROOT / "supervisors" / "py.typed").exists()
    assert (ROOT / "flowstone" / "py.typed").exists()


def test_no_module_is_much_over_four_hundred_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): n
        for package in ("supervisors", "flowstone")
        for path in (ROOT / package).rglob("*.py")
        if (n := len(path.read_text().splitlines())) > 450
    }
    assert not long, f"split these modules by concept: {long}"
