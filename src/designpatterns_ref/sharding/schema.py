"""Notion's schema lesson, measured: block properties as JSON against typed columns.

Case study: Notion's Postgres Migration: rethinking the schema
(docs/case-studies/notion-postgres.md)

A block's properties (a task's title, status, assignee, due date) can live in one JSON column,
flexible and schema-free, or in typed columns the planner understands. This module loads the same
generated blocks both ways into SQLite or a real PostgreSQL and times the queries a workspace page
makes:

- ``page``: the blocks of one page, in order (both layouts use a plain index on ``page_id``);
- ``done``: a workspace's tasks whose status is ``done``;
- ``due``: a workspace's tasks due before a date, soonest first.

Each layout runs without and with the index its queries need: for JSON an expression index
(``json_extract`` / ``->>``) or, on PostgreSQL, a GIN index over ``jsonb``; for typed columns a
composite B-tree. Typed columns win on size (no repeated key names in every row) and on every
query that filters or sorts by a property; JSON still buys properties nobody declared, and with
an expression index its filter speed comes close, for exactly the expressions indexed.

Every variant answers every query the same; :func:`reference_answers` computes them in plain
Python from the generated blocks, and the tests compare.

Complexity: O(blocks) to load; each query is what its index makes it.

>>> blocks = generate_blocks(200, seed=1)
>>> len(blocks), sorted(blocks[0])
(200, ['assignee', 'due', 'id', 'page_id', 'position', 'status', 'title', 'type', 'workspace_id'])
"""

from __future__ import annotations

import json
import random
import secrets
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from designpatterns_ref.errors import shown
from designpatterns_ref.sharding.base import ShardingError

__all__ = [
    "LAYOUTS",
    "SchemaResult",
    "generate_blocks",
    "reference_answers",
    "run_schema_lesson",
]

Block = dict[str, Any]
STATUSES = ("todo", "doing", "done", "blocked")
LAYOUTS = ("json", "json+index", "typed", "typed+index")  #: PostgreSQL adds "jsonb+gin"
MAX_BLOCKS = 5_000_000


def generate_blocks(n: int, *, seed: int = 0, workspaces: int | None = None) -> list[Block]:
    """``n`` blocks spread over ``workspaces`` workspaces (default ``min(200, n)``), about 50
    blocks a page."""
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_BLOCKS:
        raise ShardingError(f"n={shown(n)} must be an int in [1, {MAX_BLOCKS:,}]")
    if workspaces is None:
        workspaces = min(200, n)
    if not isinstance(workspaces, int) or isinstance(workspaces, bool) or not 1 <= workspaces <= n:
        raise ShardingError(f"workspaces={shown(workspaces)} must be an int in [1, n]")
    rng = random.Random(seed)
    blocks = []
    for i in range(n):
        page = i // 50
        blocks.append(
            {
                "id": i,
                "workspace_id": page % workspaces,
                "page_id": page,
                "position": i % 50,
                "type": "task" if rng.random() < 0.6 else "text",
                "title": f"block {i}",
                "status": rng.choice(STATUSES),
                "assignee": f"user{rng.randrange(50)}",
                "due": 20_000 + rng.randrange(365),  # days since the epoch
            }
        )
    return blocks


def reference_answers(
    blocks: Sequence[Block], workspace: int, page: int, before: int
) -> dict[str, list[int]]:
    """The three queries answered by plain filtering and sorting: the oracle."""
    page_ids = [
        b["id"]
        for b in sorted(blocks, key=lambda b: (b["position"], b["id"]))
        if b["page_id"] == page
    ]
    tasks = [b for b in blocks if b["workspace_id"] == workspace and b["type"] == "task"]
    done = sorted(b["id"] for b in tasks if b["status"] == "done")
    due = [b["id"] for b in sorted(tasks, key=lambda b: (b["due"], b["id"])) if b["due"] < before]
    return {"page": page_ids, "done": done, "due": due}


@dataclass(frozen=True, slots=True)
class SchemaResult:
    """One layout on one engine: ms per query (median of runs), bytes on disk, the answers."""

    engine: str
    layout: str
    ms: dict[str, float]
    bytes: int
    answers: dict[str, list[int]]


_PROPS = ("title", "status", "assignee", "due")


_TASKS = "SELECT id FROM blocks WHERE workspace_id = {w} AND type = 'task'"


def _queries(engine: str, layout: str) -> dict[str, str]:
    if layout.startswith("typed"):
        status, due = "status", "due"
    elif engine == "sqlite":
        status, due = "json_extract(props, '$.status')", "json_extract(props, '$.due')"
    else:
        status, due = "(props->>'status')", "((props->>'due')::int)"
    if layout == "jsonb+gin":
        done_filter = 'props @> \'{{"status": "done"}}\''  # braces doubled for format()
    else:
        done_filter = f"{status} = 'done'"
    return {
        "page": "SELECT id FROM blocks WHERE page_id = {p} ORDER BY position, id",
        "done": f"{_TASKS} AND {done_filter} ORDER BY id",
        "due": f"{_TASKS} AND {due} < {{d}} ORDER BY {due}, id",
    }


