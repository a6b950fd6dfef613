"""A throwaway PostgreSQL server on a free loopback port, for one ``with`` block.

:func:`postgres_server` runs ``initdb`` into a temporary directory (trust authentication, user
``postgres``, UTF-8, no sync), then starts ``postgres`` on 127.0.0.1 with ``fsync``,
``synchronous_commit`` and ``full_page_writes`` off, and stops it when the block ends. The
:class:`PostgresServer` it yields makes databases (:meth:`PostgresServer.create_database`
returns the new database's URL), runs one statement (psycopg 3) and can be killed, restarted
(the same data directory, so committed data survives) or paused.

Where the binaries come from, in order (:func:`postgres_binaries`): ``$DPREF_PG_BIN`` (a folder
holding ``initdb`` and ``postgres``), the system server (``pg_config --bindir``,
``/usr/lib/postgresql/*/bin`` newest first, or ``initdb`` on ``PATH``), else the server in the
``pgserver`` wheel (the ``dev`` extra installs it; nothing is downloaded at run time).
PostgreSQL refuses to run as root, so as root the server runs as an unprivileged system user
(``dpref-pg``, created with ``useradd`` on first use). ``$DPREF_PG_URL`` points the test
fixtures at a server you run instead.

Trade-off: a fresh cluster per server costs about 1.5 s on a 2-core machine (mostly ``initdb``)
but shares nothing with other runs; durability settings are off because a test server's data
only has to survive a process crash, not a power cut. Without a binary or psycopg 3,
:func:`postgres_server` raises :class:`.ServerUnavailable`.

>>> from pathlib import Path
>>> PostgresServer(["postgres"], 5432, "/tmp", Path("/tmp")).url_for("orders")
'postgresql://postgres@127.0.0.1:5432/orders'
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from designpatterns_ref.testing.server import HOST, Server, ServerUnavailable, _port, _start

PG_USER = "dpref-pg"


def _pg_bindir_ok(folder: str | os.PathLike[str]) -> bool:
    return all(os.access(os.path.join(folder, name), os.X_OK) for name in ("initdb", "postgres"))


def postgres_binaries() -> Path | None:
    """The folder holding ``initdb`` and ``postgres`` the fixtures would run, or None."""
    candidates: list[str] = []
    if os.environ.get("DPREF_PG_BIN"):
        candidates.append(os.environ["DPREF_PG_BIN"])
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=5)
            candidates.append(out.stdout.strip())

    def version(path: str) -> tuple[int, ...]:
        return tuple(int(p) for p in re.findall(r"\d+", path)[-1:])

    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(str(Path(initdb).resolve().parent))
    import importlib.util

    spec = importlib.util.find_spec("pgserver")
    if spec is not None and spec.origin is not None:
        candidates.append(os.path.join(os.path.dirname(spec.origin), "pginstall", "bin"))
    for folder in candidates:
        if folder and _pg_bindir_ok(folder):
            return Path(folder)
    return None


def describe_postgres(bindir: Path) -> str:
    """``postgres VERSION (folder)`` for a PostgreSQL bin folder."""
    try:
        out = subprocess.run(
            [str(bindir / "postgres"), "--version"], capture_output=True, text=True, timeout=5
        ).stdout
    except (OSError, subprocess.SubprocessError):
        out = ""
    match = re.search(r"(\d+(?:\.\d+)*)", out)
    return f"postgres {match.group(1) if match else '?'} ({bindir})"


def _unprivileged_user() -> str | None:
    """None when not root; as root, a system user to run PostgreSQL as (made on first use)."""
    if os.geteuid() != 0:
        return None
    import pwd

    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        try:
            subprocess.run(
                [
                    "useradd",
                    "--system",
                    "--no-create-home",
                    "--shell",
                    "/usr/sbin/nologin",
                    PG_USER,
                ],
                check=True,
                capture_output=True,
            )
        except (OSError, subprocess.CalledProcessError) as exc:
            raise ServerUnavailable(
                f"PostgreSQL will not run as root and useradd failed: {exc}"
            ) from exc
    return PG_USER


def _open_up(path: Path) -> None:
    """Let an unprivileged user traverse every folder above ``path`` and read ``path``'s tree."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if mode & 0o005 != 0o005:
            parent.chmod(mode | 0o005)


