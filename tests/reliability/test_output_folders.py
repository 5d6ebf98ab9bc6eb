"""Output folders: womsim never deletes or replaces what it did not write, checks before any
simulation, and leaves no hidden staging folder behind."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from sim.core.errors import InputError
from sim.run import folders
from sim.run.folders import MARKER, check_output_folder, staged_folder


def _hidden(parent):
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def test_run_refuses_a_folder_womsim_did_not_write(tiny, tmp_path, womsim):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    status, _, err = womsim("run", tiny, "--out", out, "--force")
    assert status == 2 and "not written by womsim" in err and "mine" in err
    assert (out / "thesis.tex").read_text() == "years of work"
    assert sorted(p.name for p in out.iterdir()) == ["thesis.tex"]


def test_run_refuses_an_existing_file(tiny, tmp_path, womsim):
    out = tmp_path / "notes.txt"
    out.write_text("keep me")
    status, _, err = womsim("run", tiny, "--out", out)
    assert status == 2 and "not a folder" in err
    assert out.read_text() == "keep me"


@pytest.mark.slow
def test_run_writes_a_marked_folder_and_replaces_it_only_with_force(tiny, tmp_path, womsim):
    out = tmp_path / "run"
    assert womsim("run", tiny, "--out", out, "--reps", "1")[0] == 0
    assert (out / MARKER).is_file() and "womsim" in (out / MARKER).read_text()
    first = (out / "runs.parquet").stat().st_mtime_ns
    status, _, err = womsim("run", tiny, "--out", out)
    assert status == 2 and "--force" in err
    assert (out / "runs.parquet").stat().st_mtime_ns == first
    assert womsim("run", tiny, "--out", out, "--force", "--reps", "1")[0] == 0
    assert _hidden(tmp_path) == []


@pytest.mark.slow
def test_an_empty_folder_is_used(tiny, tmp_path, womsim):
    out = tmp_path / "empty"
    out.mkdir()
    assert womsim("run", tiny, "--out", out, "--reps", "1")[0] == 0
    assert (out / "summary.json").is_file()


def test_an_unwritable_place_is_refused_before_the_simulation(tiny, tmp_path, womsim,
                                                              monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    import sim.run.replicates as replicates

    monkeypatch.setattr(replicates, "simulate", lambda *a, **k: pytest.fail("simulated"))
    status, _, err = womsim("run", tiny, "--out", blocker / "sub")
    assert status == 2 and "cannot write here" in err


def test_a_failed_write_leaves_no_staging_folder(tmp_path):
    with pytest.raises(RuntimeError), staged_folder(tmp_path / "out") as staging:
        (staging / "half").write_text("x")
        raise RuntimeError("disk full")
    assert list(tmp_path.iterdir()) == []


def test_staged_folder_refuses_a_foreign_folder_before_writing(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "data.csv").write_text("1")
    with pytest.raises(InputError, match="not written by womsim"), staged_folder(out):
        pytest.fail("the block ran")
    assert (out / "data.csv").read_text() == "1"


def test_staging_of_a_killed_run_is_cleaned_on_the_next_run(tmp_path):
    child = subprocess.run(
        [sys.executable, "-c", "from sim.run.folders import staged_folder; import os\n"
         f"with staged_folder({str(tmp_path / 'out')!r}) as s: os._exit(9)"],
        env={**os.environ, "PYTHONPATH": os.getcwd()}, check=False)
    assert child.returncode == 9
    assert len(_hidden(tmp_path)) == 1  # what a kill -9 leaves
    with staged_folder(tmp_path / "out") as staging:
        (staging / "ok").write_text("")
    assert _hidden(tmp_path) == []
    assert (tmp_path / "out" / "ok").is_file()


def test_the_staging_of_a_running_process_is_left_alone(tmp_path):
    mine = tmp_path / f".out.womsim-{os.getpid()}-abc"
    mine.mkdir()
    folders.remove_stale_staging(tmp_path / "out")
    assert mine.is_dir()


def test_force_never_replaces_a_foreign_folder(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "x").write_text("")
    with pytest.raises(InputError):
        check_output_folder(out, force=True)
    with pytest.raises(InputError):
        folders.remove_womsim_folder(out)
    assert (out / "x").exists()
