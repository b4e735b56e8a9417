"""Sensors: a function polled every ``interval`` seconds with its last cursor, returning the
partitions of its target to run (``fs.SensorResult``) and its new cursor."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flowstone.errors import DefinitionError

if TYPE_CHECKING:
    from flowstone._pipeline import Pipeline

__all__ = ["SensorContext", "SensorDef", "SensorFunction", "SensorResult", "define_sensor"]

SensorFunction = Callable[["SensorContext", Any], "SensorResult"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SensorResult:
    """What a poll found: every partition in ``partitions`` is run once (run key = sensor +
    partition), and ``cursor`` (JSON data: text, numbers, lists, dicts, or None) is what the
    next poll gets. Both are committed together with the runs."""

    partitions: Sequence[Any] = ()
    cursor: Any = None

    def __post_init__(self) -> None:
        if isinstance(self.partitions, (str, bytes)) or not isinstance(self.partitions, Sequence):
            raise TypeError(f"SensorResult partitions must be a list, got {self.partitions!r}")
        object.__setattr__(self, "partitions", tuple(self.partitions))
        try:
            json.dumps(self.cursor, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"SensorResult cursor must be JSON data, got {self.cursor!r}: {exc}") from None


@dataclass(frozen=True, slots=True)
class SensorContext:
    """What a sensor's function knows: its name, pipeline, the time, a logger, the resources."""

    sensor: str
    pipeline: str
    target: str
    now: datetime
    log: Any
    resources: Mapping[str, Any] = field(default_factory=dict)
    #: The node's store of records (``asset_materialized`` reads it).
    store: Any = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SensorDef:
    """A sensor as declared on a pipeline."""

    name: str
    pipeline: Pipeline
    target: str
    interval: float
    fn: SensorFunction = field(compare=False)

    def check(self) -> None:
        """``DefinitionError`` unless the pipeline has the target asset."""
        if self.target not in self.pipeline:
            raise DefinitionError(
                f"sensor {self.name!r} of pipeline {self.pipeline.name!r}: target {self.target!r} "
                f"is not an asset of the pipeline; assets: {', '.join(self.pipeline.assets()) or 'none'}"
            )


def define_sensor(
    pipeline: Pipeline, fn: SensorFunction, *, target: str | None, interval: float, name: str | None
) -> SensorDef:
    """The ``SensorDef`` of ``@pipeline.sensor(...)``; a built-in sensor carries its target."""
    target = target if target is not None else getattr(fn, "target", None)
    name = name or getattr(fn, "sensor_name", None) or getattr(fn, "__name__", None)
    where = f"pipeline {pipeline.name!r}, sensor {name!r}"
    if not callable(fn):
        raise DefinitionError(f"{where}: a sensor is a function (ctx, cursor) -> fs.SensorResult, got {fn!r}")
    if not isinstance(name, str) or not name or name == "<lambda>":
        raise DefinitionError(f"{where}: give the sensor a name (name='...')")
    if not isinstance(target, str) or not target:
        raise DefinitionError(f"{where}: target must be the name of the asset to run, got {target!r}")
    if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not math.isfinite(interval):
        raise DefinitionError(f"{where}: interval must be a number of seconds > 0, got {interval!r}")
    if interval <= 0:
        raise DefinitionError(f"{where}: interval must be a number of seconds > 0, got {interval!r}")
    return SensorDef(name=name, pipeline=pipeline, target=target, interval=float(interval), fn=fn)
