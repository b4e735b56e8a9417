"""``--tag KEY=VALUE`` filters of the CLI (run tags, issue 19)."""

from __future__ import annotations

from collections.abc import Iterable

import click

from flowstone._tags import validate_tags
from flowstone.errors import TagError

__all__ = ["parse_tag_filters"]


def parse_tag_filters(given: Iterable[str]) -> dict[str, str]:
    """``("team=finance", ...)`` as tags, checked like a run's; a usage error otherwise."""
    tags: dict[str, str] = {}
    for text in given:
        key, sep, value = text.partition("=")
        if not sep:
            raise click.BadParameter(f"{text!r} is not KEY=VALUE", param_hint="--tag")
        tags[key] = value
    try:
        return dict(validate_tags(tags))
    except TagError as exc:
        raise click.BadParameter(str(exc), param_hint="--tag") from exc
