"""IO managers: where asset values are stored (``@pipeline.asset(io=fs.io.Files("/data"))``).

- ``Memory()``: in the process; the default without a database.
- ``SQL(format="msgpack"|"json")``: in the node's database; the default with one.
- ``Files(root)``: one msgpack file per asset and partition, written atomically.
"""

from flowstone.io._base import AssetKey, IOManager
from flowstone.io._files import Files
from flowstone.io._memory import Memory
from flowstone.io._sql import SQL

__all__ = ["AssetKey", "Files", "IOManager", "Memory", "SQL"]
