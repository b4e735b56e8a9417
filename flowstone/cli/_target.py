"""Loading a command's TARGET: ``path/to/file.py:pipeline`` or ``package.module:pipeline``.

A file is imported as the module its path names from the working directory or an entry of
``sys.path``, as ``python -m`` would: ``mypipes/shop.py`` is the module ``mypipes.shop``.
Then a job submitted from it records ``mypipes.shop:pipeline``, which a worker started in
the same directory imports (``flowstone worker --import mypipes.shop``); importing it as
``shop`` would record a name that no worker can import. A file that no such name reaches
(outside the working directory and ``sys.path``) is imported as ``python path/to/file.py``
would, with its folder put on ``sys.path``: commands that run in this process work, and a
durable submit is refused (``for_workers``) before anything is enqueued.

Every failure is a ``TargetError`` whose message is one line naming the target, the file
and the cause; the command turns it into exit 2.
"""

from __future__ import annotations

import importlib
import keyword
import os
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from flowstone._pipeline import Pipeline
from flowstone.errors import FlowStoneError

__all__ = ["ModuleName", "TargetError", "load", "module_name"]

_FORMS = "expected path/to/file.py:pipeline or package.module:pipeline"


class TargetError(FlowStoneError):
    """A TARGET that cannot be loaded; ``str()`` is one line: what failed, why, what to do.

    ``__cause__`` is what the import raised, if it raised (``--debug`` prints it).
    """

    def __init__(self, target: str, reason: str) -> None:
        super().__init__(" ".join(f"cannot load target {target}: {reason}".split()))


@dataclass(frozen=True, slots=True)
class ModuleName:
    """The name a module file is imported as, and the folder that name is relative to.

    ``importable`` says whether that folder is the working directory or on ``sys.path``,
    i.e. whether another process started there (a worker) can import the same name.
    """

    name: str
    root: Path
    importable: bool


def module_name(path: Path, roots: Sequence[Path]) -> ModuleName:
    """The dotted name of the module file ``path`` (absolute, resolved) from ``roots``.

    Of the roots that hold the file under a name made of identifiers, the nearest one at
    or above the file's top regular package (the last folder up with an ``__init__.py``)
    wins: that is the name its own absolute imports use. A root inside that package comes
    next (the farthest from the file). With none, the name is the package chain and the
    root the folder above it, not importable by other processes.
    """
    chain = [] if path.name == "__init__.py" else [path.stem]
    folder = path.parent
    while (folder / "__init__.py").is_file():
        chain.insert(0, folder.name)
        folder = folder.parent
    best: tuple[tuple[int, int], ModuleName] | None = None
    for root in roots:
        if not path.is_relative_to(root):
            continue
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1:] == ["__init__"]:
            parts.pop()  # a package's own module is named after its folder
        if not parts or not all(part.isidentifier() and not keyword.iskeyword(part) for part in parts):
            continue
        above = folder.is_relative_to(root)
        rank = (0, len(parts)) if above else (1, -len(parts))
        if best is None or rank < best[0]:
            best = (rank, ModuleName(".".join(parts), root, importable=True))
    if best is not None:
        return best[1]
    return ModuleName(".".join(chain), folder, importable=False)


def load(target: str, *, for_workers: bool = False) -> Pipeline:
    """The pipeline ``target`` names; ``TargetError`` if it cannot be loaded.

    With ``for_workers`` (a durable submit), a file that workers could not import by its
    module name is refused.
    """
    location, sep, attribute = target.rpartition(":")
    if not sep or not location or not attribute:
        raise TargetError(repr(target), _FORMS)
    if location.endswith(".py") or os.sep in location or (os.altsep is not None and os.altsep in location):
        module = _import_file(target, location, for_workers=for_workers)
    else:
        cwd = os.getcwd()
        if "" not in sys.path and cwd not in sys.path:
            sys.path.insert(0, cwd)  # as ``python -m`` has it; the ``flowstone`` script does not
        module = _import_module(target, location, location)
    return _pipeline_of(module, target, location, attribute)


