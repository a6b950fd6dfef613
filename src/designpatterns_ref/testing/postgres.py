"""A throwaway PostgreSQL server on a free loopback port, for one ``with`` block.

:func:`postgres_server` runs ``initdb`` into a temporary directory (trust authentication, user
``postgres``, UTF-8, no sync), then starts ``postgres`` on 127.0.0.1 with ``fsync`` and
``full_page_writes`` off, and stops it when the block ends. It listens on TCP only: no
Unix-domain socket, whose path may not exceed 107 bytes (a long ``$TMPDIR`` would). The
:class:`PostgresServer` it yields makes databases (:meth:`PostgresServer.create_database`
returns the new database's URL), runs one statement (psycopg 3) and can be killed, restarted
(the same data directory, so committed data survives) or paused.

Where the binaries come from, in order (:func:`postgres_binaries`): ``$DPREF_PG_BIN`` (a folder
holding ``initdb`` and ``postgres``; when set, it is used or refused naming what is wrong with
it, never passed over for another PostgreSQL), the system server (``pg_config --bindir``,
``/usr/lib/postgresql/*/bin`` newest first, or ``initdb`` on ``PATH``), else the server in the
``pgserver`` wheel (the ``dev`` extra installs it; nothing is downloaded at run time).
PostgreSQL refuses to run as root, so as root the server runs as an unprivileged system user
(``dpref-pg``, created with ``useradd`` on first use) with its own group and none of root's. No
folder's permissions are changed for it: when that user cannot reach the binaries (a
virtualenv under ``/root``), ``bin/initdb``, ``bin/postgres``, ``lib`` and ``share`` (and the
wheel's ``*.libs``) are linked, else copied, once a process into a temporary folder it can read.
``$DPREF_PG_URL`` points the test fixtures at a server you run instead.

The server stops with SIGINT (a fast shutdown: open connections are closed, not waited for),
and its log (``server.log`` in its folder) ends the error when it fails to start.

Trade-off: a fresh cluster per server costs about 1.5 s on a 2-core machine (mostly ``initdb``)
but shares nothing with other runs; ``fsync`` is off because a test server's data only has to
survive a process crash, not a power cut. ``synchronous_commit`` stays on: a commit returns
once its WAL is written to the operating system (no fsync, so it is cheap), which is what lets
committed rows survive :meth:`~.Server.kill`, which kills every process of the server at once.
Without a binary or psycopg 3, :func:`postgres_server` raises :class:`.ServerUnavailable`.

>>> from pathlib import Path
>>> PostgresServer(["postgres"], 5432, "/tmp", Path("/tmp")).url_for("orders")
'postgresql://postgres@127.0.0.1:5432/orders'
>>> try:
...     PostgresServer(["postgres"], 5432, "/tmp", Path("/tmp")).create_database("template1")
... except ValueError as exc:
...     print(type(exc).__name__, exc)
InvalidArgument create_database: name='template1' is PostgreSQL's own database; choose another
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from designpatterns_ref.errors import InvalidArgument, shown
from designpatterns_ref.testing import reaper
from designpatterns_ref.testing.server import (
    HOST,
    Server,
    ServerUnavailable,
    _popen,
    _port,
    _said,
    _start,
)

PG_USER = "dpref-pg"


def _pg_bindir_ok(folder: str | os.PathLike[str]) -> bool:
    return all(os.access(os.path.join(folder, name), os.X_OK) for name in ("initdb", "postgres"))


def _pg_bindir_problem(folder: str | os.PathLike[str]) -> str:
    """What keeps ``folder`` from being a PostgreSQL bin folder, e.g. ``/x/initdb is missing``."""
    problems = []
    for name in ("initdb", "postgres"):
        path = os.path.join(folder, name)
        if not os.path.isfile(path):
            problems.append(f"{path} is missing")
        elif not os.access(path, os.X_OK):
            problems.append(f"{path} is not executable")
    return ", ".join(problems) or f"{folder} is usable"


def _pgserver_binaries() -> Path | None:
    """The ``bin`` folder of the PostgreSQL in the ``pgserver`` wheel, if that is installed."""
    import importlib.util

    spec = importlib.util.find_spec("pgserver")
    if spec is None or spec.origin is None:
        return None
    return Path(os.path.dirname(spec.origin), "pginstall", "bin")


def postgres_binaries() -> Path | None:
    """The folder holding ``initdb`` and ``postgres`` the fixtures would run, or None.

    ``$DPREF_PG_BIN``, when set, is returned as it is, usable or not: a folder named on purpose
    is never passed over for another PostgreSQL (:func:`postgres_server` says what is wrong
    with it)."""
    if os.environ.get("DPREF_PG_BIN"):  # named: used as it is (postgres_server says what is wrong)
        return Path(os.environ["DPREF_PG_BIN"])
    candidates: list[str] = []
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
    wheel = _pgserver_binaries()
    if wheel is not None:
        candidates.append(str(wheel))
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
    """None when not root; as root, a system user to run PostgreSQL as (made on first use).

    Two processes (pytest-xdist workers) may both find the user missing and both run
    ``useradd``: the one that loses sees the user exist (``useradd`` exits 9) or the password
    file locked. Either way the user is looked up again, and a locked file is retried for a few
    seconds, so both go on with the same user."""
    if os.geteuid() != 0:
        return None
    import pwd
    import time

    command = ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER]
    deadline = time.monotonic() + 10
    while True:
        try:
            pwd.getpwnam(PG_USER)
            return PG_USER
        except KeyError:
            pass
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError) as exc:
            raise ServerUnavailable(
                f"PostgreSQL will not run as root, and useradd could not make user {PG_USER}: {exc}"
            ) from exc
        with contextlib.suppress(KeyError):
            pwd.getpwnam(PG_USER)  # made now, by this call or by another process meanwhile
            return PG_USER
        said = done.stderr.strip()
        if "lock" not in said.lower() or time.monotonic() > deadline:
            raise ServerUnavailable(
                f"PostgreSQL will not run as root, and useradd could not make user {PG_USER} "
                f"(exit status {done.returncode}): {said}"
            )
        time.sleep(0.1)


def _reaches(path: Path, uid: int, gid: int) -> bool:
    """True when a user ``uid`` whose only group is ``gid`` can enter every folder down to
    ``path`` and list ``path`` (by the mode bits; ACLs are not read, so this may say no where
    an ACL would let it in, never the reverse unless an ACL denies what the bits allow)."""

    def allows(folder: Path, bits: int) -> bool:
        st = folder.stat()
        shift = 6 if st.st_uid == uid else 3 if st.st_gid == gid else 0
        return (st.st_mode >> shift) & bits == bits

    path = path.resolve()
    return all(allows(parent, 0o1) for parent in path.parents) and allows(path, 0o5)


_COPIES: dict[Path, Path] = {}


def _copy_tree(source: Path, target: Path) -> None:
    """``source`` to ``target``, readable by all. A file every user may already read (and run,
    if it is a program) is hard-linked where one filesystem allows it (no data copied); any
    other is copied and the copy opened up, so the original's mode never changes."""

    def link_or_copy(src: str, dst: str) -> None:
        mode = os.stat(src).st_mode
        if mode & 0o004 and (mode & 0o001 or not mode & 0o100):
            with contextlib.suppress(OSError):
                os.link(src, dst)
                return
        shutil.copy2(src, dst)
        os.chmod(dst, mode & 0o7777 | 0o444 | (0o111 if mode & 0o100 else 0))

    if source.is_dir():
        shutil.copytree(source, target, symlinks=True, copy_function=link_or_copy)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        link_or_copy(str(source), str(target))


