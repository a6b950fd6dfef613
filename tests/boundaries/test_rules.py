"""The rules on synthetic packages: privacy, dependencies, layers, independence, cycles."""

from __future__ import annotations

from pathlib import Path

import pytest

from designpatterns_ref.boundaries import Config, ConfigError, check, read_todo, record
from designpatterns_ref.boundaries.run import shrink_todo
from tests.boundaries.helpers import violations, write_tree

SHOP = {
    "shop/__init__.py": "",
    "shop/orders/__init__.py": "from shop.orders.api import place\n",
    "shop/orders/api.py": "from shop.payments import charge\n\ndef place(): ...\n",
    "shop/orders/_store.py": "",
    "shop/payments/__init__.py": "from shop.payments.api import charge\n",
    "shop/payments/api.py": "from shop.shared import money\n\ndef charge(): ...\n",
    "shop/payments/_ledger.py": "",
    "shop/shared/__init__.py": "",
    "shop/shared/money.py": "",
}


def _rules(found: list) -> list[tuple[str, str, str]]:  # type: ignore[type-arg]
    return sorted((v.rule, v.importer, v.imported) for v in found)


def test_declared_dependencies_pass(tmp_path: Path) -> None:
    cfg = {"packages": ["shop"], "components": {
        "shop.orders": {"depends_on": ["shop.payments"]},
        "shop.payments": {"depends_on": ["shop.shared"], "public": ["."]},
        "shop.shared": {"depends_on": []}}}  # fmt: skip
    assert violations(tmp_path, SHOP, cfg) == []


def test_undeclared_dependency_names_file_line_and_fix(tmp_path: Path) -> None:
    cfg = {"packages": ["shop"], "components": {
        "shop.orders": {"depends_on": []}, "shop.payments": {"depends_on": ["shop.shared"]},
        "shop.shared": {}}}  # fmt: skip
    (v,) = violations(tmp_path, SHOP, cfg)
    assert (v.rule, v.importer, v.imported, v.line) == ("dependency", "shop.orders.api",
                                                         "shop.payments", 1)  # fmt: skip
    assert v.path.endswith("api.py") and "depends_on" in v.fix
    assert "'shop.orders' does not depend on 'shop.payments'" in v.message


def test_privacy_public_package_names_and_submodules(tmp_path: Path) -> None:
    files = {**SHOP, "shop/orders/api.py": (
        "from shop.payments import charge\nfrom shop.payments._ledger import x\n"
        "import shop.payments.api\nfrom shop.payments import _ledger\nimport shop.shared.money\n"
    )}  # fmt: skip
    cfg = {"packages": ["shop"], "components": {
        "shop.orders": {}, "shop.payments": {"public": ["."]},
        "shop.shared": {"public": ["money"]}}}  # fmt: skip
    assert _rules(violations(tmp_path, files, cfg)) == [
        ("privacy", "shop.orders.api", "shop.payments._ledger"),
        ("privacy", "shop.orders.api", "shop.payments._ledger.x"),
        ("privacy", "shop.orders.api", "shop.payments.api"),
    ]


def test_empty_public_forbids_even_the_package(tmp_path: Path) -> None:
    cfg = {"packages": ["shop"], "components": {"shop.orders": {}, "shop.payments": {"public": []},
                                                "shop.shared": {}}}  # fmt: skip
    assert _rules(violations(tmp_path, SHOP, cfg)) == [
        ("privacy", "shop.orders.api", "shop.payments.charge")
    ]


def test_kinds_not_included_are_not_checked(tmp_path: Path) -> None:
    files = {**SHOP, "shop/orders/api.py": "def f():\n    from shop.payments import charge\n"}
    base = {"packages": ["shop"], "components": {"shop.*": {"depends_on": ["shop.shared"]}}}
    assert len(violations(tmp_path, files, base)) == 1
    assert violations(tmp_path, files, {**base, "include": ["module", "type_checking"]}) == []


def test_pattern_components_and_explicit_override(tmp_path: Path) -> None:
    cfg = {"packages": ["shop"], "components": {
        "shop.*": {"depends_on": []},
        "shop.payments": {"depends_on": {"shop.shared": "money formatting"}}}}  # fmt: skip
    assert _rules(violations(tmp_path, SHOP, cfg)) == [
        ("dependency", "shop.orders.api", "shop.payments")
    ]


def test_star_dependency_allows_everything(tmp_path: Path) -> None:
    cfg = {"packages": ["shop"], "components": {"shop.*": {"depends_on": ["*"]}}}
    assert violations(tmp_path, SHOP, cfg) == []


def test_nested_component_innermost_owner(tmp_path: Path) -> None:
    files = {
        **SHOP,
        "shop/payments/api.py": "from shop.payments import _ledger\nimport shop.shared\n",
    }
    cfg = {"packages": ["shop"], "cycles": False, "components": {
        "shop.payments": {"depends_on": ["shop.payments.api"]},
        "shop.payments.api": {"depends_on": []}, "shop.shared": {}}}  # fmt: skip
    assert _rules(violations(tmp_path, files, cfg)) == [
        ("dependency", "shop.payments.api", "shop.payments._ledger"),
        ("dependency", "shop.payments.api", "shop.shared"),
    ]


