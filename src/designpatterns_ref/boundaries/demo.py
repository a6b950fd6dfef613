"""A small modular monolith to play with: a shop with orders, payments, inventory and shared.

Case study: Shopify's Modular Monolith (docs/case-studies/shopify-modular-monolith.md)

:func:`write_shop` writes the package ``shop`` and its ``pyproject.toml`` to a folder:
``orders`` may use ``payments``, ``inventory`` and ``shared``; ``payments`` and ``inventory``
only ``shared``; each exposes its package (``public = ["."]``). Three imports break the rules,
as they would in a codebase that grew before anyone drew boundaries: orders reaches into a
private payments module, inventory imports orders (undeclared, and a cycle with orders), and
shared imports payments inside a function. The tour and the example adopt the rules on it
step by step.

Complexity: writes a dozen small files.

>>> import tempfile, pathlib
>>> folder = write_shop(pathlib.Path(tempfile.mkdtemp()))
>>> sorted(p.name for p in (folder / "shop").iterdir())
['__init__.py', 'inventory', 'orders', 'payments', 'shared']
"""

from __future__ import annotations

from pathlib import Path

from designpatterns_ref.boundaries.base import check_path

__all__ = ["SHOP_FILES", "SHOP_PYPROJECT", "write_shop"]

SHOP_PYPROJECT = """\
[tool.dpref.boundaries]
packages = ["shop"]
roots = ["."]

[tool.dpref.boundaries.components."shop.*"]
public = ["."]
depends_on = ["shop.shared"]

[tool.dpref.boundaries.components."shop.orders"]
public = ["."]

[tool.dpref.boundaries.components."shop.orders".depends_on]
"shop.payments" = "an order is paid"
"shop.inventory" = "an order reserves stock"
"shop.shared" = "money"

[tool.dpref.boundaries.components."shop.shared"]
depends_on = []
"""

SHOP_FILES: dict[str, str] = {
    "shop/__init__.py": "",
    "shop/orders/__init__.py": "from shop.orders.checkout import place_order\n",
    "shop/orders/checkout.py": (
        "from shop.inventory import reserve\n"
        "from shop.payments import charge\n"
        "from shop.payments._ledger import LEDGER  # reaches into a private module\n"
        "from shop.shared.money import Money\n\n\n"
        "def place_order(sku: str, cents: int) -> bool:\n"
        "    reserve(sku)\n"
        "    LEDGER.append(sku)\n"
        "    return charge(Money(cents))\n"
    ),
    "shop/orders/history.py": "ORDERS: list[str] = []\n",
    "shop/payments/__init__.py": "from shop.payments.gateway import charge\n",
    "shop/payments/gateway.py": (
        "from shop.shared.money import Money\n\n\ndef charge(amount: Money) -> bool:\n"
        "    return amount.cents > 0\n"
    ),
    "shop/payments/_ledger.py": "LEDGER: list[str] = []\n",
    "shop/inventory/__init__.py": "from shop.inventory.stock import reserve\n",
    "shop/inventory/stock.py": (
        "from shop.orders.history import ORDERS  # inventory should not know orders\n\n\n"
        "def reserve(sku: str) -> None:\n    ORDERS.append(sku)\n"
    ),
    "shop/shared/__init__.py": "",
    "shop/shared/money.py": (
        "from dataclasses import dataclass\n\n\n@dataclass\nclass Money:\n    cents: int\n\n\n"
        "def refund(amount: Money) -> bool:\n"
        "    from shop.payments import charge  # a deferred import is still a dependency\n\n"
        "    return charge(Money(-amount.cents))\n"
    ),
}


def write_shop(folder: str | Path) -> Path:
    """Write the shop and its ``pyproject.toml`` under ``folder``; returns the folder."""
    root = Path(check_path(folder, "folder"))
    for rel, text in {**SHOP_FILES, "pyproject.toml": SHOP_PYPROJECT}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root
