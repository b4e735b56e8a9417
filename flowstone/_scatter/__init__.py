"""Scatter/gather: an asset run once per key (or batch of keys), its results gathered.

``options`` holds the option data (``fs.Scatter``, ``fs.Batch``, ``fs.Rate``), ``keys``
checks keys as they are produced, ``batching`` groups them, and the barrier (one row per
key or batch in the store) lives with the stores (``flowstone._store.barrier``).
``driver`` is the asset's attempt (write the keys, then wait), ``wait`` the durable wait on
the barrier and its resumption, ``gather`` the end of a scatter, ``actor`` the node's
``scatters`` child that runs the keys (``dispatch``, ``units``) and helps other nodes
(``helper``).
"""