LAYERED = {
    "app/__init__.py": "",
    "app/ui/__init__.py": "", "app/ui/views.py": "import app.domain.model\n",
    "app/domain/__init__.py": "", "app/domain/model.py": "import app.data.repo\n",
    "app/data/__init__.py": "", "app/data/repo.py": "",
    "app/util.py": "",
}  # fmt: skip


def test_layers_direct_and_indirect(tmp_path: Path) -> None:
    contract = {"packages": ["app"], "layers": [{"name": "L", "layers": ["app.ui", "app.domain",
                                                                       "app.data"]}]}  # fmt: skip
    assert violations(tmp_path, LAYERED, contract) == []
    files = {
        **LAYERED,
        "app/data/repo.py": "import app.util\n",
        "app/util.py": "import app.ui.views\n",
    }
    found = violations(tmp_path, files, contract)
    assert [(v.rule, v.chain) for v in found] == [
        ("layers", ("app.data.repo", "app.util", "app.ui.views"))
    ]
    assert found[0].contract == "L" and found[0].line == 1


def test_layers_siblings_may_import_each_other(tmp_path: Path) -> None:
    files = {**LAYERED, "app/domain/model.py": "import app.data.repo\nimport app.util\n"}
    contract = {"packages": ["app"], "layers": [{"layers": ["app.ui", ["app.domain", "app.util"],
                                                          "app.data"]}]}  # fmt: skip
    assert violations(tmp_path, files, contract) == []


def test_independence_reports_each_direction_with_shortest_chain(tmp_path: Path) -> None:
    files = {**LAYERED, "app/data/repo.py": "import app.util\n",
             "app/util.py": "from app.domain import model\n"}  # fmt: skip
    cfg = {"packages": ["app"], "independence": [{"name": "I", "modules": ["app.ui", "app.data"]}]}
    found = violations(tmp_path, files, cfg)
    assert sorted(v.chain for v in found) == [("app.ui.views", "app.domain.model", "app.data.repo")]
    cfg2 = {"packages": ["app"], "independence": [{"modules": ["app.domain", "app.data"]}]}
    assert sorted(v.chain for v in violations(tmp_path, files, cfg2)) == [
        ("app.data.repo", "app.util", "app.domain.model"),
        ("app.domain.model", "app.data.repo"),
    ]


def test_every_edge_of_a_cycle_is_reported_with_a_shortest_cycle_through_it(
    tmp_path: Path,
) -> None:
    files = {"c/__init__.py": "", "c/a.py": "import c.b\nimport c.d\n", "c/b.py": "import c.c\n",
             "c/c.py": "import c.a\n", "c/d.py": "import c.a\n", "c/e.py": "import c.f\n",
             "c/f.py": "import c.e\n"}  # fmt: skip
    found = violations(tmp_path, files, {"packages": ["c"], "components": {"c.*": {}}})
    assert sorted(v.chain for v in found) == [
        ("c.a", "c.b", "c.c", "c.a"), ("c.a", "c.d", "c.a"), ("c.b", "c.c", "c.a", "c.b"),
        ("c.c", "c.a", "c.b", "c.c"),
        ("c.d", "c.a", "c.d"), ("c.e", "c.f", "c.e"), ("c.f", "c.e", "c.f"),
    ]  # fmt: skip
    assert all(v.rule == "cycle" and v.key == ("cycle", *v.chain[:2]) for v in found)
    off = violations(
        tmp_path, files, {"packages": ["c"], "cycles": False, "components": {"c.*": {}}}
    )
    assert off == []


def _cycle_shop(tmp_path: Path) -> Config:
    """A shop whose components a, b and d import each other in one cycle group (c stands
    apart), and its config with one component a package and no cache."""
    files = {"shop/__init__.py": "", "shop/a/__init__.py": "import shop.b\n",
             "shop/b/__init__.py": "import shop.a\n", "shop/c/__init__.py": "",
             "shop/d/__init__.py": "import shop.b\n", "shop/b/d.py": "import shop.d\n"}  # fmt: skip
    write_tree(tmp_path, files)
    return Config.from_dict({"packages": ["shop"], "cache": "", "components": {"shop.*": {}}},
                            base=tmp_path)  # fmt: skip


def _joining_import_fails(tmp_path: Path, cfg: Config) -> None:
    """Make c and b import each other: both imports join the recorded group, and both fail."""
    write_tree(tmp_path, {"shop/b/more.py": "import shop.c\n", "shop/c/x.py": "import shop.b\n"})
    report = check(cfg)
    assert sorted(v.key for v in report.violations) == [
        ("cycle", "shop.b", "shop.c"), ("cycle", "shop.c", "shop.b")
    ]  # fmt: skip
    assert not report.ok


