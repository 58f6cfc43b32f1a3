import socket
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest


@pytest.fixture
def broken_db() -> str:
    """A database that cannot be opened: its folder does not exist."""
    return "sqlite+aiosqlite:////nonexistent-pf-eval/secret-dir/notes.db"


@pytest.fixture
def good_db(tmp_path: Path) -> str:
    """A deployed database: the service's schema is in place, as `python -m app.init_db` leaves it. (An empty
    file is not "working" for a notes service, and readiness may rightly say so.)"""
    path = tmp_path / "notes.db"
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("CREATE TABLE notes (id INTEGER NOT NULL PRIMARY KEY, text VARCHAR(500) NOT NULL)")
        connection.commit()
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def silent_db() -> Iterator[str]:
    """A PostgreSQL URL whose server accepts TCP connections and never says a word (a hung database)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"postgresql+asyncpg://notes:hunter2@127.0.0.1:{listener.getsockname()[1]}/notes"
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    listener.close()
