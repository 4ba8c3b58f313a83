"""A SQLite file's log is copied into the file by a thread of its own (``checkpoints``)."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from workflow import Database, checkpoints


def open_file(tmp_path: Path) -> tuple[Database, Path]:
    path = tmp_path / "file.db"
    db = Database(f"sqlite:///{path}")
    with db.write() as conn:
        conn.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))
    return db, path


def write_notes(db: Database, count: int, size: int = 100) -> None:
    for n in range(count):
        with db.write() as conn:
            conn.execute(text("INSERT INTO notes (body) VALUES (:b)"), {"b": str(n) * size})


def rows_in_file_alone(path: Path, tmp_path: Path) -> int:
    """The notes the database file holds by itself, without its log."""
    copy = tmp_path / "copy" / "file.db"
    copy.parent.mkdir()
    shutil.copyfile(path, copy)
    with sqlite3.connect(copy) as conn:
        return int(conn.execute("SELECT count(*) FROM notes").fetchone()[0])


def test_checkpoints__commits_reach_the_file_without_a_commit_copying_them(tmp_path):
    db, path = open_file(tmp_path)
    checkpointer = checkpoints.for_file(path)
    with db.write() as conn:
        backstop = conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
    write_notes(db, 30)
    assert checkpointer.settled()
    assert backstop == checkpoints.BACKSTOP_PAGES  # no commit copies 1,000 pages itself
    assert checkpointer.checkpoints >= 1
    assert rows_in_file_alone(path, tmp_path) == 30
    db.dispose()


def test_checkpoints__the_log_starts_again_under_steady_writes(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoints, "RESTART_PAGES", 20)
    monkeypatch.setattr(checkpoints, "PAUSE_SECONDS", 0.005)
    db, path = open_file(tmp_path)
    write_notes(db, 3_000, size=1_000)  # a page or more each: 3,000+ frames without restarts
    log_pages = os.path.getsize(f"{path}-wal") / 4_096
    # Without restarts the log grows past 9,000 pages. A quiet machine stays under 1,500; a
    # loaded one restarts later (2,253 pages seen), so the bound leaves room for that.
    assert log_pages < 4_500, log_pages
    db.dispose()


def test_checkpoints__the_last_dispose_leaves_the_file_whole(tmp_path):
    db, path = open_file(tmp_path)
    other = Database(f"sqlite:///{path}")
    write_notes(db, 10)
    write_notes(other, 10)
    db.dispose()
    assert Path(f"{path}-wal").exists()  # another Database still works on the file
    other.dispose()
    assert not Path(f"{path}-wal").exists()  # SQLite removes the log as the last one closes
    assert rows_in_file_alone(path, tmp_path) == 20


def test_checkpoints__a_deleted_file_is_not_created_again(tmp_path):
    db, path = open_file(tmp_path)
    write_notes(db, 3)
    checkpointer = checkpoints.for_file(path)
    assert checkpointer.settled()
    db.dispose()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    checkpointer.committed()
    assert checkpointer.settled()
    assert not path.exists()


def test_checkpoints__the_thread_leaves_when_idle_and_comes_back(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoints, "IDLE_SECONDS", 0.05)
    db, path = open_file(tmp_path)
    checkpointer = checkpoints.for_file(path)
    write_notes(db, 3)
    assert checkpointer.settled()
    thread = checkpointer._thread
    assert thread is not None
    thread.join(timeout=5)
    assert not thread.is_alive() and checkpointer._thread is None
    before = checkpointer.checkpoints
    write_notes(db, 3)
    assert checkpointer.settled()
    assert checkpointer.checkpoints > before
    db.dispose()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_checkpoints__a_forked_child_checkpoints_its_own_commits(tmp_path):
    db, path = open_file(tmp_path)
    write_notes(db, 3)
    checkpointer = checkpoints.for_file(path)
    assert checkpointer.settled()
    pid = os.fork()
    if pid == 0:  # the child: a thread of its own, or nothing reaches the file
        code = 1
        try:
            child = Database(f"sqlite:///{path}")
            before = checkpointer.checkpoints
            write_notes(child, 5)
            if checkpointer.settled() and checkpointer.checkpoints > before:
                code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    db.dispose()
    assert rows_in_file_alone(path, tmp_path) == 8


def test_checkpoints__the_last_dispose_ends_the_thread_at_any_moment(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoints, "IDLE_SECONDS", 60)  # only the stop can end it
    for round_ in range(20):
        folder = tmp_path / str(round_)
        folder.mkdir()
        db, path = open_file(folder)
        write_notes(db, round_ % 5 + 1)
        thread = checkpoints.for_file(path)._thread
        db.dispose()  # while the thread waits, pauses or copies
        assert thread is None or not thread.is_alive(), round_
        assert not Path(f"{path}-wal").exists(), round_
