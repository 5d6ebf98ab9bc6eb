"""The error every layer raises for bad input from a user (a file, an option, a folder), which
the `womsim` command prints as one line with exit status 2."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any


class InputError(ValueError):
    """Bad input. `str()` is one line, "FILE:LINE: KEY: message", leaving out the parts that are
    unknown; the parts are also attributes `file`, `line`, `key` and `message`."""

    def __init__(
        self,
        message: str,
        file: str | Path | None = None,
        key: str | None = None,
        line: int | None = None,
    ) -> None:
        self.message = " ".join(str(message).splitlines())
        self.file = Path(file) if file is not None else None
        self.key = key
        self.line = line
        super().__init__(self.message)

    def __str__(self) -> str:
        parts = []
        if self.file is not None:
            parts.append(display_path(self.file) + (f":{self.line}" if self.line else ""))
        if self.key:
            parts.append(self.key)
        parts.append(self.message)
        return ": ".join(parts)

    def __reduce__(self) -> tuple[type, tuple[Any, ...]]:
        return type(self), (self.message, self.file, self.key, self.line)


def display_path(path: Path) -> str:
    """A path relative to the current directory when it lies below it, else as it is."""
    try:
        return str(path.relative_to(Path.cwd()))
    except (ValueError, OSError):
        return str(path)


def regular_file(path: str | Path, what: str = "file") -> Path:
    """`path` as a Path if it names a regular file (or a link to one); InputError otherwise,
    at once: a folder, a FIFO or a device (/dev/zero) would otherwise fail late or block."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise InputError(f"{what} not found", file=path) from None
    except OSError as error:
        raise InputError(f"cannot read the {what}: {error.strerror}", file=path) from None
    if stat.S_ISDIR(mode):
        raise InputError(f"is a folder, not a {what}", file=path)
    if not stat.S_ISREG(mode):
        raise InputError(f"is not a regular file (a FIFO, socket or device); give a {what}",
                         file=path)
    return path
