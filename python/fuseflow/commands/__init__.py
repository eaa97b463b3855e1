"""Subcommands of the ``fuseflow`` CLI, one module each.

A command module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``;
``fuseflow.cli`` discovers every module here, so adding a command touches no other file. Only
commands that work are added.
"""
