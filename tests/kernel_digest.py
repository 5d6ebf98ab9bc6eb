"""Digests of the kernel's results on small fixed scenarios (tests/data/kernel_digests.json).

A digest is the SHA-256 of a run's whole weekly history and every customer array, so any change
to what the kernel computes, however small, changes it. `python tests/kernel_digest.py --write`
records new digests; do that only for a change meant to alter results, and say why in the commit.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from sim import Engine, Scenario

DIGEST_FILE = Path(__file__).parent / "data" / "kernel_digests.json"
SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"
# Small enough to run in a few seconds, long enough to pass through every state and event window.
SETTINGS = ["network.n=1500", "weeks=80"]


def run_digest(path: Path, settings: list[str] = SETTINGS) -> str:
    """SHA-256 over the history and the customer arrays of replicate seed 12345 of a scenario
    (with `settings` overriding its keys)."""
    scenario = Scenario.load(path, overrides=settings)
    engine = Engine(scenario, 12345).run()
    digest = hashlib.sha256(np.ascontiguousarray(engine.history).tobytes())
    for name in sorted(engine.customers._fields):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(getattr(engine.customers, name)).tobytes())
    return digest.hexdigest()


def all_digests() -> dict[str, str]:
    """The digest of every shipped scenario, by file name."""
    return {path.name: run_digest(path) for path in sorted(SCENARIO_DIR.glob("*.toml"))}


if __name__ == "__main__":
    digests = all_digests()
    if "--write" in sys.argv:
        DIGEST_FILE.write_text(json.dumps(digests, indent=2) + "\n")
    print(json.dumps(digests, indent=2))
