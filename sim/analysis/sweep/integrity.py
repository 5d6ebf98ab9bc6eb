"""What keeps a sweep folder sound: the manifest records each part's row counts and checksums and
a fingerprint of every input; a resumed sweep checks both, and a lock file keeps a second sweep
out of a folder one is writing.

`womsim verify FOLDER` reports what `part_problem` finds for each part.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from sim.analysis.sweep.experiment import Experiment
from sim.run.folders import process_alive
from sim.scenario.load import ScenarioError

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "womsim-sweep/1"
LOCK = ".lock"
TABLES = ("runs", "timeseries")
# The keys naming network files whose content decides the graph, and what a message calls each.
_NETWORK_FILES = {"network.path": "edge list", "network.nodes": "node list"}


def file_checksum(path: Path) -> str:
    """A BLAKE2 digest of the file's bytes."""
    digest = hashlib.blake2b(digest_size=16)
    with Path(path).open("rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def input_fingerprints(experiment: Experiment) -> dict[str, str]:
    """A digest of every input that decides the sweep's tables, by what a message calls it:
    the resolved base scenario, the design (points, seeds, KPIs kept) and the contents of every
    edge list and node list file it reads (the base scenario's and any the design varies
    over)."""
    inputs = {
        f"the resolved scenario {experiment.scenario_path.name}": experiment.base.stable_hash(),
        "the design (points, seeds and KPIs)": _digest(
            {"points": experiment.points, "seeds": experiment.replicate_seeds,
             "kpis": experiment.kpis, "timeseries": experiment.timeseries}),
    }
    network = experiment.base.network
    files: list[tuple[str, str | None]] = []
    if network.kind == "edgelist":
        files += [("edge list", network.path), ("node list", network.nodes)]
    for factor in experiment.design.factors:  # network files varied over the points
        if factor.key in _NETWORK_FILES:
            files.extend((_NETWORK_FILES[factor.key], name) for name in factor.values or ())
    for what, name in files:
        if name is None:
            continue
        path = Path(name)
        if not path.is_absolute():
            path = experiment.scenario_path.parent / path
        try:
            inputs[f"the {what} {path.name}"] = file_checksum(path)
        except OSError:
            pass  # building the graph reports the missing file
    return inputs


def changed_input(stored: Mapping[str, str], current: Mapping[str, str]) -> str | None:
    """The first input whose digest differs from the one the manifest stored, if any."""
    for name, digest in current.items():
        if name in stored and stored[name] != digest:
            return name
    return None


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest at `path`; ScenarioError if it is not one this version wrote whole."""
    try:
        manifest = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise ScenarioError(f"the sweep's manifest is damaged ({type(error).__name__}); the "
                            f"folder cannot be resumed: use another --out", file=path) from None
    fields = {"parts": list, "failed": list, "sessions": list, "fingerprint": str}
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT or any(
            not isinstance(manifest.get(key), kind) for key, kind in fields.items()):
        raise ScenarioError(f"is not a manifest of this version of womsim (format "
                            f"{MANIFEST_FORMAT}); the folder cannot be resumed: use another "
                            f"--out", file=path)
    return manifest


def part_problem(folder: Path, part: Mapping[str, Any], timeseries: bool) -> str | None:
    """What is wrong with a part the manifest lists ("missing", "checksum differs", ...), or
    None when its files are there with the checksums and row counts the manifest recorded."""
    checksums, rows = part.get("checksums"), part.get("rows")
    if not isinstance(checksums, dict) or not isinstance(rows, dict):
        return "no checksum recorded (written by an older version)"
    for table in TABLES[: 2 if timeseries else 1]:
        path = Path(folder) / table / str(part.get("name"))
        if not path.is_file():
            return f"{table}/{path.name} is missing"
        if file_checksum(path) != checksums.get(table):
            return f"{table}/{path.name}: checksum differs (damaged or changed)"
        try:
            stored = pq.ParquetFile(path).metadata.num_rows
        except Exception:  # noqa: BLE001 - any failure to read it means the same to the user
            return f"{table}/{path.name} cannot be read"
        if stored != rows.get(table):
            return f"{table}/{path.name}: {stored} rows, the manifest says {rows.get(table)}"
    return None


def part_record(folder: Path, name: str, runs: list[list[int]], timeseries: bool
                ) -> dict[str, Any]:
    """The manifest's entry for the part `name` just written: its runs (as ranges), and the
    row count and checksum of each of its files."""
    record: dict[str, Any] = {"name": name, "runs": runs, "rows": {}, "checksums": {}}
    for table in TABLES[: 2 if timeseries else 1]:
        path = Path(folder) / table / name
        record["rows"][table] = pq.ParquetFile(path).metadata.num_rows
        record["checksums"][table] = file_checksum(path)
    return record


class SweepLock:
    """The file `.lock` in a sweep folder, holding the id of the process writing into it."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / LOCK
        self.held = False

    def acquire(self) -> None:
        """Take the lock; ScenarioError naming the process if another running process holds
        it. A lock left by a process that no longer runs is taken over."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            try:
                descriptor = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = self._holder()
                if holder is not None and holder != os.getpid() and process_alive(holder):
                    raise ScenarioError(
                        f"another sweep (process {holder}) is writing into this folder; wait "
                        f"for it to finish or stop it, or use another --out",
                        file=self.path.parent) from None
                self.path.unlink(missing_ok=True)  # stale: its process is gone
                continue
            with os.fdopen(descriptor, "w") as handle:
                handle.write(f"{os.getpid()}\n")
            self.held = True
            return
        raise ScenarioError("cannot take the sweep's lock", file=self.path)

    def _holder(self) -> int | None:
        try:
            return int(self.path.read_text().strip())
        except (OSError, ValueError):
            return None

    def release(self) -> None:
        """Give the lock back (if this process holds it)."""
        if self.held and self._holder() == os.getpid():
            self.path.unlink(missing_ok=True)
        self.held = False