def test_a_new_cycle_joining_a_recorded_group_fails_the_check(tmp_path: Path) -> None:
    """A cycle recorded in the todo file must not hide a new edge that joins its group."""
    cfg = _cycle_shop(tmp_path)
    record(cfg)
    assert check(cfg).ok
    _joining_import_fails(tmp_path, cfg)


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"packages": ["shop"], "components": {"shop.nope": {}}}, "components.shop.nope.module"),
        ({"packages": ["shop"], "components": {"shop.orders": {"depends_on": ["shop.x"]}}},
         "components.shop.orders.depends_on"),
        ({"packages": ["shop"], "components": {"shop": {}, "shop.orders": {},
                                               "shop.orders.api": {}}},
         "components.shop.orders.api"),
        ({"packages": ["shop"], "layers": [{"layers": ["shop.orders", "shop.gone"]}]},
         "layers[0].layers[1]"),
        ({"packages": ["shop"], "independence": [{"modules": ["shop.orders", "x.y"]}]},
         "independence[0].modules"),
    ],
)  # fmt: skip
def test_names_the_graph_lacks_raise_config_error_naming_the_key(
    tmp_path: Path,
    config: dict,
    key: str,  # type: ignore[type-arg]
) -> None:
    with pytest.raises(ConfigError) as info:
        violations(tmp_path, SHOP, config)
    assert info.value.key == key
    assert str(info.value).startswith(key)


NESTED = {"app/__init__.py": "", "app/api.py": "", "app/core/__init__.py": "",
          "app/core/x.py": "import app.api\n"}  # fmt: skip


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"layers": [{"layers": ["app", "app.core"]}]}, "layers[0].layers[1]"),
        ({"layers": [{"layers": [["app.api", "app.core"], "app.core.x"]}]}, "layers[0].layers[1]"),
        ({"independence": [{"modules": ["app", "app.core"]}]}, "independence[0].modules"),
    ],
)  # fmt: skip
def test_a_contract_entry_inside_another_is_refused(
    tmp_path: Path,
    config: dict,  # type: ignore[type-arg]
    key: str,
) -> None:
    """``app.core`` inside ``app``: the two sets of modules overlap, and no chain between
    them could ever be found (app.core.x importing app.api went unreported): refuse it."""
    with pytest.raises(ConfigError) as info:
        violations(tmp_path, NESTED, {"packages": ["app"], **config})
    assert info.value.key == key
    assert "inside" in str(info.value)


def test_a_cycle_recorded_by_an_earlier_version_as_its_chain_stays_recorded(
    tmp_path: Path,
) -> None:
    """A todo file written before cycles were keyed by import holds the whole chain: after an
    upgrade its imports stay recorded, a new import joining the cycle still fails, and shrink
    writes the entries in the new form. The chain stood for its whole strongly connected group
    (one entry per group): an import of that group not on the chain is tolerated too."""
    cfg = _cycle_shop(tmp_path)
    todo = tmp_path / "boundaries_todo.toml"
    todo.write_text(
        '[[violation]]\nkey = ["cycle", "shop.a", "shop.b", "shop.a"]\nwhere = "shop/a:1"\n'
    )
    assert read_todo(todo) == {("cycle", "shop.a", "shop.b", "shop.a")}
    report = check(cfg)
    assert report.ok and not report.stale and len(report.recorded) == 4
    assert shrink_todo(cfg) == (4, 0)
    pinned = [("shop.a", "shop.b"), ("shop.b", "shop.a")]
    pinned += [("shop.b", "shop.d"), ("shop.d", "shop.b")]
    assert read_todo(todo) == {("cycle", a, b) for a, b in pinned}
    assert '"shop.a", "shop.b", "shop.a"' not in todo.read_text()
    _joining_import_fails(tmp_path, cfg)


def test_a_re_export_in_a_module_no_component_owns_is_no_way_round_the_rules(
    tmp_path: Path,
) -> None:
    """The top ``__init__`` under a ``pkg.*`` pattern belongs to no component. Re-exporting a
    private name there is a privacy violation of its own; a component importing it depends on
    what it reaches through it; and the cycle through it is a cycle."""
    files = {
        "shop/__init__.py": "from shop.b._private import SECRET\n",
        "shop/a/__init__.py": "", "shop/a/x.py": "from shop import SECRET\n",
        "shop/b/__init__.py": "", "shop/b/_private.py": "SECRET = 1\n",
        "shop/b/user.py": "import shop.a\n",
    }  # fmt: skip
    cfg = {"packages": ["shop"], "components": {
        "shop.*": {"public": ["."], "depends_on": []},
        "shop.b": {"public": ["."], "depends_on": ["shop.a"]}}}  # fmt: skip
    found = violations(tmp_path, files, cfg)
    assert _rules(found) == [
        ("cycle", "shop.a", "shop.b"),
        ("cycle", "shop.b", "shop.a"),
        ("dependency", "shop.a.x", "shop.b._private"),
        ("privacy", "shop", "shop.b._private.SECRET"),
    ]
    dependency = next(v for v in found if v.rule == "dependency")
    assert dependency.chain == ("shop.a.x", "shop", "shop.b._private")
    assert dependency.path.endswith("x.py") and dependency.line == 1
    assert "shop.a.x -> shop -> shop.b._private" in dependency.message
