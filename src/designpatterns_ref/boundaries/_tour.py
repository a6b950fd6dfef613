"""``dpref tour boundaries``: draw boundaries in a small shop, find what crosses them, adopt."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from designpatterns_ref.boundaries.config import load_config
from designpatterns_ref.boundaries.demo import write_shop
from designpatterns_ref.boundaries.run import check, record, shrink_todo

__all__ = ["tour"]


def tour(out: Callable[[str], None]) -> None:
    """Print the modular-monolith story on a generated shop, deterministically, in a second."""
    with tempfile.TemporaryDirectory(prefix="dpref-tour-") as tmp:
        folder = write_shop(Path(tmp))
        config = load_config(folder)
        out("A shop package grew four parts: orders, payments, inventory and shared. We declare")
        out("them as components (pyproject.toml): each exposes only its package, orders may use")
        out("the other three, payments and inventory only shared, shared nothing.")
        report = check(config)
        out(f"The checker reads {report.modules} modules from source ({report.imports} imports, "
            "nothing is imported) and finds:")  # fmt: skip
        for v in report.violations:
            out(f"  {Path(v.path).relative_to(folder)}:{v.line} {v.rule}: {v.message}")
        out("Shopify did not fix everything at once: it recorded the existing violations and let")
        count, _ = record(config)
        out(f"CI fail only on new ones. Recorded {count} in {config.todo}; the check now passes:")
        out(f"  ok = {check(config).ok}")
        stock = folder / "shop" / "inventory" / "stock.py"
        stock.write_text(
            "ORDERS: list[str] = []\n\n\ndef reserve(sku: str) -> None:\n    ORDERS.append(sku)\n",
            encoding="utf-8",
        )
        after = check(config)
        out("Someone moves the stock list into inventory: its import and the cycle it made go,")
        out(f"  {len(after.stale)} recorded entries are stale; `dpref boundaries shrink` drops "
            "them:")  # fmt: skip
        kept, removed = shrink_todo(config)
        out(f"  removed {removed}, kept {kept}; the list only shrinks.")
        (folder / "shop" / "payments" / "refunds.py").write_text(
            "from shop.orders.history import ORDERS\n", encoding="utf-8"
        )
        new = check(config)
        out("A new import of a private orders module appears in payments, and CI says no:")
        for v in new.violations:
            out(f"  {Path(v.path).relative_to(folder)}:{v.line} {v.rule}: {v.fix}")
        out(f"  ok = {new.ok}; a second run over the unchanged tree parses "
            f"{check(config).parsed} files (cache keyed on content).")  # fmt: skip