#: The parameters each query binds, in the order its placeholders come.
_PARAMS = {"page": ("p",), "done": ("w",), "due": ("w", "d")}


def _bound(sql: str, mark: str) -> str:
    """``sql`` with its ``{w}``, ``{p}``, ``{d}`` turned into the driver's placeholder: the
    values are bound, never written into the text."""
    return sql.format(w=mark, p=mark, d=mark)


def _ddl(engine: str, layout: str) -> list[str]:
    props = "props TEXT" if engine == "sqlite" else "props JSONB"
    typed = "title TEXT, status TEXT, assignee TEXT, due INTEGER"
    cols = typed if layout.startswith("typed") else props
    out = [
        f"CREATE TABLE blocks (id BIGINT PRIMARY KEY, workspace_id INTEGER, page_id INTEGER, "
        f"position INTEGER, type TEXT, {cols})",
        "CREATE INDEX blocks_page ON blocks (page_id, position)",
    ]
    if layout == "typed+index":
        out += [
            "CREATE INDEX blocks_ws_status ON blocks (workspace_id, type, status)",
            "CREATE INDEX blocks_ws_due ON blocks (workspace_id, type, due)",
        ]
    elif layout == "json+index":
        q = _queries(engine, layout)
        status = q["done"].split(" AND ")[2].split(" = ")[0]
        due = q["due"].split(" AND ")[2].split(" < ")[0]
        out += [
            f"CREATE INDEX blocks_ws_status ON blocks (workspace_id, type, {status})",
            f"CREATE INDEX blocks_ws_due ON blocks (workspace_id, type, {due})",
        ]
    elif layout == "jsonb+gin":
        out += ["CREATE INDEX blocks_props ON blocks USING gin (props jsonb_path_ops)"]
    return out


def _rows(blocks: Sequence[Block], layout: str) -> list[tuple[Any, ...]]:
    head = ("id", "workspace_id", "page_id", "position", "type")
    if layout.startswith("typed"):
        return [tuple(b[k] for k in (*head, *_PROPS)) for b in blocks]
    return [(*(b[k] for k in head), json.dumps({k: b[k] for k in _PROPS})) for b in blocks]