class PostgresServer(Server):
    """A running PostgreSQL server: its port, URLs and a way to make databases."""

    def __init__(self, args: list[str], port: int, workdir: str, bindir: Path, **kw: Any) -> None:
        super().__init__(args, port, workdir, **kw)
        self.bindir = bindir

    def _ready(self) -> bool:
        """This server answers on the port (its data directory, not another server's)."""
        import psycopg

        try:
            row = self.execute("SHOW data_directory")
        except psycopg.OperationalError:
            return False
        data = Path(self.args[self.args.index("-D") + 1])
        return bool(row) and Path(row[0]).resolve() == data.resolve()

    def url_for(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{database}"

    @property
    def url(self) -> str:
        return self.url_for("postgres")

    @property
    def binary(self) -> str:
        return describe_postgres(self.bindir)

    def execute(self, sql: str, database: str = "postgres") -> Any:
        """Run one statement in autocommit mode (psycopg 3); return the first row or None."""
        import psycopg

        with psycopg.connect(self.url_for(database), autocommit=True, connect_timeout=2) as conn:
            cur = conn.execute(sql.encode())
            return cur.fetchone() if cur.description else ()

    def create_database(self, name: str) -> str:
        """Create database ``name`` (dropping one of that name first); return its URL."""
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
            raise ValueError(f"create_database: name={name!r} must be a lower-case SQL identifier")
        self.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self.execute(f"CREATE DATABASE {name}")
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name``, disconnecting its clients."""
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
            raise ValueError(f"drop_database: name={name!r} must be a lower-case SQL identifier")
        self.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextlib.contextmanager
def postgres_server(
    bindir: str | os.PathLike[str] | None = None, timeout: float = 30.0
) -> Iterator[PostgresServer]:
    """Run a throwaway PostgreSQL server on a free loopback port for the ``with`` block."""
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        raise ServerUnavailable(
            "psycopg 3 is not installed (pip install 'psycopg[binary]')"
        ) from exc
    folder = Path(bindir) if bindir is not None else postgres_binaries()
    if folder is None or not _pg_bindir_ok(folder):
        raise ServerUnavailable(
            "no PostgreSQL found: install pgserver (pip install pgserver) or a system PostgreSQL"
        )
    user = _unprivileged_user()
    if user is not None:
        for path in (folder, folder.parent / "lib", folder.parent / "share"):
            if path.is_dir():
                _open_up(path)
    with tempfile.TemporaryDirectory(prefix="dpref-pg-") as workdir:
        data, sockets = Path(workdir, "data"), Path(workdir, "sock")
        sockets.mkdir()
        if user is not None:
            import pwd

            entry = pwd.getpwnam(user)
            _open_up(Path(workdir))
            for path in (Path(workdir), sockets):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        init = [str(folder / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                "--encoding=UTF8", "--no-sync", "--no-instructions"]  # fmt: skip
        done = subprocess.run(init, capture_output=True, text=True, user=user, cwd=workdir)
        if done.returncode != 0:
            raise ServerUnavailable(f"initdb failed: {done.stderr.strip()[-500:]}")

        def make() -> PostgresServer:
            port = _port()
            args = [
                str(folder / "postgres"), "-D", str(data), "-p", str(port), "-h", HOST,
                "-k", str(sockets), "-c", "fsync=off", "-c", "synchronous_commit=off",
                "-c", "full_page_writes=off", "-c", "max_connections=300",
            ]  # fmt: skip
            return PostgresServer(args, port, workdir, folder, user=user, timeout=timeout)

        server = _start(make)
        try:
            yield server
        finally:
            server.stop()
