"""Scatter/gather: an asset run once per key (or batch of keys), its results gathered.

``options`` holds the option data (``fs.Scatter``, ``fs.Batch``, ``fs.Rate``), ``keys``
checks keys as they are produced, ``batching`` groups them, and the barrier (one row per
key or batch in the store) lives with the stores (``flowstone._store.barrier``).
"""
