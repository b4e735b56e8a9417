"""The partition set protocol: what every set answers, and the one membership error."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator

from flowstone._partition_format import Partition
from flowstone._partition_text import to_text
from flowstone._partition_values import describe
from flowstone.errors import PartitionError

__all__ = ["PartitionSet"]


class PartitionSet(ABC):
    """The partitions an asset accepts (``@pipeline.asset(partitions=...)``)."""

    __slots__ = ()

    @abstractmethod
    def __contains__(self, partition: object) -> bool: ...

    @abstractmethod
    def __iter__(self) -> Iterator[Partition]: ...

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def _parse(self, text: str) -> Partition:
        """The partition ``text`` names, before the membership check."""

    @abstractmethod
    def _format(self, partition: Partition) -> str:
        """The text of a member."""

    @abstractmethod
    def _range(self, first: Partition, last: Partition) -> PartitionSet:
        """The members from ``first`` to ``last``, both members already."""

    @abstractmethod
    def _order(self, partition: Partition) -> int:
        """The position of a member in the set's order, for range checks."""

    def parse(self, text: str) -> Partition:
        """The member ``text`` names, in the syntax :meth:`format` writes.

        Raises:
            PartitionError: the text is malformed or names a partition outside the set.
        """
        if not isinstance(text, str):
            raise PartitionError(f"{self!r}.parse() takes text, not {type(text).__name__}")
        return self.check(self._parse(text))

    def format(self, partition: Partition) -> str:
        """The text of ``partition``, which :meth:`parse` reads back as it.

        Raises:
            PartitionError: ``partition`` is not in the set.
        """
        return self._format(self.check(partition))

    def range(self, first: Partition | str, last: Partition | str) -> PartitionSet:
        """The members from ``first`` to ``last``, both included, as a set of the same kind.

        Text bounds are parsed with :meth:`parse`.

        Raises:
            PartitionError: a bound is outside the set, or ``last`` comes before ``first``.
        """
        low, high = self._bound_of(first), self._bound_of(last)
        if self._order(high) < self._order(low):
            raise PartitionError(
                f"{self!r}: range {to_text(low)}..{to_text(high)} ends before it starts; swap the bounds"
            )
        return self._range(low, high)

    def _bound_of(self, value: Partition | str) -> Partition:
        if isinstance(value, str) and value not in self:
            return self.parse(value)
        return self.check(value)

    def check(self, partition: object, where: str = "") -> Partition:
        """Return ``partition`` if it is a member; otherwise raise naming the set.

        Raises:
            PartitionError: ``partition`` is not in the set (``where`` prefixes the text).
        """
        if partition in self:
            return partition  # type: ignore[return-value]  # membership implies a Partition
        raise PartitionError(
            f"{where}partition {describe(partition)!r} is not in the declared set {self!r}; "
            "pick a partition of the set, or declare a larger one"
        )
