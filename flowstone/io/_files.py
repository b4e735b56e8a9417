"""``Files``: one msgpack file per asset and partition, written atomically."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from flowstone import codec, partitions
from flowstone.io._base import AssetKey

__all__ = ["Files"]

_SUFFIX = ".msgpack"
_MAX_NAME = 200  # leave room under the usual 255-byte file-name limit


class Files:
    """Values as files under ``root/<pipeline>/<asset>/<partition>.msgpack``.

    A value is encoded once and written to a temporary file in the same directory, then
    renamed over the old one: a reader sees the old value or the new one, never half of
    either, and a failed encode leaves nothing behind. Partition keys too long for a file
    name are hashed, with the key kept in a ``.key`` file beside the value. Every name is
    encoded as one path component, so whatever a pipeline is called (``..`` included) its
    files stay inside ``root``.
    """

    def __init__(
        self, root: str | os.PathLike[str], *, max_value_bytes: int = codec.DEFAULT_MAX_VALUE_BYTES
    ) -> None:
        self.root = Path(root)
        self.max_value_bytes = max_value_bytes

    def __repr__(self) -> str:
        return f"Files({str(self.root)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Files) and other.root == self.root

    def __hash__(self) -> int:
        return hash(("Files", self.root))

    def _dir(self, pipeline: str, asset: str) -> Path:
        return self.root / _component(pipeline) / _component(asset)

    def _path(self, key: AssetKey) -> Path:
        name = _component(key.partition_key)
        if len(name) > _MAX_NAME:
            name = "h-" + hashlib.sha256(key.partition_key.encode()).hexdigest()
        return self._dir(key.pipeline, key.asset) / (name + _SUFFIX)

    def load(self, key: AssetKey) -> Any:
        try:
            data = self._path(key).read_bytes()
        except FileNotFoundError:
            raise KeyError(key) from None
        return codec.decode(data)

    def store(self, key: AssetKey, value: Any) -> None:
        data = codec.encode(value, max_bytes=self.max_value_bytes)
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.name.startswith("h-"):
            _atomic_write(path.with_suffix(".key"), key.partition_key.encode())
        _atomic_write(path, data)

    def exists(self, key: AssetKey) -> bool:
        return self._path(key).exists()

    def delete(self, key: AssetKey) -> bool:
        path = self._path(key)
        with contextlib.suppress(FileNotFoundError):
            path.with_suffix(".key").unlink()
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        return True

    def list_partitions(self, pipeline: str, asset: str) -> list[partitions.Partition]:
        directory = self._dir(pipeline, asset)
        if not directory.is_dir():
            return []
        found = []
        for path in sorted(directory.glob("*" + _SUFFIX)):
            stem = path.name[: -len(_SUFFIX)]
            key = path.with_suffix(".key").read_text() if stem.startswith("h-") else unquote(stem)
            found.append(partitions.deserialize(key))
        return found

    def release(self, pipeline: str) -> None:
        pass  # files are durable


def _component(name: str) -> str:
    """A name as one path component that stays where it is put.

    Percent-encoding every character but letters, digits and ``_.-~`` turns ``/``, ``\\``,
    NUL and the like into ``%XX``, so a name can never be several components or an absolute
    path. What is left are the names the file system gives a meaning of its own: ``.`` (the
    directory itself), ``..`` (its parent) and the empty name; their dots are encoded too,
    and the empty name becomes a lone ``%``, which encoding never produces otherwise.
    """
    quoted = quote(name, safe="")
    if quoted in (".", ".."):
        return quoted.replace(".", "%2E")
    return quoted or "%"


def _atomic_write(path: Path, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(handle, "wb") as stream:
            view = memoryview(data)
            for start in range(0, len(view), 1 << 20):  # stream large values in 1 MiB chunks
                stream.write(view[start : start + (1 << 20)])
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
