"""What the benchmark scripts share: plain-text tables, atomic JSON, the load average and a
description of the machine. Imported by the scripts beside it (their folder is on sys.path when
they run as `python benchmarks/NAME.py`)."""

from __future__ import annotations

import json
import os
import platform
import tempfile
from collections.abc import Sequence
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def load() -> float:
    """The 1-minute load average (the machine may be shared: it goes beside every figure)."""
    return round(os.getloadavg()[0], 2)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table: the first column left-aligned, the others right-aligned."""
    widths = [max(len(str(cell)) for cell in column)
              for column in zip(headers, *rows, strict=True)]
    lines = ["  ".join(str(cell).ljust(w) if i == 0 else str(cell).rjust(w)
                       for i, (cell, w) in enumerate(zip(row, widths, strict=True)))
             for row in (headers, *rows)]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write_json(path: Path, data: dict) -> None:
    """Write `data` as JSON to `path` atomically (a temp file in the same folder, then
    os.replace), creating the folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def machine() -> dict:
    """What the figures were measured on."""
    import numba
    import numpy

    return {"platform": platform.platform(), "python": platform.python_version(),
            "cpus": os.cpu_count(), "numpy": numpy.__version__, "numba": numba.__version__}
