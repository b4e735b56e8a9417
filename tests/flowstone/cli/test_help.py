"""Every command's ``--help`` carries an example (checked in process: no subprocess needed)."""

from __future__ import annotations

import click

from flowstone.cli import main


def leaves(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The paths of every command under ``group`` that is not itself a group."""
    found: list[tuple[str, ...]] = []
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            found.extend(leaves(command, (*path, name)))
        else:
            found.append((*path, name))
    return found


def help_text(path: tuple[str, ...]) -> str:
    context = click.Context(main, info_name="flowstone")
    command: click.Command = main
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
        context = click.Context(command, info_name=name, parent=context)
    return command.get_help(context)


def test_every_command_help_shows_an_example_of_itself() -> None:
    paths = leaves(main)
    assert ("run",) in paths
    assert ("jobs", "stats") in paths

    missing = [
        " ".join(path)
        for path in paths
        if "Example" not in (text := help_text(path)) or f"flowstone {' '.join(path)}" not in text
    ]

    assert missing == [], f"--help without an example: {', '.join(missing)}"
