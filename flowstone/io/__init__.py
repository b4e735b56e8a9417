"""IO managers: where asset values are stored (``@pipeline.asset(io=fs.io.Memory())``)."""

from flowstone.io._base import AssetKey, IOManager
from flowstone.io._memory import Memory

__all__ = ["AssetKey", "IOManager", "Memory"]
