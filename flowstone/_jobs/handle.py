"""``RunHandle``: what ``node.submit`` returns."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, cast

from flowstone import partitions
from flowstone._execution.run import load_value
from flowstone._jobs.records import JobInfo
from flowstone._routing.options import SKIPPED
from flowstone.errors import MaterializationError, NotMaterializedError

if TYPE_CHECKING:
    from flowstone._node.services import Services
    from flowstone._pipeline import Pipeline

__all__ = ["JobLookup", "RunHandle"]

T = TypeVar("T")


class JobLookup(Protocol):
    """What a handle needs of ``node.jobs``: read, wait for and cancel one job.

    A protocol rather than an import of ``JobsAPI``: the API builds handles, so it
    imports this module, and a module lower down never imports one above it.
    """

    @property
    def services(self) -> Services: ...

    def get(self, job_id: int) -> JobInfo: ...

    def wait_terminal(self, job_id: int, timeout: float | None) -> JobInfo: ...

    def cancel(self, job_id: int) -> bool: ...


class RunHandle(Generic[T]):
    """A submitted job: ``wait`` for its value, read its ``status``, or ``cancel`` it.

    ``RunHandle[T]``: ``node.submit(pipeline, fn)`` with the asset's function gives a handle
    whose ``wait()`` is typed to the function's return; by name it is ``RunHandle[Any]``.
    """

    def __init__(self, jobs: JobLookup, job_id: int, pipeline: Pipeline, asset: str, partition: Any) -> None:
        self._jobs = jobs
        self.id = job_id
        self._pipeline = pipeline
        self.asset = asset
        self.partition = partition

    def __repr__(self) -> str:
        return f"<RunHandle job={self.id} asset={self.asset!r}>"

    def status(self) -> JobInfo:
        """The job as stored now."""
        return self._jobs.get(self.id)

    def cancel(self) -> bool:
        """Cancel the job unless it already ended; a running attempt finishes but is not counted."""
        return self._jobs.cancel(self.id)

    def wait(self, timeout: float | None = None) -> T:
        """Block until the job ends; its value (``fs.SKIPPED`` if routing skipped its asset),
        or ``MaterializationError`` if it was discarded or cancelled, or ``TimeoutError``
        after ``timeout`` seconds."""
        info = self._jobs.wait_terminal(self.id, timeout)
        if info.state == "completed":
            services = self._jobs.services
            try:
                return cast("T", load_value(services, self._pipeline, self.asset, self.partition))
            except NotMaterializedError:
                key = partitions.serialize(self.partition)
                record = services.store.latest(self._pipeline.name, self.asset, key)
                if record is not None and record.status == "skipped":
                    # A routed branch's T does not include fs.SKIPPED (docs/typing.md says so).
                    return cast("T", SKIPPED)
                raise
        last = info.errors[-1]["error"] if info.errors else "no error recorded"
        error = MaterializationError(
            f"job {self.id} (asset {self.asset!r}, partition {partitions.describe(self.partition)!r}) "
            f"ended {info.state} after {info.attempt} attempt(s): {last}; see "
            f"node.jobs.get({self.id}).errors, and retry it with node.jobs.retry({self.id}) once fixed",
            asset=self.asset,
            partition=self.partition,
            run_id=info.run_id,
            attempts=info.attempt,
        )
        raise error
