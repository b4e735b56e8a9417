"""A run's options are stored as sorted JSON (``batch.options_json``); the common ones are
encoded once, and values that compare equal but encode differently stay apart."""

from __future__ import annotations

import json
from typing import Any

import pytest

from flowstone._store.sql.batch import options_json


@pytest.mark.parametrize(
    "options",
    [
        {"force": False, "with_deps": True, "timeout": None},
        {"timeout": 1},
        {"timeout": 1.0},
        {"force": True},
        {"force": 1},
        {"b": 2, "a": 1},
        {"nested": {"x": [1, 2]}},  # unhashable: encoded without the cache
        {"when": object},  # not JSON: as text, as before
    ],
)
def test_options_are_encoded_as_sorted_json(options: dict[str, Any]) -> None:
    assert options_json(options) == json.dumps(options, default=str, sort_keys=True)


def test_equal_values_of_different_types_are_not_confused() -> None:
    encoded = [options_json({"timeout": value}) for value in (1, 1.0, True, 1, 1.0, True)]
    assert encoded == ['{"timeout": 1}', '{"timeout": 1.0}', '{"timeout": true}'] * 2