def _reachable_binaries(folder: Path, uid: int, gid: int) -> Path:
    """``folder`` (``bin`` of a PostgreSQL installation) if user ``uid`` can reach it and its
    ``lib`` and ``share``; else a copy it can reach, made once a process and removed at exit (by
    the :mod:`.reaper` if the process is killed).

    The copy keeps the installation's shape above ``bin`` (``pgserver/pginstall/bin``, and the
    ``*.libs`` folders beside the wheel's package, where its ``initdb`` finds ``libpq``), so the
    binaries find their libraries and data by the same relative paths."""
    folder = folder.resolve()
    root = folder.parent
    parts = [folder, *(p for p in (root / "lib", root / "share") if p.is_dir())]
    if all(_reaches(part, uid, gid) for part in parts):
        return folder
    if folder in _COPIES:
        return _COPIES[folder]
    base = Path(tempfile.mkdtemp(prefix="dpref-pgbin-"))
    atexit.register(shutil.rmtree, base, ignore_errors=True)
    reaper.remove_at_death(str(base))  # some 22 MB: removed too if this process is killed
    try:
        os.chmod(base, 0o755)
        if not _reaches(base, uid, gid):
            raise ServerUnavailable(
                f"user {PG_USER} cannot reach {folder} nor the temporary folder {base}: "
                "set TMPDIR to a folder every user can enter (such as /tmp)"
            )
        package = root.parent
        home = base / package.name / root.name
        for name in ("initdb", "postgres"):
            _copy_tree(folder / name, home / folder.name / name)
        for part in parts[1:]:
            _copy_tree(part, home / part.name)
        for libs in package.parent.glob("*.libs"):
            _copy_tree(libs, base / libs.name)
        for inside, _, _ in os.walk(base):  # copytree kept the source folders' modes
            os.chmod(inside, 0o755)
    except OSError as exc:
        raise ServerUnavailable(f"cannot copy {folder} for user {PG_USER}: {exc}") from exc
    _COPIES[folder] = home / folder.name
    return _COPIES[folder]