def _time(run: Callable[[], list[int]], repeat: int) -> tuple[float, list[int]]:
    times, answer = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        answer = run()
        times.append((time.perf_counter() - start) * 1000)
    return sorted(times)[len(times) // 2], answer


def run_schema_lesson(
    blocks: Sequence[Block],
    *,
    engine: str = "sqlite",
    pg_url: str | None = None,
    layouts: Sequence[str] | None = None,
    workspace: int = 7,
    page: int = 3,
    before: int = 20_030,
    repeat: int = 5,
) -> list[SchemaResult]:
    """Load ``blocks`` in each layout and time the three queries; SQLite in memory or PostgreSQL.

    On PostgreSQL each layout's ``blocks`` table lives in a scratch schema of its own
    (``dpref_schema_<random>``, dropped with everything in it afterwards, also on failure), so
    a ``blocks`` table of yours in the database at ``pg_url`` is never touched; the user needs
    the right to create a schema there.

    ``blocks`` is a non-empty list of blocks as :func:`generate_blocks` makes them;
    ``workspace``, ``page`` and ``before`` are ints (bound as query parameters), ``repeat`` an
    int from 1 to 1,000 (the median of that many runs is reported). Anything else raises
    :class:`ShardingError` before a table is made; so does a database error on PostgreSQL (a
    server that cannot be reached, no right to create the schema).
    """
    _check_blocks(blocks)
    for name, value in (("workspace", workspace), ("page", page), ("before", before)):
        if not isinstance(value, int) or isinstance(value, bool) or not -_MAX <= value <= _MAX:
            raise ShardingError(f"{name}={shown(value)} must be an int within +-(2**63 - 1)")
    if not isinstance(repeat, int) or isinstance(repeat, bool) or not 1 <= repeat <= 1000:
        raise ShardingError(f"repeat={shown(repeat)} must be an int in [1, 1000]")
    if layouts is not None and (
        not isinstance(layouts, list | tuple)
        or not layouts
        or not all(isinstance(layout, str) for layout in layouts)
    ):
        raise ShardingError(
            f"layouts={shown(layouts)} must be a non-empty list of layout names, or None for all"
        )
    if engine not in ("sqlite", "postgres"):
        raise ShardingError(f"engine={shown(engine)} must be 'sqlite' or 'postgres'")
    if engine == "postgres" and not isinstance(pg_url, str):
        raise ShardingError("engine='postgres' needs pg_url, a postgresql:// URL")
    chosen = list(LAYOUTS if engine == "sqlite" else (*LAYOUTS, "jsonb+gin"))
    if layouts is not None:
        chosen = list(layouts)
    for layout in chosen:
        if layout not in (*LAYOUTS, "jsonb+gin") or (layout == "jsonb+gin" and engine == "sqlite"):
            raise ShardingError(
                f"layout={shown(layout)} is not one of {LAYOUTS} (or 'jsonb+gin' on postgres)"
            )
    results = []
    for layout in chosen:
        if engine == "sqlite":
            results.append(_run_sqlite(blocks, layout, workspace, page, before, repeat))
        else:
            assert pg_url is not None
            results.append(_run_postgres(blocks, layout, pg_url, workspace, page, before, repeat))
    return results


_MAX = (1 << 63) - 1
_INT32 = (1 << 31) - 1
#: A block's fields: the largest int each column holds (BIGINT, INTEGER), or ``str``.
_FIELDS: dict[str, int | type[str]] = {
    "id": _MAX, "workspace_id": _INT32, "page_id": _INT32, "position": _INT32, "due": _INT32,
    "type": str, "title": str, "status": str, "assignee": str,
}  # fmt: skip


def _check_blocks(blocks: object) -> None:
    """A non-empty list (or tuple) of dicts with :func:`generate_blocks`'s fields and types,
    ids distinct (the table's primary key)."""
    if not isinstance(blocks, list | tuple) or not blocks:
        raise ShardingError(
            f"blocks={shown(blocks, 80)} must be a non-empty list of blocks (generate_blocks)"
        )
    ids = set()
    for i, block in enumerate(blocks):
        if not isinstance(block, dict):
            raise ShardingError(f"blocks[{i}]={shown(block, 80)} must be a dict")
        for key, kind in _FIELDS.items():
            value = block.get(key)
            if isinstance(kind, int):
                ok = type(value) is int and -kind <= value <= kind
                allowed = f"an int within +-{kind:,}"
            else:
                ok = isinstance(value, str) and value.isprintable()
                allowed = "printable text"
            if not ok:
                raise ShardingError(f"blocks[{i}][{key!r}]={shown(value, 80)} must be {allowed}")
        if block["id"] in ids:
            raise ShardingError(f"blocks[{i}]['id']={block['id']} repeats an earlier block's id")
        ids.add(block["id"])


def _run_sqlite(
    blocks: Sequence[Block], layout: str, w: int, p: int, d: int, repeat: int
) -> SchemaResult:
    conn = sqlite3.connect(":memory:")
    for ddl in _ddl("sqlite", layout):
        conn.execute(ddl)
    rows = _rows(blocks, layout)
    marks = ",".join("?" * len(rows[0]))
    conn.executemany(f"INSERT INTO blocks VALUES ({marks})", rows)
    conn.commit()
    conn.execute("ANALYZE")
    ms, answers = {}, {}
    values = {"w": w, "p": p, "d": d}
    for name, sql in _queries("sqlite", layout).items():
        text, params = _bound(sql, "?"), tuple(values[k] for k in _PARAMS[name])

        def ask(text: str = text, params: tuple[int, ...] = params) -> list[int]:
            return [r[0] for r in conn.execute(text, params)]

        ms[name], answers[name] = _time(ask, repeat)
    size = conn.execute(
        "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"
    ).fetchone()[0]
    conn.close()
    return SchemaResult("sqlite", layout, ms, int(size), answers)


def _run_postgres(
    blocks: Sequence[Block], layout: str, url: str, w: int, p: int, d: int, repeat: int
) -> SchemaResult:
    import psycopg

    scratch = f"dpref_schema_{secrets.token_hex(6)}"
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {scratch}".encode())
            try:
                conn.execute(f"SET search_path TO {scratch}".encode())
                return _measure_postgres(conn, blocks, layout, w, p, d, repeat)
            finally:
                conn.execute(f"DROP SCHEMA {scratch} CASCADE".encode())
    except psycopg.Error as exc:  # unreachable, or no right to create the scratch schema
        why = str(exc).partition("\n")[0]
        raise ShardingError(
            f"pg_url cannot run the {layout!r} layout: {type(exc).__name__}: {why}"
        ) from None


def _measure_postgres(
    conn: Any, blocks: Sequence[Block], layout: str, w: int, p: int, d: int, repeat: int
) -> SchemaResult:
    """:func:`_run_postgres` inside its scratch schema (first on the search path)."""
    for ddl in _ddl("postgres", layout):
        conn.execute(ddl.encode())
    rows = _rows(blocks, layout)
    with conn.cursor().copy("COPY blocks FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    conn.execute("VACUUM ANALYZE blocks")
    ms, answers = {}, {}
    values = {"w": w, "p": p, "d": d}
    for name, sql in _queries("postgres", layout).items():
        text, params = _bound(sql, "%s").encode(), tuple(values[k] for k in _PARAMS[name])

        def ask(text: bytes = text, params: tuple[int, ...] = params) -> list[int]:
            return [r[0] for r in conn.execute(text, params)]

        ms[name], answers[name] = _time(ask, repeat)
    size: Any = conn.execute("SELECT pg_total_relation_size('blocks')").fetchone()
    return SchemaResult("postgres", layout, ms, int(size[0]) if size else 0, answers)
