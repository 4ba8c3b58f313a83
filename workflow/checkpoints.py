"""SQLite's write-ahead log copied into the database file by a thread of its own.

By default SQLite copies the log back (a checkpoint) inside whichever commit takes the log
past 1,000 pages: that commit waits for the copy and two fsyncs, tens of milliseconds,
while every other writer of the process queues behind it. A ``Database`` on a SQLite file
instead wakes a :class:`Checkpointer` after each commit. Woken, it waits a moment so that
one copy takes in the commits of that moment (a page written many times is copied once),
then checkpoints ``PASSIVE`` on a connection of its own, which never blocks a reader or a
writer. The log starts again from its beginning only when a write begins with all of it
copied, which commits arriving during each copy may prevent for ever; so when the log is
past ``RESTART_PAGES``, the thread copies what is left while holding the process's write
turn, a moment's wait for its writers. Commits still checkpoint themselves past
``BACKSTOP_PAGES``, should the thread fall behind; another process on the file without a
checkpointer checkpoints as SQLite does.

The thread leaves after ``IDLE_SECONDS`` without commits (the next commit starts another),
and at once, closing its connection, when the last ``Database`` on the file is disposed:
the file is then whole without its log, as SQLite leaves it when the last connection
closes. A forked child, which does not inherit the thread, starts its own.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

PAUSE_SECONDS = 0.05
"""How long a woken checkpointer lets commits gather before copying them."""
IDLE_SECONDS = 5.0
"""How long it waits for a commit before its thread leaves."""
RESTART_PAGES = 2_000
"""The log size (pages) past which the thread finishes a copy holding the write turn."""
BACKSTOP_PAGES = 10_000
"""The log size (pages) at which a commit checkpoints itself (SQLite's default: 1,000)."""


class Checkpointer:
    """Checkpoints one SQLite file after commits, off the committing thread."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.turn = threading.RLock()
        """The lock the process's writers of the file take turns on (``Database.write``)."""
        self.checkpoints = 0
        """Checkpoints run so far (for tests and benchmarks)."""
        self._reset()

    def _reset(self) -> None:
        self._guard = threading.Lock()
        self._due = threading.Event()
        self._thread: threading.Thread | None = None
        self._copying = False
        self._users = 0
        self._stopping = False

    def attach(self) -> None:
        """A ``Database`` on the file begins."""
        with self._guard:
            self._users += 1

    def release(self) -> None:
        """A ``Database`` on the file is disposed: the last one stops the thread."""
        with self._guard:
            self._users = max(0, self._users - 1)
            thread = self._thread
            if self._users or thread is None:
                return
            self._stopping = True
            self._due.set()
        thread.join(timeout=10)

    @contextmanager
    def writing(self) -> Iterator[None]:
        """One write transaction of this process: its turn held, a checkpoint due after it
        committed (not when it failed)."""
        with self.turn:
            yield
        self.committed()

    def committed(self) -> None:
        """A write transaction committed: checkpoint soon (cheap when one is due already)."""
        if self._due.is_set():
            return
        with self._guard:
            self._due.set()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name=f"checkpoint {self.path.name}")
                self._thread.start()

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while self._next_round(self._due.wait(IDLE_SECONDS)):
                time.sleep(PAUSE_SECONDS)  # let the commits of this moment gather
                if not self._next_round(True, copying=True):
                    return
                try:
                    conn = conn or self._connect()
                    self._checkpoint(conn)
                except sqlite3.Error as error:  # the file went away; the next commit retries
                    log.debug("checkpoint of %s failed: %s", self.path, error)
                    if conn is not None:
                        conn.close()
                    conn = None
                finally:
                    self._copying = False
        finally:
            if conn is not None:
                conn.close()

    def _next_round(self, woken: bool, *, copying: bool = False) -> bool:
        """Whether the thread goes on: not when told to stop, nor when idle. Decided under
        the guard that ``committed`` and ``release`` take, so no wake-up is lost."""
        with self._guard:
            if self._stopping or not (woken or self._due.is_set()):
                self._stopping = False
                self._due.clear()  # the next commit starts a thread again
                self._thread = None
                return False
            if copying:
                self._copying = True
                self._due.clear()  # a commit from now on wakes it again
            return True

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        _busy, pages, _copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if pages > RESTART_PAGES:
            # commits went on during the copy: copy their pages too, with none arriving
            with self.turn:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        self.checkpoints += 1

    def _connect(self) -> sqlite3.Connection:
        # mode=rw: a file deleted meanwhile is an error, never created again empty
        conn = sqlite3.connect(f"{self.path.absolute().as_uri()}?mode=rw", uri=True,
                               isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def settled(self, timeout: float = 5.0) -> bool:
        """Wait until no checkpoint is due or running (for tests): whether none is."""
        deadline = time.monotonic() + timeout
        while (self._due.is_set() or self._copying) and time.monotonic() < deadline:
            time.sleep(0.01)
        return not (self._due.is_set() or self._copying)


_BY_FILE: dict[Path, Checkpointer] = {}
_BY_FILE_GUARD = threading.Lock()


def _after_fork() -> None:
    global _BY_FILE_GUARD
    _BY_FILE_GUARD = threading.Lock()
    for checkpointer in _BY_FILE.values():
        checkpointer._reset()
        checkpointer.turn = threading.RLock()


os.register_at_fork(after_in_child=_after_fork)


def for_file(path: str | Path) -> Checkpointer:
    """The process's one checkpointer of a SQLite file (every ``Database`` on it shares it,
    and its write turn)."""
    key = Path(path).absolute()
    with _BY_FILE_GUARD:
        found = _BY_FILE.get(key)
        if found is None:
            found = _BY_FILE[key] = Checkpointer(key)
        return found
