"""Exit reasons: why an actor stopped, as OTP reports it.

pykka has no exit reasons; ``supervisors.Actor`` synthesises one for every way an actor
can end, and supervisors decide restarts from it (see the restart table in
``docs/supervisors.md``).
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Crashed", "ExitReason", "Killed", "Linked", "Normal", "Shutdown"]


@dataclass(frozen=True, slots=True)
class ExitReason:
    """Base of the four exit reasons."""

    @property
    def is_crash(self) -> bool:
        """True for exits that OTP calls abnormal: a crash or a kill."""
        return False

    def describe(self) -> str:
        """A short human description for logs and trees."""
        return type(self).__name__.lower()

    def traceback_text(self) -> str | None:
        """The formatted traceback of a crash, else None."""
        return None


@dataclass(frozen=True, slots=True)
class Normal(ExitReason):
    """The actor was stopped with ``stop()`` and finished cleanly."""


@dataclass(frozen=True, slots=True)
class Shutdown(ExitReason):
    """The actor was shut down by its supervisor, or finished itself with ``finish(info)``."""

    info: Any = None

    def describe(self) -> str:
        return "shutdown" if self.info is None else f"shutdown({self.info!r})"


@dataclass(frozen=True, slots=True)
class Crashed(ExitReason):
    """The actor died of an exception (``BaseException`` included)."""

    exception: BaseException = field(compare=False)

    @property
    def is_crash(self) -> bool:
        return True

    def describe(self) -> str:
        return f"crashed: {type(self.exception).__name__}: {self.exception}"

    def traceback_text(self) -> str | None:
        return "".join(traceback.format_exception(self.exception))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Crashed) and other.exception is self.exception

    def __hash__(self) -> int:
        return id(self.exception)


@dataclass(frozen=True, slots=True)
class Killed(ExitReason):
    """The actor did not stop within its shutdown budget and was abandoned.

    Python threads cannot be killed: a killed actor's thread may still be running its
    current message. Its supervisor never starts a replacement while that thread lives.
    """

    @property
    def is_crash(self) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class Linked(ExitReason):
    """The actor was ended because a linked actor ended abnormally with ``reason``.

    It compares equal to the tuple ``("linked", reason)`` and unpacks like one. It is
    abnormal, so it propagates through further links and restarts a transient child.
    """

    reason: ExitReason

    @property
    def is_crash(self) -> bool:
        return True

    def describe(self) -> str:
        return f"linked: {self.reason.describe()}"

    def traceback_text(self) -> str | None:
        return self.reason.traceback_text()

    def __iter__(self) -> Any:
        return iter(("linked", self.reason))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, tuple):
            return other == ("linked", self.reason)
        return isinstance(other, Linked) and other.reason == self.reason

    def __hash__(self) -> int:
        return hash(("linked", self.reason))
