"""The `womsim` subcommands that live outside the CLI's core: each module parses its own
arguments (`register`), drives the layers below, and prints what it did."""
