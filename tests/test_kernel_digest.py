"""The kernel's results are exactly those recorded in tests/data/kernel_digests.json.

Moving code between modules, renaming or tidying must not change a single bit of what a scenario
computes; `python tests/kernel_digest.py --write` re-records the digests for a change that is
meant to (and the commit says why).
"""

from __future__ import annotations

import json

import pytest
from kernel_digest import DIGEST_FILE, SCENARIO_DIR, run_digest

RECORDED = json.loads(DIGEST_FILE.read_text())


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_shipped_scenario_gives_the_recorded_digest(name: str) -> None:
    assert run_digest(SCENARIO_DIR / name) == RECORDED[name]
