"""Placeholders are swapped only outside quoted text: a ``?``, ``%s`` or ``%`` inside a string
literal or a comment reaches the database as written, on both engines (a blind ``replace``
turned ``LIKE '%s%'`` into ``LIKE '?%'`` on SQLite and made PostgreSQL refuse any ``%``).

The oracle is the database itself: a literal must come back as the text it quotes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.booking import BookingStore, PessimisticBooking, Stay
from designpatterns_ref.booking._sqltext import translate

D1, D2 = date(2026, 6, 1), date(2026, 6, 2)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def test_like_patterns_with_question_marks_and_percents(
    make_store: Callable[[], BookingStore],
) -> None:
    store = make_store()
    store.add_inventory("h1", "double", D1, 1, total=5)
    hotel = PessimisticBooking(store)
    for guest in ("sam", "ada", "?x", "50%s"):
        hotel.book(Stay("h1", "double", D1, D2, guest=guest))
    like = "SELECT guest FROM bookings WHERE guest LIKE {} ORDER BY id"
    assert store.query(like.format("'%s%'")) == [("sam",), ("50%s",)]
    assert store.query(like.format("'?%'")) == [("?x",)]
    assert store.query(like.format("'%' || ? || '%'"), ["s"]) == [("sam",), ("50%s",)]
    assert store.query("SELECT 7 % 3, ? -- a ? and a % in a comment", [1]) == [(1, 1)]
    if store.engine == "sqlite":  # statement takes %s there too, outside literals only
        assert store.statement(like.format("'%s%'")) == [("sam",), ("50%s",)]
        assert store.statement("SELECT %s, '%s', ?", [1, 2]) == [(1, "%s", 2)]
    else:  # statement is psycopg's own text: %% is a literal percent
        assert store.statement(like.format("'%%s%%'")) == [("sam",), ("50%s",)]
        assert store.statement("SELECT %s, '?'", [1]) == [(1, "?")]


_TEXT = st.text(alphabet="?%s'\"-/*$ab\n", max_size=12)


def test_any_literal_reaches_the_database_as_written(
    make_store: Callable[[], BookingStore],
) -> None:
    store = make_store()

    @settings(max_examples=30 if store.engine == "postgres" else 150, deadline=None)
    @given(literal=_TEXT, comment=_TEXT.filter(lambda c: "*/" not in c and "/*" not in c))
    @example(literal="%s%", comment="?")
    @example(literal="it's ?", comment="%s")
    @example(literal="$$?$$", comment="'")
    def check(literal: str, comment: str) -> None:
        sql = f'SELECT ?, {_quote(literal)} /* {comment} */, ? AS "a?%"'
        assert store.query(sql, [1, 2]) == [(1, literal, 2)]
        if store.engine == "sqlite":
            sql = f"SELECT %s, {_quote(literal)} /* {comment} */, %s"
            assert store.statement(sql, [1, 2]) == [(1, literal, 2)]

    check()


def test_translate_swaps_marks_outside_quotes_only() -> None:
    assert translate("a = ? AND b = '?' AND c = \"?\"", "?", "%s", True) == (
        "a = %s AND b = '?' AND c = \"?\""
    )
    assert translate("x LIKE E'\\'?%' OR y = ?", "?", "%s", True) == "x LIKE E'\\'?%%' OR y = %s"
    assert translate("$tag$ ? $tag$ ? $1", "?", "%s", True) == "$tag$ ? $tag$ %s $1"
    assert translate("type'?' = ?", "?", "%s", False) == "type'?' = %s"
    assert translate("'unterminated ?", "?", "%s", False) == "'unterminated ?"
