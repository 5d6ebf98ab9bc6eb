"""Atomic writes (sim.core.files): a target is either left as it was or replaced by the complete
new content, nothing temporary is left behind, and what is written is readable by others."""

from __future__ import annotations

import json
import os
import stat

import pytest

from sim.core.files import json_text, staged_file, staged_folder, write_file


class Interrupted(Exception):
    pass


def test_json_text_writes_undefined_numbers_as_null_at_any_depth():
    value = {"a": float("nan"), "b": [1.5, float("inf"), {"c": -float("inf")}], "d": (2, "x")}
    text = json_text(value)
    assert text.endswith("\n") and "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"a": None, "b": [1.5, None, {"c": None}], "d": [2, "x"]}


def test_write_file_replaces_the_target_and_leaves_nothing_else(tmp_path):
    target = tmp_path / "sub" / "page.html"
    assert write_file(target, "first") == target
    write_file(target, b"second", durable=True)
    assert target.read_text() == "second"
    assert os.listdir(target.parent) == ["page.html"]


def test_a_failed_file_write_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    target = tmp_path / "table.parquet"
    target.write_text("old")
    with pytest.raises(Interrupted), staged_file(target) as temporary:
        assert temporary.parent == tmp_path and temporary.name.startswith(".")
        temporary.write_text("half")
        raise Interrupted
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["table.parquet"]


def test_a_written_file_has_the_usual_permissions(tmp_path):
    mask = os.umask(0o022)
    try:
        path = write_file(tmp_path / "summary.json", "{}")
    finally:
        os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_staged_folder_replaces_an_existing_folder_only_when_complete(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "old.txt").write_text("old")
    with pytest.raises(Interrupted), staged_folder(folder) as staging:
        (staging / "new.txt").write_text("new")
        raise Interrupted
    assert os.listdir(folder) == ["old.txt"] and os.listdir(tmp_path) == ["run"]
    with staged_folder(folder) as staging:
        (staging / "new.txt").write_text("new")
    assert os.listdir(folder) == ["new.txt"] and os.listdir(tmp_path) == ["run"]
    assert stat.S_IMODE(folder.stat().st_mode) & 0o055 == 0o055 & ~_umask()


def test_staged_folder_without_replace_keeps_what_another_writer_put_there(tmp_path):
    entry = tmp_path / "cache" / "abc"
    with staged_folder(entry, replace=False) as staging:
        (staging / "meta.json").write_text("first")
    with staged_folder(entry, replace=False) as staging:
        (staging / "meta.json").write_text("second")
    assert (entry / "meta.json").read_text() == "first"
    assert os.listdir(entry.parent) == ["abc"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
