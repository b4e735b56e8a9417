"""Names as long as a definition allows are stored as they are, on SQLite and PostgreSQL."""

from __future__ import annotations

import flowstone as fs


def test_a_pipeline_and_asset_of_200_characters_each_are_stored_and_read_back(database_url: str) -> None:
    pipeline = fs.Pipeline("ü" * 200)

    def value(ctx: fs.Context) -> str:
        return "stored"

    value.__name__ = "a" * 200
    pipeline.asset(value)
    with fs.start(database_url=database_url) as node:
        assert node.run(pipeline, "a" * 200, partition="eu") == "stored"
        assert node.status(pipeline, "a" * 200, partition="eu").state == "completed"
        assert node.get(pipeline, "a" * 200, partition="eu") == "stored"


def test_the_definition_limit_is_the_width_of_the_name_columns() -> None:
    from flowstone._asset import MAX_NAME_LENGTH
    from flowstone._store.sql.schema import NAME

    assert MAX_NAME_LENGTH == NAME
