"""Admission: whether an asset may start now (``rate=``, ``concurrency=``), and waiting
for it without holding a runner (docs/resources.md)."""
