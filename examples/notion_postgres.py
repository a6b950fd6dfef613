# %% [markdown]
# # Notion's Postgres migration: logical shards, the shard key, and the schema
#
# Notion split one Postgres holding every block into 480 logical shards (schemas) on 32
# physical databases, keyed by workspace, so every block of a page lives together. This notebook
# shows why that layout grows gracefully, what a badly chosen key costs, and, measured on
# SQLite (and PostgreSQL when one is at hand), why typed columns beat a JSON bag of properties
# for the queries a workspace page makes.

# %%
import designpatterns_ref as dp
from designpatterns_ref.sharding.logical import LogicalShards, page_fanout
from designpatterns_ref.sharding.plot import plot_schema
from designpatterns_ref.sharding.schema import generate_blocks, reference_answers, run_schema_lesson

# %% [markdown]
# ## Logical shards over physical hosts
#
# Growth never rehashes a key: a new host takes whole logical shards from the others.

# %%
fleet = LogicalShards([f"db{i}" for i in range(32)])
print("per host:", sorted(set(fleet.load().values())), "logical shards")
for new in ("db32", "db33"):
    moves = fleet.add_host(new)
    print(
        f"{new} joins and takes {len(moves)} whole logical shards; loads now",
        sorted(set(fleet.load().values())),
    )

# %% [markdown]
# ## The shard key decides the fan-out
#
# A page load reads all of a page's blocks. Keyed by workspace, that is one shard; keyed by block
# id, nearly one shard per block.

# %%
for blocks_on_page in (10, 60, 300):
    page = [(42, f"block-{i}") for i in range(blocks_on_page)]
    by_ws, by_block = page_fanout(page)
    print(f"{blocks_on_page:4} blocks: {by_ws} shard by workspace, {by_block} by block id")

# %% [markdown]
# ## JSON properties against typed columns
#
# The same 50,000 blocks stored four ways; the three queries of a workspace page timed on each,
# and every answer checked against plain Python.

# %%
blocks = generate_blocks(50_000, seed=1, workspaces=50)
results = run_schema_lesson(blocks, workspace=7, page=3)
expected = reference_answers(blocks, 7, 3, 20_030)
for r in results:
    same = r.answers == expected
    times = ", ".join(f"{q} {ms:.3f} ms" for q, ms in r.ms.items())
    print(f"{r.layout:12} {r.bytes / 2**20:5.1f} MB  {times}  answers match: {same}")

# %%
fig = plot_schema(results)
if path := dp.show(fig, "notion-schema"):
    print(f"figure saved to {path}")
