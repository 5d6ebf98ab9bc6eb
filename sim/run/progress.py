"""Progress of a long job: a live bar on a terminal, and a line for every tenth of the work
otherwise, so a log gets eleven readable lines instead of hundreds of carriage-return frames."""

from __future__ import annotations

import sys
from typing import Any, TextIO

STEPS = 10  # lines per job when the output is not a terminal


class LineProgress:
    """The tqdm calls a job makes (`update`, `set_postfix`, `close`, `with`), written as a line
    each time another tenth of `total` is done."""

    def __init__(self, total: int | None, desc: str, initial: int = 0,
                 stream: TextIO | None = None) -> None:
        self.total, self.desc, self.n = total, desc, initial
        self.stream = stream if stream is not None else sys.stderr
        self.postfix = ""
        self._shown = self._tenths()

    def _tenths(self) -> int:
        return self.n * STEPS // self.total if self.total else 0

    def update(self, count: int = 1) -> None:
        """Count `count` more done; print a line if another tenth was reached."""
        self.n += count
        if self._tenths() > self._shown:
            self._shown = self._tenths()
            extra = f" ({self.postfix})" if self.postfix else ""
            print(f"{self.desc}: {self.n} of {self.total} runs{extra}", file=self.stream,
                  flush=True)

    def set_postfix(self, **values: Any) -> None:
        """Remember `values` (such as failures) for the next line; tqdm's `refresh` option is
        accepted and has nothing to refresh."""
        values.pop("refresh", None)
        self.postfix = ", ".join(f"{key} {value}" for key, value in values.items())

    def close(self) -> None:
        """Nothing to clean up: every line is already written."""

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def progress_bar(total: int | None, desc: str, enabled: bool = True, initial: int = 0,
                 **options: Any) -> Any:
    """A tqdm bar when `enabled` and standard error is a terminal, a `LineProgress` when enabled
    and it is not (a log, a pipe, CI), and a silent one otherwise."""
    if enabled and not sys.stderr.isatty():
        return LineProgress(total, desc, initial)
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, desc=desc, unit="run", disable=not enabled,
                **options)
