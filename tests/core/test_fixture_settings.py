"""How the shared fixtures read their settings: yes/no variables, and the per-module database
URLs made from ``DPREF_PG_URL``.

The database URLs are checked against libpq's own reading of them (psycopg's
``conninfo_to_dict``): the new URL must name the new database and keep every other parameter.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from designpatterns_ref.testing import env_flag

psycopg = pytest.importorskip("psycopg")
from psycopg.conninfo import conninfo_to_dict  # noqa: E402


@pytest.mark.parametrize(
    ("value", "on"),
    [
        ("1", True), ("true", True), ("TRUE", True), ("True", True), ("yes", True),
        (" yes ", True), ("0", False), ("false", False), ("False", False), ("no", False),
        ("", False), ("off", False), ("2", False),
    ],
)  # fmt: skip
def test_env_flag_counts_only_yes_values(
    value: str, on: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DPREF_TEST_FLAG", value)
    assert env_flag("DPREF_TEST_FLAG") is on
    monkeypatch.delenv("DPREF_TEST_FLAG")
    assert env_flag("DPREF_TEST_FLAG") is False


@pytest.mark.parametrize("variable", ["CI", "DPREF_REQUIRE_SERVERS"])
@pytest.mark.parametrize(("value", "on"), [("false", False), ("0", False), ("true", True)])
def test_servers_are_required_only_when_a_variable_says_yes(
    variable: str, value: str, on: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conftest import servers_required

    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("DPREF_REQUIRE_SERVERS", raising=False)
    monkeypatch.setenv(variable, value)
    assert servers_required() is on


def _moved(url: str, name: str) -> None:
    from conftest import database_url

    moved = database_url(url, name)
    assert conninfo_to_dict(moved) == {**conninfo_to_dict(url), "dbname": name}
    if url.startswith("postgresql://"):
        assert moved.startswith("postgresql://")  # a URL stays a URL


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://me@db.example:5433",  # no path
        "postgresql://me@db.example:5433/",
        "postgresql://me:secret@db.example/app?sslmode=require&connect_timeout=5",
        "postgresql:///app?host=/var/run/postgresql&port=5433",  # host in the query
        "postgresql://db.example/?dbname=app&application_name=ci",  # dbname in the query
        "postgresql://h1:5432,h2:5433/app?target_session_attrs=read-write",
        "postgresql://[::1]:5432/app",
        "host=db.example port=5433 dbname=app sslmode=require",  # key=value, not a URL
    ],
)
def test_database_url_names_the_database_and_keeps_the_rest(url: str) -> None:
    _moved(url, "t0_test_thing")


_word = st.text("abcdefghijklmnopqrstuvwxyz0123456789_-.", min_size=1, max_size=12)


@given(
    host=st.sampled_from(["", "localhost", "db.example", "10.0.0.7", "[::1]"]),
    port=st.sampled_from(["", ":5432", ":6543"]),
    path=st.sampled_from(["", "/", "/app", "/some_db"]),
    query=st.dictionaries(
        st.sampled_from(["sslmode", "host", "port", "dbname", "application_name", "user"]),
        _word,
        max_size=4,
    ),
    name=st.from_regex(r"[a-z_][a-z0-9_]{0,30}", fullmatch=True),
)
def test_database_url_agrees_with_libpq(
    host: str, port: str, path: str, query: dict[str, str], name: str
) -> None:
    import urllib.parse

    netloc = host + (port if host else "")
    url = f"postgresql://{netloc}{path}"
    if query:
        url += "?" + urllib.parse.urlencode(query)
    _moved(url, name)
