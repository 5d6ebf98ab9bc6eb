"""Progress in a log: a line per tenth of the work, not a bar's carriage-return frames."""

from __future__ import annotations

import io

from sim.run.progress import LineProgress, progress_bar


def test_a_line_for_every_tenth_and_the_postfix_in_it():
    stream = io.StringIO()
    progress = LineProgress(250, "sweep", stream=stream)
    for done in range(250):
        if done == 120:
            progress.set_postfix(failed=2)
        progress.update()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 10 and "\r" not in stream.getvalue()
    assert lines[0] == "sweep: 25 of 250 runs"
    assert lines[-1] == "sweep: 250 of 250 runs (failed 2)"


def test_a_resumed_job_starts_from_what_was_done():
    stream = io.StringIO()
    progress = LineProgress(10, "sweep", initial=6, stream=stream)
    progress.update(4)
    assert stream.getvalue().splitlines() == ["sweep: 10 of 10 runs"]


def test_not_a_terminal_gives_lines_and_disabled_gives_silence(capsys):
    assert isinstance(progress_bar(5, "run"), LineProgress)  # pytest's stderr is no terminal
    quiet = progress_bar(5, "run", enabled=False)
    quiet.update(5)
    quiet.close()
    assert capsys.readouterr().err == ""