class PostgresServer(Server):
    """A running PostgreSQL server: its port, URLs and a way to make databases."""

    stop_signal = signal.SIGINT  # fast shutdown: SIGTERM (smart) waits for every client

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
        self.drop_database(name, what="create_database")
        self.execute(_sql("CREATE DATABASE {}", name))
        return self.url_for(name)

    def drop_database(self, name: str, *, what: str = "drop_database") -> None:
        """Drop database ``name``, disconnecting its clients."""
        _check_name(name, what)
        self.execute(_sql("DROP DATABASE IF EXISTS {} WITH (FORCE)", name))


def _check_name(name: str, what: str) -> None:
    """Refuse a database name the fixtures should not make or drop."""
    if not isinstance(name, str) or not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise InvalidArgument(
            f"{what}: name={shown(name)} must be a lower-case SQL identifier "
            "(a letter or _, then up to 62 letters, digits or _)"
        )
    if name in ("postgres", "template0", "template1"):
        raise InvalidArgument(
            f"{what}: name={shown(name)} is PostgreSQL's own database; choose another"
        )


def _sql(statement: str, name: str) -> str:
    """``statement`` with ``name`` quoted as an identifier (``"order"``, ``"user"``)."""
    from psycopg import sql

    return sql.SQL(statement).format(sql.Identifier(name)).as_string(None)


def _initdb(init: list[str], workdir: str, timeout: float, run_as: dict[str, Any]) -> None:
    """Run ``initdb`` to completion within ``timeout`` seconds, or raise
    :class:`ServerUnavailable` with the end of what it said. It runs in a session of its own, so
    that one that hangs is killed together with the ``postgres --boot`` it started."""
    try:
        process = _popen(
            init,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            start_new_session=True,
            **run_as,
        )
    except OSError as exc:
        raise ServerUnavailable(f"cannot run {init[0]}: {exc}") from exc
    try:
        out, _ = process.communicate(timeout=timeout)
    except BaseException as exc:  # a hang, or an interrupt: kill it and everything it started
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        out, _ = process.communicate()
        if not isinstance(exc, subprocess.TimeoutExpired):
            raise
        said = _said(out.decode(errors="replace").strip()[-1000:])
        raise ServerUnavailable(f"{init[0]} did not finish within {timeout} s{said}") from None
    if process.returncode != 0:
        said = out.decode(errors="replace").strip()[-1000:]
        raise ServerUnavailable(f"{init[0]} exited with status {process.returncode}: {said}")


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
    if folder is not None and not _pg_bindir_ok(folder):
        named = "bindir" if bindir is not None else "$DPREF_PG_BIN"
        raise ServerUnavailable(
            f"no PostgreSQL in {named}={str(folder)!r}: {_pg_bindir_problem(folder)} "
            "(it needs initdb and postgres, executable)"
        )
    if folder is None:
        wheel = _pgserver_binaries()
        if wheel is not None:
            raise ServerUnavailable(
                f"no PostgreSQL found: the pgserver wheel is installed but unusable, "
                f"{_pg_bindir_problem(wheel)} (pip install --force-reinstall pgserver)"
            )
        raise ServerUnavailable(
            "no PostgreSQL found: install pgserver (pip install pgserver) or a system PostgreSQL"
        )
    user = _unprivileged_user()
    run_as: dict[str, Any] = {}
    if user is not None:
        import pwd

        entry = pwd.getpwnam(user)
        run_as = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
        folder = _reachable_binaries(folder, entry.pw_uid, entry.pw_gid)
        if not _reaches(Path(tempfile.gettempdir()), entry.pw_uid, entry.pw_gid):
            raise ServerUnavailable(
                f"user {user} cannot enter the temporary folder {tempfile.gettempdir()}: "
                "set TMPDIR to a folder every user can enter (such as /tmp)"
            )
    with reaper.temporary_folder("dpref-pg-") as workdir:
        data = Path(workdir, "data")
        if user is not None:
            os.chown(workdir, run_as["user"], run_as["group"])
        init = [str(folder / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                "--encoding=UTF8", "--no-sync", "--no-instructions"]  # fmt: skip
        _initdb(init, workdir, timeout, run_as)

        def make() -> PostgresServer:
            port = _port()
            args = [
                str(folder / "postgres"), "-D", str(data), "-p", str(port), "-h", HOST,
                "-k", "", "-c", "fsync=off", "-c", "full_page_writes=off",
                "-c", "max_connections=300",
            ]  # fmt: skip
            return PostgresServer(args, port, workdir, folder, user=user, timeout=timeout)

        server = _start(make)
        try:
            yield server
        finally:
            server.stop()
