"""The history tables of the SQL store: lineage edges and the audit log."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, desc, insert, select

from flowstone._store.records import AuditEntry
from flowstone._store.sql import driver, statements
from flowstone._store.sql.schema import audit_log, lineage
from flowstone._tags import Tags, tagged

__all__ = ["History", "LineageRecord", "audit_row", "link", "replace_edges", "run_end_audit"]

#: (pipeline, run_id, asset, partition_key, upstream (asset, partition_key) pairs)
LineageRecord = tuple[str, str, str, str, tuple[tuple[str, str], ...]]

_DELETE_LINEAGE = statements.DELETE_LINEAGE
_INSERT_LINEAGE = statements.INSERT_LINEAGE
_UPSTREAM_VERSIONS = (
    select(lineage.c.upstream_asset, lineage.c.upstream_partition_key, lineage.c.upstream_run_id)
    .where(
        lineage.c.pipeline == bindparam("b_pipeline"),
        lineage.c.asset == bindparam("b_asset"),
        lineage.c.partition_key == bindparam("b_key"),
    )
    .order_by(lineage.c.id)
)


def audit_row(
    at: datetime | str, event: str, actor: str, resource: str, action: str, details: Any
) -> dict[str, Any]:
    """An audit row; ``at`` may be the text its writer sends already (``BatchRows.stamp``)."""
    return {
        "at": at,
        "event_type": event,
        "actor": actor,
        "resource": resource,
        "action": action,
        "details": json.dumps(details, default=str, sort_keys=True),
    }


def run_end_audit(
    at: datetime, status: str, actor: str, resource: str, run_id: str, error: str | None, tags: Tags
) -> dict[str, Any]:
    """The audit row of a run that ended (``run.finished`` or ``run.failed``)."""
    completed = status in ("completed", "skipped")  # a run whose target was skipped ended well
    return audit_row(
        at,
        "run.finished" if completed else "run.failed",
        actor,
        resource,
        "finish" if completed else "fail",
        {"run_id": run_id, "error": error, **tagged(tags)},
    )


def link(
    c: Connection, pipeline: str, run_id: str, asset: str, key: str, upstream: Sequence[tuple[str, str]]
) -> None:
    """Replace one materialization's lineage inside the caller's transaction."""
    edges = [
        {
            "pipeline": pipeline,
            "run_id": run_id,
            "asset": asset,
            "partition_key": key,
            "upstream_asset": ua,
            "upstream_partition_key": uk,
        }
        for ua, uk in upstream
    ]
    replace_edges(c, [{"b_pipeline": pipeline, "b_asset": asset, "b_key": key}], edges)


def replace_edges(c: Connection, keys: list[dict[str, str]], edges: list[dict[str, str]]) -> None:
    """Delete the lineage of ``keys`` (bound ``b_pipeline``/``b_asset``/``b_key``), then insert ``edges``."""
    if driver.uses_driver(c):  # SQLite: on the driver, see driver.py
        driver.executemany(c, "delete_lineage", keys)
        driver.executemany(c, "insert_lineage", edges)
        return
    c.execute(_DELETE_LINEAGE, keys)
    if edges:
        c.execute(_INSERT_LINEAGE, edges)


class History:
    """Lineage and audit methods of ``SQLStore`` (a mixin over its transactions)."""

    if TYPE_CHECKING:  # provided by SQLStore

        def _write(self, doing: str) -> Any: ...
        def _read(self, doing: str) -> Any: ...

    # --- audit ---------------------------------------------------------------------
    def audit(self, entry: AuditEntry) -> None:
        with self._write("write the audit log of") as c:
            c.execute(
                insert(audit_log).values(
                    audit_row(
                        entry.at,
                        entry.event_type,
                        entry.actor,
                        entry.resource,
                        entry.action,
                        dict(entry.details),
                    )
                )
            )

    def audit_entries(self, limit: int) -> list[AuditEntry]:
        with self._read("read the audit log of") as c:
            rows = c.execute(select(audit_log).order_by(desc(audit_log.c.id)).limit(limit)).all()
        return [
            AuditEntry(
                aware(r.at) or r.at, r.event_type, r.actor, r.resource, r.action, json.loads(r.details)
            )
            for r in rows
        ]

    # --- lineage -------------------------------------------------------------------
    def record_lineage(
        self, pipeline: str, run_id: str, asset: str, partition_key: str, upstream: Sequence[tuple[str, str]]
    ) -> None:
        self.record_lineage_many([(pipeline, run_id, asset, partition_key, tuple(upstream))])

    def record_lineage_many(self, records: Sequence[LineageRecord]) -> None:
        """Record several materializations' lineage in one transaction (each replaces the old)."""
        if not records:
            return
        edges = [
            {
                "pipeline": p,
                "run_id": r,
                "asset": a,
                "partition_key": k,
                "upstream_asset": ua,
                "upstream_partition_key": uk,
            }
            for p, r, a, k, upstream in records
            for ua, uk in upstream
        ]
        with self._write("record lineage in") as c:
            replace_edges(
                c, [{"b_pipeline": p, "b_asset": a, "b_key": k} for p, _, a, k, _ in records], edges
            )

    def upstream_of(self, pipeline: str, asset: str, partition_key: str) -> list[tuple[str, str]]:
        with self._read("read lineage from") as c:
            rows = c.execute(
                select(lineage.c.upstream_asset, lineage.c.upstream_partition_key)
                .where(
                    lineage.c.pipeline == pipeline,
                    lineage.c.asset == asset,
                    lineage.c.partition_key == partition_key,
                )
                .order_by(lineage.c.id)
            ).all()
        return [(r[0], r[1]) for r in rows]

    def upstream_versions(
        self, pipeline: str, asset: str, partition_key: str
    ) -> list[tuple[str, str, str | None]]:
        with self._read("read lineage from") as c:
            rows = c.execute(
                _UPSTREAM_VERSIONS, {"b_pipeline": pipeline, "b_asset": asset, "b_key": partition_key}
            ).all()
        return [(r[0], r[1], r[2]) for r in rows]

    def downstream_of(self, pipeline: str, asset: str, partition_key: str) -> list[tuple[str, str]]:
        with self._read("read lineage from") as c:
            rows = c.execute(
                select(lineage.c.asset, lineage.c.partition_key)
                .where(
                    lineage.c.pipeline == pipeline,
                    lineage.c.upstream_asset == asset,
                    lineage.c.upstream_partition_key == partition_key,
                )
                .order_by(lineage.c.asset, lineage.c.partition_key)
            ).all()
        return [(r[0], r[1]) for r in rows]


def aware(moment: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes for timezone-aware columns: they are UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment
