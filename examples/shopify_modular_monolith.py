# %% [markdown]
# # Shopify's Modular Monolith
#
# Shopify's Rails monolith grew to millions of lines where any change could touch anything.
# Instead of splitting it into microservices, Shopify cut it into **components** inside the one
# deployable, gave each a **public API** and a list of the components it may use, and checked
# both statically in CI (packwerk). Existing violations were recorded in a to-do list so the
# rules could be switched on at once and the debt paid down over time.
#
# This notebook does the same for Python with `designpatterns_ref.boundaries`: declare the
# components of a small shop, find every import that crosses a boundary (file, line, rule, fix),
# adopt the rules gradually, and then run the checker on this library itself and on Django.

# %%
import sys
import tempfile
import time
from pathlib import Path

import designpatterns_ref as dp
from designpatterns_ref.boundaries import (
    Config,
    build,
    check,
    find_violations,
    load_config,
    record,
    render,
    shrink_todo,
)
from designpatterns_ref.boundaries.demo import SHOP_PYPROJECT, write_shop
from designpatterns_ref.boundaries.plot import plot_components

folder = write_shop(Path(tempfile.mkdtemp(prefix="shop-")))
print(SHOP_PYPROJECT)

# %% [markdown]
# ## Draw the boundaries and look
#
# The graph is read from source with `ast`: nothing is imported or executed. Imports inside
# functions and `if TYPE_CHECKING:` blocks are found too, and marked as such.

# %%
config = load_config(folder)
report = check(config)
print(render(report, "human", base=folder))

# %% [markdown]
# The picture: components on a circle, imports between them as arrows, the ones that break a
# rule in red with their count. The two cycles show as red arrows going both ways.

# %%
graph = build(config)
fig = plot_components(graph, config, title="the shop before any fix")
if "ipykernel" not in sys.modules:
    print("figure:", dp.show(fig, "shop-components"))
fig  # noqa: B018 (the figure shows inline in a notebook)

# %% [markdown]
# ## Adopt the rules gradually
#
# Record today's violations; CI now fails only on new ones. Then fix some, and shrink the list:
# it never grows by itself.

# %%
count, _ = record(config)
print(f"recorded {count} violations; check passes: {check(config).ok}")
stock = folder / "shop" / "inventory" / "stock.py"
stock.write_text(
    "ORDERS: list[str] = []\n\n\ndef reserve(sku: str) -> None:\n    ORDERS.append(sku)\n"
)
kept, removed = shrink_todo(config)
print(f"after moving the stock list into inventory: removed {removed}, kept {kept}")
(folder / "shop" / "payments" / "refunds.py").write_text("from shop.orders.history import ORDERS\n")
new = check(config)
print(render(new, "github", base=folder))

# %% [markdown]
# ## The same rules in Python, and the cache
#
# A configuration can be built in Python as well. A second run over an unchanged tree reads
# nothing but the file system's time stamps: each file's imports are cached under a digest of
# its content.

# %%
python_config = Config.from_dict(
    {"packages": ["shop"], "roots": ["."], "cache": ".dpref_cache/python.bin",
     "components": {"shop.*": {"public": ["."]}},
     "layers": [{"name": "stack", "layers": ["shop.orders", ["shop.payments", "shop.inventory"],
                                             "shop.shared"]}]},
    base=folder,
)  # fmt: skip
for run in ("first", "second"):
    start = time.perf_counter()
    result = check(python_config, use_todo=False)
    took = (time.perf_counter() - start) * 1000
    print(f"{run} run: {took:.1f} ms, files parsed {result.parsed}, from cache {result.cached}")
print(sorted({(v.rule, v.contract) for v in result.violations}))

# %% [markdown]
# ## This library keeps its own boundaries
#
# `pyproject.toml` declares every subpackage of `designpatterns_ref` a component (a pattern,
# so a new family is covered without editing it): a family may use the shared core, and
# another family only through a declared allowance and its public package.

# %%
library = Path(dp.__file__).resolve().parents[2]
if (library / "pyproject.toml").is_file():
    own = check(load_config(library), use_todo=False, use_cache=False)
    print(render(own, "human"))

# %% [markdown]
# ## Django
#
# On Django's own source (installed from PyPI) with the contract set of
# `designpatterns_ref.boundaries.contracts.DJANGO`: cycles between its packages, direct
# dependency rules on its low-level packages, a layers contract and independence contracts.

# %%
try:
    from designpatterns_ref.boundaries.contracts import django_config

    django = django_config()
except dp.boundaries.BoundariesError as exc:
    print(f"skipped: {exc}")
else:
    start = time.perf_counter()
    django_graph = build(django, use_cache=False)
    found = find_violations(django_graph, django)
    took = time.perf_counter() - start
    print(f"{len(django_graph.modules)} modules, {django_graph.edge_count} imports, "
          f"{len(found)} violations in {took:.2f} s")  # fmt: skip
    for rule in ("cycle", "dependency", "layers", "independence"):
        print(f"  {rule}: {sum(v.rule == rule for v in found)}")
