"""Output folders that never cost a user anything: womsim writes a folder only where nothing is,
where an empty folder is, or (when asked to) over a folder it wrote itself, which it marks with
the file MARKER.

A folder is written into a hidden staging folder beside it and renamed into place when complete
(`staged_folder`), so a reader sees the old folder or the new one, never half of one. Staging
folders are named `.NAME.womsim-PID-XXXX`; one left by a killed process (its PID no longer runs)
is removed the next time womsim writes NAME.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sim import __version__
from sim.core import files
from sim.core.errors import InputError

MARKER = ".womsim"


def is_womsim_folder(folder: Path) -> bool:
    """True if `folder` is a folder womsim wrote (it holds the marker file)."""
    return (Path(folder) / MARKER).is_file()


def write_marker(folder: Path, command: str | None = None) -> None:
    """Mark `folder` as written by womsim: MARKER holds the version, the command and the time."""
    (Path(folder) / MARKER).write_text(json.dumps(
        {"womsim": __version__, "command": command,
         "written": datetime.now(UTC).isoformat(timespec="seconds")}) + "\n")


def check_output_folder(folder: str | os.PathLike, force: bool = False, *,
                        resumable: bool = False) -> Path:
    """Check, before any work, that womsim may write the folder `folder`; InputError if not.

    Allowed: a path where nothing is, an empty folder, a folder womsim wrote with `force` (or,
    with `resumable`, a folder womsim wrote that is resumed rather than replaced). Refused: a
    file, a folder womsim did not write (even with `force`), a folder whose parent cannot be
    created or written. Stale staging folders of killed runs beside it are removed."""
    folder = Path(folder)
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise InputError("exists and is not a folder; womsim never replaces a file: choose "
                         "another --out", file=folder)
    if folder.is_dir() and any(folder.iterdir()):
        if not is_womsim_folder(folder):
            raise InputError(f"exists and was not written by womsim (no {MARKER} file); womsim "
                             f"never replaces it, even with --force: choose another --out",
                             file=folder)
        if not (force or resumable):
            raise InputError("holds earlier results; add --force to replace them, or choose "
                             "another --out", file=folder)
    _check_writable(folder.parent)
    remove_stale_staging(folder)
    return folder


def _check_writable(parent: Path) -> None:
    try:
        parent.mkdir(parents=True, exist_ok=True)
        probe = tempfile.mkdtemp(prefix=f".{files.STAGING}probe-", dir=parent)
        os.rmdir(probe)
    except OSError as error:
        raise InputError(f"cannot write here: {error.strerror or error}", file=parent) from None


def remove_stale_staging(folder: Path) -> None:
    """Remove the staging folders of `folder` left by processes that no longer run."""
    folder = Path(folder)
    if not folder.parent.is_dir():
        return
    for path in folder.parent.glob(f".{folder.name}.{files.STAGING}*"):
        pid = path.name[len(folder.name) + len(files.STAGING) + 2:].split("-", 1)[0]
        if pid.isdigit() and not process_alive(int(pid)) and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)


def process_alive(pid: int) -> bool:
    """True if a process with id `pid` runs on this machine."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def staged_folder(folder: str | os.PathLike, command: str | None = None) -> Iterator[Path]:
    """Write an output folder atomically (`sim.core.files.staged_folder`), marked as womsim's:
    yields an empty staging folder beside `folder` holding the marker; when the block finishes,
    it replaces `folder`; when the block raises (Ctrl-C included), `folder` is left as it was.

    Only a missing folder, an empty one or one womsim wrote is replaced (InputError otherwise,
    before the block runs); whether replacing one womsim wrote is wanted is the caller's
    question (`check_output_folder`)."""
    folder = check_output_folder(folder, force=True)
    with files.staged_folder(folder) as staging:
        write_marker(staging, command)
        yield staging


def remove_womsim_folder(folder: str | os.PathLike) -> None:
    """Remove `folder` if womsim wrote it (`--force` on a resumable command: start over);
    InputError, removing nothing, if it is a file or a folder womsim did not write."""
    folder = check_output_folder(folder, force=True)
    if folder.is_dir():
        shutil.rmtree(folder)
