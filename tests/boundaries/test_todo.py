"""The recorded-violations file: what is written is read back, whatever the names and paths."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.boundaries import BoundariesError, Violation, read_todo, write_todo

#: Any text a file system or a module name can hold, but lone surrogates (no UTF-8 for them).
TEXT = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["dependency", "privacy", "layers"]), TEXT, TEXT, TEXT),
        max_size=4,
    )
)
def test_every_recorded_key_is_read_back(rows: list[tuple[str, str, str, str]]) -> None:
    found = [Violation(rule, a, b, path, 3, "m", "f") for rule, a, b, path in rows]
    with tempfile.TemporaryDirectory() as folder:
        todo = Path(folder) / "todo.toml"
        assert write_todo(todo, found) == len({v.key for v in found})
        assert read_todo(todo) == {v.key for v in found}


def test_a_path_outside_the_basic_plane_is_read_back(tmp_path: Path) -> None:
    v = Violation("dependency", "shop.a", "shop.b", str(tmp_path / "proj🚀/shop/a.py"), 1, "m", "f")
    write_todo(tmp_path / "todo.toml", [v])
    assert read_todo(tmp_path / "todo.toml") == {v.key}


def test_a_key_no_utf8_file_can_hold_is_refused_and_nothing_written(tmp_path: Path) -> None:
    todo = tmp_path / "todo.toml"
    todo.write_text("# kept\n")
    bad = Violation("dependency", "shop.caf\udce9", "shop.b", "shop/a.py", 1, "m", "f")
    with pytest.raises(BoundariesError, match="surrogate"):
        write_todo(todo, [bad])
    assert todo.read_text() == "# kept\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["todo.toml"]
