"""Errors raised by the supervision library.

The hierarchy::

    SupervisorError             an admin call was refused; ``.code`` is OTP's word for why
    ├── SupervisorTimeoutError  an admin call was not answered in time (also a TimeoutError)
    ├── AlreadyStartedError     a name is registered to a live actor; ``.holder`` is its ref
    ├── StartChildError         a child's start function failed; cause in ``__cause__``
    └── ChildSpecError          a child spec or supervisor flag is invalid; ``.code`` says which
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AlreadyStartedError",
    "ChildSpecError",
    "StartChildError",
    "SupervisorError",
    "SupervisorTimeoutError",
]


class SupervisorError(Exception):
    """An admin call was refused.

    ``code`` uses OTP's vocabulary: ``running``, ``restarting``, ``not_found``,
    ``already_present``, ``already_started``, ``max_children``, ``not_supported``,
    ``start_failed``, ``dead``.
    """

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


class StartChildError(SupervisorError):
    """A child could not be started; the original error is ``__cause__``."""

    def __init__(self, child_id: str, cause: BaseException | None = None) -> None:
        detail = f": {type(cause).__name__}: {cause}" if cause is not None else ""
        super().__init__(f"child {child_id!r} failed to start{detail}", code="start_failed")
        self.child_id = child_id
        if cause is not None:
            self.__cause__ = cause


class ChildSpecError(SupervisorError):
    """A child spec (or supervisor flag) is invalid; ``code`` names the rule it breaks."""


class SupervisorTimeoutError(SupervisorError, TimeoutError):
    """An admin call was not answered within its ``timeout``: the supervisor is busy."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="timeout")


class AlreadyStartedError(SupervisorError):
    """A name is already registered to a live actor (OTP's ``{already_started, Pid}``).

    ``holder`` is the ref that holds the name; ``name`` the name asked for.
    """

    def __init__(self, name: str, holder: Any) -> None:
        super().__init__(
            f"the name {name!r} is already registered to {holder!r}; stop it first or use another name",
            code="already_started",
        )
        self.name = name
        self.holder = holder
