"""Routing: routers choose a branch per run and partition; the branches not taken are
skipped, with what needs them (docs/routing.md)."""

from flowstone._routing.decisions import Decision, MemoryDecisions, RouteDecisions
from flowstone._routing.options import SKIPPED, Fallback, RouterOptions, Skipped
from flowstone._routing.router import Router

__all__ = [
    "SKIPPED",
    "Decision",
    "Fallback",
    "MemoryDecisions",
    "RouteDecisions",
    "Router",
    "RouterOptions",
    "Skipped",
]
