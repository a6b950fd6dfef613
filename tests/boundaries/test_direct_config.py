"""Config, Component, Layers and Independence built directly are checked as from_dict checks them.

The reference is :meth:`Config.from_dict`: for the same values, a direct constructor accepts
exactly when ``from_dict`` does, builds an equal object, and refuses with a ConfigError naming
the same setting (a direct Layers or Independence names itself where from_dict gives an index).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from designpatterns_ref.boundaries import (
    Component,
    Config,
    ConfigError,
    Independence,
    Layers,
    check,
)
from tests.boundaries.helpers import write_tree

NAMES = st.sampled_from(["shop", "shop.a", "shop.b", "api", ".", "*", "", "1x", "a b", "\ud800"])
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-1, 5),
    st.just(math.nan),
    NAMES,
    st.lists(NAMES, max_size=3),
    st.lists(NAMES, max_size=3).map(tuple),
    st.dictionaries(NAMES, st.one_of(NAMES, st.integers()), max_size=2),
    st.lists(st.one_of(NAMES, st.lists(NAMES, max_size=2), st.integers()), max_size=3),
)


def outcome(build: Any) -> Any:
    try:
        return build()
    except ConfigError as exc:
        return exc


@settings(max_examples=150)
@given(name=NAMES, module=VALUES, public=VALUES, depends_on=VALUES)
@example(name="c", module="shop.a", public="api", depends_on=None)  # read as 'a', 'p', 'i'
@example(name="c", module=5, public=None, depends_on=None)
@example(name="c", module="shop.a", public=None, depends_on="shop.b")
def test_component(name: str, module: Any, public: Any, depends_on: Any) -> None:
    spec = {"module": module, "public": public, "depends_on": depends_on}
    spec = {k: v for k, v in spec.items() if v is not None or k == "module"}
    data = {"packages": ["shop"], "components": {name: spec}}
    ref = outcome(lambda: Config.from_dict(data).components[name])
    direct = outcome(lambda: Component(name, module, public, depends_on, name.endswith(".*")))
    if isinstance(ref, ConfigError):
        assert isinstance(direct, ConfigError), (ref, direct)
        assert direct.key == ref.key
    else:
        assert direct == ref


@settings(max_examples=150)
@given(name=st.one_of(NAMES, VALUES), layers=VALUES)
@example(name="l", layers=5)
@example(name="l", layers="shop")
@example(name="l", layers=["shop.a", ["shop.b", "shop.a"]])
def test_layers(name: Any, layers: Any) -> None:
    data = {"packages": ["shop"], "layers": [{"name": name, "layers": layers}]}
    ref = outcome(lambda: Config.from_dict(data).layers[0])
    direct = outcome(lambda: Layers(name, layers))
    if isinstance(ref, ConfigError):
        assert isinstance(direct, ConfigError), (ref, direct)
        rest = ref.key.removeprefix("layers[0]")
        assert direct.key.startswith("Layers") and direct.key.endswith(rest), (ref, direct)
    else:
        assert direct == ref


@settings(max_examples=100)
@given(name=st.one_of(NAMES, VALUES), modules=VALUES)
@example(name="i", modules="shop")
def test_independence(name: Any, modules: Any) -> None:
    data = {"packages": ["shop"], "independence": [{"name": name, "modules": modules}]}
    ref = outcome(lambda: Config.from_dict(data).independence[0])
    direct = outcome(lambda: Independence(name, modules))
    if isinstance(ref, ConfigError):
        assert isinstance(direct, ConfigError), (ref, direct)
        rest = ref.key.removeprefix("independence[0]")
        assert direct.key.startswith("Independence") and direct.key.endswith(rest)
    else:
        assert direct == ref


FIELDS = ("packages", "roots", "include", "cycles", "todo", "cache")


@settings(max_examples=150)
@given(field=st.sampled_from(FIELDS), value=VALUES)
@example(field="packages", value="shop")
@example(field="include", value=["module", "module"])
def test_config_fields(field: str, value: Any) -> None:
    good: dict[str, Any] = {"packages": ["shop"], "roots": ["."], "cache": ""}
    ref = outcome(lambda: Config.from_dict({**good, field: value}))
    direct = outcome(lambda: Config(**{**good, field: value}))
    if isinstance(ref, ConfigError):
        assert isinstance(direct, ConfigError), (ref, direct)
        assert direct.key == ref.key
    else:
        assert direct == ref


@pytest.mark.parametrize(
    ("build", "key", "words"),
    [
        (lambda: Config(packages=("shop",), components=["c"]), "components", "table"),
        (
            lambda: Config(packages=("shop",), components={"c": Component("d", "shop.a")}),
            "components.c",
            "'d'",
        ),
        (
            lambda: Config(
                packages=("shop",),
                components={"c": Component("c", "shop.a"), "d": Component("d", "shop.a")},
            ),
            "components.d.module",
            "already component 'c'",
        ),
        (lambda: Config(packages=("shop",), layers=(5,)), "layers[0]", "Layers"),
        (
            lambda: Config(packages=("shop",), layers=(Layers("l", ["a", "b"]),) * 2),
            "layers[1].name",
            "another contract",
        ),
        (lambda: Config(packages=("shop",), independence=["x"]), "independence[0]", "Independence"),
        (lambda: Config(packages=("shop",), base=5), "base", "folder"),
        (lambda: Config(packages=("shop",), base="a\x00b"), "base", "null byte"),
        (lambda: Component("c", "shop.a", pattern=1), "components.c.pattern", "True or False"),
        (lambda: Component(None, "shop.a"), "components", "string"),
    ],
)
def test_direct_refusals_name_the_field(build: Any, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        build()
    assert info.value.key == key
    assert words in str(info.value)


def test_a_direct_config_checks_a_project_like_one_from_dict(tmp_path: Path) -> None:
    write_tree(tmp_path, {"shop/__init__.py": "", "shop/a.py": "from shop import b\n",
                          "shop/b.py": ""})  # fmt: skip
    direct = Config(
        packages=["shop"],  # lists are taken, and kept as tuples
        roots=[str(tmp_path)],
        cache="",
        components={
            "a": Component("a", "shop.a", public=["."], depends_on=[]),
            "b": Component("b", "shop.b", public=["."]),
        },
        layers=[Layers("l", ["shop.b", "shop.a"])],
    )
    assert direct.packages == ("shop",) and direct.components["a"].public == (".",)
    rules = sorted(v.rule for v in check(direct, use_cache=False, jobs=1).violations)
    assert rules == ["dependency", "layers"]
