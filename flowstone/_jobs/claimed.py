"""``ClaimedJob``: a claimed row, decoded so that no content can stop its job from ending.

A claim commits before its rows are decoded, so a row that cannot be read must still
give a job: one that says what is wrong with it (``defect``), which its worker
discards with that reason recorded. Raising instead would leave it, and every job
claimed in the same statement, ``executing`` on a live node forever. Fields written by
a newer FlowStone (a rolling upgrade) are ignored with a warning: the job runs with the
fields this version knows.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import dataclass
from typing import Any

from flowstone._retry import Retry
from flowstone._tags import Tags, validate_tags
from flowstone.errors import TagError
from supervisors._log import get_logger

__all__ = ["ClaimedJob", "claimed_from_row", "readable_errors"]

log = get_logger("flowstone")

# What NewJob rows carry in ``options``; "parallel": a branch's group (flowstone/_parallel/jobs.py).
_OPTIONS = ("force", "retry", "unique_states", "parallel", "tags")
_RETRY_FIELDS = tuple(f.name for f in dataclasses.fields(Retry))


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    """A job this node now owns for one attempt."""

    id: int
    queue: str
    pipeline_ref: str
    pipeline: str
    asset: str
    partition_key: str
    options: dict[str, Any]
    attempt: int
    max_attempts: int
    errors: list[dict[str, Any]]
    # Whether the asset's latest record for the partition was completed when claimed
    # (PostgreSQL; None where not looked up): spares a no-dependency job its planning read.
    target_done: bool | None = None
    defect: str | None = None  # why the row cannot be run as it is; None for a sound row

    @property
    def retry(self) -> Retry:
        """``options["retry"]`` (fields this version does not know left out); ``ValueError``
        if it is not a valid policy (a claimed row that is not says so in ``defect``)."""
        return _retry(self.options.get("retry", {}), [])

    @property
    def force(self) -> bool:
        """``options["force"]``; ``ValueError`` if it is not a bool."""
        return _force(self.options.get("force", False))

    @property
    def tags(self) -> Tags:
        """``options["tags"]``: the run tags the job was submitted with (issue 19)."""
        return _tags(self.options.get("tags"))


class _UnreadableError(ValueError):
    """A column of a claimed row that this version cannot read."""


def claimed_from_row(row: Any) -> ClaimedJob:
    """The ``ClaimedJob`` of a claimed row; never raises for what its columns hold."""
    defects: list[str] = []
    errors: list[dict[str, Any]] = []
    text = row.options
    checked = _checked_options(text) if isinstance(text, str) else _check_options(text)
    options, unknown, defect = dict(checked[0]), list(checked[1]), checked[2]
    if defect is not None:
        defects.append(defect)
    try:
        errors = [] if row.errors == "[]" else _errors(row.errors)  # most have none
    except _UnreadableError as exc:
        defects.append(str(exc))
    if unknown and not defects:
        log.warning(
            "job.unknown_options",
            job_id=row.id,
            fields=unknown,
            hint="written by a newer FlowStone? ignored; upgrade this worker to honour them",
        )
    defect = None
    if defects:
        defect = (
            f"job {row.id} cannot be run: {'; '.join(defects)}. The row was not written by this "
            f"FlowStone (edited by hand, or by an incompatible version); fix it and call "
            f"node.jobs.retry({row.id}), or submit the job again"
        )
    return ClaimedJob(
        row.id,
        row.queue,
        row.pipeline_ref,
        row.pipeline,
        row.asset,
        row.partition_key,
        options,
        row.attempt,
        row.max_attempts,
        errors,
        getattr(row, "target_done", None),
        defect,
    )


@functools.lru_cache(maxsize=256)
def _checked_options(text: str) -> tuple[dict[str, Any], tuple[str, ...], str | None]:
    """``_check_options`` of an ``options`` text, cached: the jobs of one submit or
    backfill share it, and validating it was a tenth of a claim's Python time. Callers
    copy the dict; nothing mutates it."""
    return _check_options(text)


def _check_options(text: object) -> tuple[dict[str, Any], tuple[str, ...], str | None]:
    """The options of a row, the fields this version does not know, and what makes them
    unreadable (then the options are empty: nothing of them is trusted, not even
    ``unique_states``)."""
    unknown: list[str] = []
    try:
        options = _object(text, "options")
        unknown.extend(key for key in options if key not in _OPTIONS)
        _force(options.get("force", False))
        _retry(options.get("retry", {}), unknown)
        _unique_states(options.get("unique_states"))
        _tags(options.get("tags"))
    except _UnreadableError as exc:
        return {}, (), str(exc)
    return options, tuple(unknown), None


def _json(text: object, column: str) -> Any:
    if not isinstance(text, str):
        raise _UnreadableError(f"its {column} column is {type(text).__name__}, not JSON text")
    try:
        return json.loads(text)
    except ValueError as exc:  # JSONDecodeError
        raise _UnreadableError(f"its {column} column is not valid JSON ({exc})") from exc
    except RecursionError as exc:
        raise _UnreadableError(f"its {column} column is nested too deeply to read") from exc


def _object(text: object, column: str) -> dict[str, Any]:
    value = _json(text, column)
    if not isinstance(value, dict):
        raise _UnreadableError(f"its {column} column holds a JSON {type(value).__name__}, not an object")
    return value


def _tags(value: object) -> Tags:
    try:
        return validate_tags(value)
    except TagError as exc:
        raise _UnreadableError(f"options.tags: {exc}") from exc


def _force(value: object) -> bool:
    if not isinstance(value, bool):
        raise _UnreadableError(f"options.force is {value!r}, not true or false")
    return value


def _retry(value: object, unknown: list[str]) -> Retry:
    if not isinstance(value, dict):
        raise _UnreadableError(f"options.retry is {value!r}, not an object of fs.Retry fields")
    unknown.extend(f"retry.{key}" for key in value if key not in _RETRY_FIELDS)
    known = {key: item for key, item in value.items() if key in _RETRY_FIELDS}
    try:  # typed, so that True and 1 (equal, and equally hashed) are not the same policy
        fields = tuple(sorted((key, type(item), item) for key, item in known.items()))
        hash(fields)
    except TypeError:  # an unhashable value: not a valid policy either, built to say why
        return _built_retry(tuple((key, type(item), item) for key, item in known.items()))
    return _cached_retry(fields)


@functools.lru_cache(maxsize=256)
def _cached_retry(fields: tuple[tuple[str, type, Any], ...]) -> Retry:
    """``_built_retry``, cached: every job of a queue carries the same policy, and building
    and validating it was a twentieth of a short job's worker time (issue 22). A ``Retry``
    is frozen; an invalid one raises, and is not cached."""
    return _built_retry(fields)


def _built_retry(fields: tuple[tuple[str, type, Any], ...]) -> Retry:
    try:
        return Retry(**{key: item for key, _, item in fields})
    except (TypeError, ValueError) as exc:
        raise _UnreadableError(f"options.retry is not a valid fs.Retry: {exc}") from exc


def _unique_states(value: object) -> None:
    if value is not None and not (isinstance(value, list) and all(isinstance(s, str) for s in value)):
        raise _UnreadableError(f"options.unique_states is {value!r}, not a list of job states")


def _errors(text: object) -> list[dict[str, Any]]:
    value = _json(text, "errors")
    if not isinstance(value, list) or not all(isinstance(entry, dict) for entry in value):
        raise _UnreadableError("its errors column is not a JSON list of error objects")
    return value


def readable_errors(text: object) -> list[dict[str, Any]]:
    """A row's ``errors`` for ``JobInfo``: an unreadable column reads as one entry saying
    so, so that reading a job (``handle.wait``, ``node.jobs.list``) never raises for it."""
    try:
        return _errors(text)
    except _UnreadableError as exc:
        return [{"attempt": None, "at": None, "error": f"{exc}; the errors recorded before are lost"}]