def _roots() -> list[Path]:
    """Where a module name can start: the working directory, then ``sys.path``."""
    roots: list[Path] = []
    for entry in [os.getcwd(), *sys.path]:
        root = Path(entry or os.getcwd()).resolve()
        if root not in roots and root.is_dir():
            roots.append(root)
    return roots


def _import_file(target: str, location: str, *, for_workers: bool) -> ModuleType:
    given = Path(location)
    if not given.exists():
        raise TargetError(target, f"{location}: no such file")
    if not given.is_file() or given.suffix != ".py":
        raise TargetError(target, f"{location}: not a .py file")
    path = given.resolve()
    found = module_name(path, _roots())
    if for_workers and not found.importable:
        raise TargetError(
            target,
            f"workers could not import {location}: no module name reaches it from the working "
            f"directory ({os.getcwd()}) or sys.path; run this from the folder that holds it (or its "
            "package), or put that folder on PYTHONPATH here and on the workers, or pass a "
            "package.module:pipeline target",
        )
    already = sys.modules.get(found.name)
    if already is not None and _file_of(already) != path:
        raise TargetError(target, _taken(location, found.name, already))
    if str(found.root) not in sys.path:
        sys.path.insert(0, str(found.root))
    module = _import_module(target, found.name, location)
    if _file_of(module) != path:  # an installed module of that name came first on sys.path
        raise TargetError(target, _taken(location, found.name, module))
    return module


def _taken(location: str, name: str, other: ModuleType) -> str:
    where = _file_of(other) or "a built-in module"
    return (
        f"{location} is the module {name!r}, but {name!r} is already {where}; rename the file "
        "(or its folder) so that its module name is its own"
    )


def _file_of(module: ModuleType) -> Path | None:
    file = getattr(module, "__file__", None)
    return None if file is None else Path(file).resolve()


def _import_module(target: str, name: str, shown: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except (Exception, SystemExit) as exc:
        missing = isinstance(exc, ModuleNotFoundError) and exc.name is not None
        if missing and (name == exc.name or name.startswith(f"{exc.name}.")):  # type: ignore[union-attr]
            todo = "check the name, and that the working directory or PYTHONPATH holds it"
        else:
            todo = f"fix {shown} (--debug shows the traceback)"
        reason = f"importing {shown} failed{_where(exc)} with {type(exc).__name__}: {exc}; {todo}"
        raise TargetError(target, reason) from exc


def _where(exc: BaseException) -> str:
    """`` at file.py:LINE``, the innermost line of user code the error was raised from."""
    if isinstance(exc, SyntaxError):
        return ""  # its message names the file and line already
    machinery = (str(Path(__file__).resolve()), str(Path(importlib.__file__).resolve().parent))
    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if not frame.filename.startswith("<") and not frame.filename.startswith(machinery)
    ]
    if not frames:
        return ""
    last = frames[-1]
    file = Path(last.filename)
    try:
        shown = str(file.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        shown = str(file)
    return f" at {shown}:{last.lineno}"


def _pipeline_of(module: ModuleType, target: str, location: str, attribute: str) -> Pipeline:
    if not hasattr(module, attribute):
        names = sorted(name for name, value in vars(module).items() if isinstance(value, Pipeline))
        hint = f"its pipelines: {', '.join(names)}" if names else "it defines no flowstone.Pipeline"
        raise TargetError(target, f"{location} has no attribute {attribute!r} ({hint})")
    value = getattr(module, attribute)
    if not isinstance(value, Pipeline):
        kind = type(value).__name__
        article = "an" if kind[:1].lower() in "aeiou" else "a"
        raise TargetError(target, f"{location}: {attribute!r} is {article} {kind}, not a flowstone.Pipeline")
    return value
