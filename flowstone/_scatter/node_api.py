"""The node's scatter methods (mixed into ``Node``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flowstone._scatter.driver import barrier_of

if TYPE_CHECKING:
    from flowstone._node.services import Services
    from flowstone._store.barrier import Progress as ScatterProgress

__all__ = ["ScattersAPI"]


class ScattersAPI:
    """Mixed into ``Node``: ``scatter_progress`` and ``cancel``."""

    _services: Services

    def scatter_progress(self, run_id: str, asset: str) -> ScatterProgress | None:
        """How far a scatter asset of a run is (total if known, done, failed, running);
        None if the run has no scatter of that asset."""
        return barrier_of(self._services).progress(run_id, asset)

    def cancel(self, run_id: str) -> bool:
        """Stop starting the remaining keys of the run's scatters on this node: the keys
        running finish, and the asset ends as cancelled (``ScatterCancelledError``).
        Whether a scatter of that run was running here."""
        return self._services.scatters.cancel(run_id)
