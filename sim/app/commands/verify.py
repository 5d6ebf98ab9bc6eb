"""`womsim verify FOLDER`: check a sweep folder's parts against its manifest and report each."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sim.analysis.sweep.integrity import MANIFEST, part_problem, read_manifest
from sim.analysis.sweep.store import runs_of
from sim.app.commands import add_command
from sim.core.errors import InputError


def cmd_verify(args: argparse.Namespace) -> int:
    """`womsim verify`: one line per part (ok, or what is wrong), then the count of runs stored
    soundly; exit status 0 when every part is sound, 1 otherwise, 2 for no sweep folder."""
    folder = Path(args.folder)
    if not (folder / MANIFEST).is_file():
        raise InputError("is not a sweep folder (no manifest.json)", file=folder)
    manifest = read_manifest(folder / MANIFEST)
    timeseries = bool(manifest.get("timeseries"))
    sound, damaged = 0, 0
    for part in manifest["parts"]:
        problem = part_problem(folder, part, timeseries)
        runs = len(runs_of(part)) if isinstance(part.get("runs"), list) else 0
        if problem is None:
            sound += runs
            print(f"{part.get('name')}: ok, {runs} runs")
        else:
            damaged += 1
            print(f"{part.get('name')}: {problem} ({runs} runs)")
    total = manifest.get("runs", "?")
    print(f"{sound} of {total} runs stored and sound; {len(manifest['failed'])} failed; "
          f"{damaged} damaged part(s)")
    if damaged:
        print("run the same sweep again to compute the damaged parts' runs anew")
    return 1 if damaged else 0


def register(commands: Any) -> None:
    """Add `womsim verify` to the CLI's subcommands."""
    parser = add_command(
        commands, "verify", cmd_verify,
        "Check every part of a sweep folder (present, checksum and row count as the manifest "
        "recorded) and report each; exit status 1 if any is damaged.")
    parser.add_argument("folder", help="a sweep's output folder")
