"""Writing files and folders atomically: the one home of "write beside, then rename into place".

A reader (another process, a second `womsim`, a browser reloading a report) sees the old file or
folder or the complete new one, never a half-written one, and an interrupted write leaves its
target as it was. Temporary names are hidden (a leading dot), unique and beside the target, so
the final rename stays on one file system. What is written gets the usual permissions (the
process's umask), not the owner-only ones of `tempfile`.

Standard library only: every layer may use it.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# Staging folders are named `.NAME.womsim-PID-XXXX`, so the one a killed process left can be
# told from one a running process is filling (`sim.run.folders.remove_stale_staging`).
STAGING = "womsim-"


@contextmanager
def staged_file(path: str | os.PathLike, *, durable: bool = False) -> Iterator[Path]:
    """Write a file atomically: yields a fresh temporary path beside `path` (not yet created)
    for the block to write; when the block finishes, that file replaces `path` (flushed to disk
    first if `durable`); when it raises, the temporary file is removed and `path` is left as it
    was. The folder of `path` is created if missing."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        yield temporary
        if durable:
            with open(temporary, "rb") as handle:
                os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def json_text(value: Any, indent: int = 2) -> str:
    """`value` as JSON text that strict parsers read, ending in a newline: an undefined number
    (NaN or an infinity, e.g. the cost per seeded customer of a run without seeds) is written as
    null, which JSON has; NaN is not JSON, and Python's default writes it."""
    return json.dumps(_defined(value), indent=indent, allow_nan=False) + "\n"


def _defined(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _defined(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_defined(item) for item in value]
    return value


def write_file(path: str | os.PathLike, data: str | bytes, *, durable: bool = False) -> Path:
    """Write `data` (text as UTF-8, or bytes) as the file `path` atomically (`staged_file`);
    returns the path."""
    with staged_file(path, durable=durable) as temporary:
        if isinstance(data, str):
            temporary.write_text(data, encoding="utf-8")
        else:
            temporary.write_bytes(data)
    return Path(path)


@contextmanager
def staged_folder(folder: str | os.PathLike, *, replace: bool = True) -> Iterator[Path]:
    """Write a folder atomically: yields an empty staging folder beside `folder`; when the block
    finishes, the staging folder becomes `folder`; when it raises, the staging folder is deleted
    and `folder` is left as it was. An existing `folder` is replaced (and removed only once the
    new one is in place), or, with `replace=False`, kept, the staged copy being discarded (for
    content-addressed folders, where another writer got there first with the same content)."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.{STAGING}{os.getpid()}-",
                                    dir=folder.parent))
    try:
        staging.chmod(0o777 & ~_umask())  # mkdtemp's 0700 would hide the folder from others
        yield staging
        if replace:
            _replace_folder(staging, folder)
        else:
            _place_folder(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # nothing left there once it is in place


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _replace_folder(new: Path, target: Path) -> None:
    """Move `new` into place at `target`; an existing `target` is removed only afterwards."""
    if not target.exists():
        os.replace(new, target)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.{STAGING}{os.getpid()}-old-",
                                    dir=target.parent))
    os.replace(target, retired / target.name)
    os.replace(new, target)
    shutil.rmtree(retired, ignore_errors=True)


def _place_folder(new: Path, target: Path) -> None:
    """Move `new` into place at `target` unless a `target` exists already (then `new` stays)."""
    try:
        os.rename(new, target)
    except OSError:
        if not target.is_dir():  # not a lost race with another writer
            raise
