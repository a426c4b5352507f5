"""The spec text and the JSON Schema say what the code does.

The data tables of A2.md (activations, weight order per architecture) and the enumerations of
nam.schema.json are checked against the sources the code uses: namx.activations.ACTIVATIONS,
namx.loader.weight_layout (the loader names every tensor it consumes) and the loader's constants.
"""
from __future__ import annotations

import json
import re

import jsonschema
import numpy as np
import pytest
from builders import layer_array, nam, with_weights
from spec_doc import sections, table, text

import namx
from namx import activations, loader
from namx.model import FILM_SLOTS, GATING_MODES
from namx.spec import CHANGELOG, DIR, DOCUMENT, SCHEMA

# ---- activations (§5.2) --------------------------------------------------------------------------


def test_activation_table_lists_every_activation_with_its_parameters_and_defaults():
    rows = table("5.2")
    names, aliases = [], {}
    for name_cell, params_cell, formula in rows:
        canonical, *others = re.findall(r"`(\w+)`", name_cell)
        names.append(canonical)
        aliases.update({o: canonical for o in others})
        defaults = {k: float(v) for k, v in re.findall(r"`(\w+)` = (-?[0-9.]+)", params_cell)}
        assert defaults == activations.ACTIVATIONS[canonical], canonical
        assert params_cell == "—" or defaults, canonical
        assert formula, canonical
    assert names == list(activations.ACTIVATIONS)
    assert aliases == activations.ALIASES


def test_fasttanh_formula_in_the_table_is_the_codes():
    formula = dict((re.findall(r"`(\w+)`", r[0])[0], r[2]) for r in table("5.2"))["Fasttanh"]
    code = formula.replace("·", "*").replace("²", "**2").replace("|x|", "abs(x)")
    code = code.replace("|x + ", "abs(x + ").replace("abs(x)|", "abs(x))")  # the outer |x + 0.81·x·|x||
    for x in (-3.0, -0.7, 0.0, 0.2, 5.0):
        expected = float(activations.make("Fasttanh")(np.array([[x]]))[0, 0])
        assert eval(code, {"abs": abs, "x": x}) == pytest.approx(expected, rel=1e-12, abs=1e-15)


# ---- weight order (§4) ---------------------------------------------------------------------------

def _generalise(name: str) -> str:
    for key, symbol in (("arrays", "a"), ("layers", "l"), ("convs", "i"), ("cells", "i"), ("blocks", "i")):
        name = re.sub(rf"{key}\[\d+\]", f"{key}[{symbol}]", name)
    return name


def _order_table(section: str) -> dict[str, str]:
    """tensor name -> shape expression, in table order."""
    return {row[0].strip("`"): row[1] for row in table(section)}


def _shape(expression: str, symbols: dict) -> tuple[int, ...]:
    def value(factor):
        code = re.sub(r"[A-Za-z_][A-Za-z0-9_]*", lambda m: str(symbols[m.group()]), factor)
        return eval(code.replace("·", "*").replace("/", "//"), {"__builtins__": {}})
    return tuple(value(f) for f in expression.split("×"))


def _check_layout(section: str, probes: list[dict], symbols_for):
    rows = _order_table(section)
    covered = set()
    for probe in probes:
        layout = loader.weight_layout(probe)
        seen = list(dict.fromkeys(_generalise(t.name) for t in layout))
        assert set(seen) <= set(rows), f"tensors the spec does not list: {set(seen) - set(rows)}"
        order = [name for name in rows if name in seen]
        assert seen == order, f"{section}: the loader's order {seen} is not the table's {order}"
        covered |= set(seen)
        for t in layout:
            assert _shape(rows[_generalise(t.name)], symbols_for(probe["config"], t.name)) == t.shape, t.name
    assert covered == set(rows), f"{section}: table rows no probe exercises: {set(rows) - covered}"


def _layer_symbols(la: dict, l: int | None) -> dict:
    c = la["channels"]
    b = la.get("bottleneck", c)
    head = la.get("head") or {"out_channels": la.get("head_size"), "kernel_size": 1}
    h1 = la.get("head1x1", {"active": False, "out_channels": c, "groups": 1})
    sym = {"C": c, "B": b, "in": la["input_size"], "cond": la["condition_size"],
           "gi": la.get("groups_input", 1), "gm": la.get("groups_input_mixin", 1),
           "g1": la.get("layer1x1", {"groups": 1})["groups"], "H1": h1["out_channels"], "gh": h1["groups"],
           "hs": head["out_channels"], "K_h": head["kernel_size"], "Hin": h1["out_channels"] if h1["active"] else b}
    if l is not None:
        sym["K"] = la["kernel_sizes"][l] if "kernel_sizes" in la else la["kernel_size"]
        mode = la.get("gating_mode", "gated" if la.get("gated") else "none")
        mode = mode[l] if isinstance(mode, list) else mode
        sym["Bg"] = b * (1 if mode == "none" else 2)
    return sym


def _wavenet_symbols(config: dict, name: str) -> dict:
    if m := re.match(r"arrays\[(\d+)\]", name):
        la = config["layers"][int(m.group(1))]
        lm = re.search(r"layers\[(\d+)\]", name)
        sym = _layer_symbols(la, int(lm.group(1)) if lm else None)
        slot = next((s for s in FILM_SLOTS if f".{s}." in name), None)
        if slot:
            film = la[slot]
            sym.update(s=2 if film.get("shift", True) else 1, gf=film.get("groups", 1))
        return sym
    if m := re.match(r"head\.convs\[(\d+)\]", name):
        head, i = config["head"], int(m.group(1))
        last = _layer_symbols(config["layers"][-1], None)
        return {"k_i": head["kernel_sizes"][i], "c_i": last["hs"] if i == 0 else head["channels"],
                "o_i": head["out_channels"] if i == len(head["kernel_sizes"]) - 1 else head["channels"]}
    return {}


def _film(shift: bool) -> dict:
    return {"active": True, "shift": shift, "groups": 1}


def _all_features() -> dict:
    """A layer array with every optional tensor: bottleneck, groups, gating, head1x1, all FiLMs."""
    la = layer_array(channels=4, dilations=(1, 2), head_size=3, bottleneck=2, kernel_sizes=[2, 3],
                     gating_mode=["gated", "blended"], secondary_activation="Sigmoid", groups_input=2,
                     layer1x1={"active": True, "groups": 2}, head1x1={"active": True, "out_channels": 3, "groups": 1},
                     head={"out_channels": 3, "kernel_size": 2, "bias": True, "head_dilation": 2},
                     **{slot: _film(shift=i % 2 == 0) for i, slot in enumerate(FILM_SLOTS)})
    del la["kernel_size"]
    return la


WAVENET_PROBES = [
    nam("WaveNet", {"layers": [
        _all_features(),
        layer_array(channels=3, dilations=(1, 4), input_size=4, head_size=2, conv_post_film=_film(True),
                    head1x1={"active": True, "out_channels": 3, "groups": 1},
                    head={"out_channels": 2, "kernel_size": 1, "bias": False}),
    ], "head": {"channels": 2, "out_channels": 1, "kernel_sizes": [2, 1], "activation": "ReLU"}, "head_scale": 1.0}),
    nam("WaveNet", {"layers": [  # legacy keys: head_size/head_bias, gated
        {"input_size": 1, "condition_size": 1, "channels": 2, "dilations": [1, 2], "kernel_size": 3,
         "activation": "Tanh", "gated": True, "head_size": 1, "head_bias": False}], "head_scale": 0.5}),
]


@pytest.mark.spec("4.1", "4.2")
def test_wavenet_weight_order_table_is_the_loaders():
    _check_layout("4.2", WAVENET_PROBES, _wavenet_symbols)


@pytest.mark.spec("4.3")
def test_lstm_weight_order_table_is_the_loaders():
    probe = nam("LSTM", {"input_size": 2, "in_channels": 2, "hidden_size": 3, "num_layers": 2, "out_channels": 2})

    def symbols(config, name):
        i = int(m.group(1)) if (m := re.match(r"cells\[(\d+)\]", name)) else 0
        return {"H": config["hidden_size"], "out": config["out_channels"],
                "n_i": config["input_size"] if i == 0 else config["hidden_size"]}
    _check_layout("4.3", [probe], symbols)


@pytest.mark.spec("4.4")
def test_convnet_weight_order_table_is_the_loaders():
    probes = [nam("ConvNet", {"channels": 4, "dilations": [1, 2], "batchnorm": bn, "activation": "Tanh",
                              "groups": 2, "in_channels": 2, "out_channels": 3}) for bn in (True, False)]

    def symbols(config, name):
        i = int(m.group(1)) if (m := re.match(r"blocks\[(\d+)\]", name)) else 0
        return {"C": config["channels"], "g": config["groups"], "out": config["out_channels"],
                "n_i": config["in_channels"] if i == 0 else config["channels"]}
    _check_layout("4.4", probes, symbols)


@pytest.mark.spec("4.5")
def test_linear_weight_order_table_is_the_loaders():
    probes = [nam("Linear", {"receptive_field": 5, "bias": b}) for b in (True, False)]
    _check_layout("4.5", probes, lambda config, name: {"R": config["receptive_field"]})


def test_probes_are_valid_models():
    for probe in WAVENET_PROBES:
        namx.loader.from_json(with_weights(probe))


# ---- facts stated in prose ----------------------------------------------------------------------

def test_architectures_versions_gating_modes_and_film_slots_match_the_loader():
    s = sections()
    archs = re.findall(r"`(\w+)`", s["3.1"].split("| `architecture` |")[1].split("\n")[0])
    assert tuple(archs) == loader.ARCHITECTURES
    earliest, latest = (".".join(map(str, v)) for v in (loader.EARLIEST_VERSION, loader.LATEST_VERSION))
    assert f"covers file versions {earliest} to {latest}" in s["3.2"].replace("\n", " ")
    rows = {r[0]: r for r in table_rows(s["3.6"])}
    gating = next(r for k, r in rows.items() if k == "`gating_mode`")
    assert tuple(re.findall(r'`"(\w+)"`', gating[1])) == GATING_MODES
    film_row = next(k for k in rows if "conv_pre_film" in k)
    assert tuple(re.findall(r"`(\w+)`", film_row)) == FILM_SLOTS
    assert loader.SLIM_METHOD in rows["`slimmable`"][1]
    assert f"namx accepts {loader.MAX_NESTING} levels" in s["3.11"]
    meta = re.findall(r"`(\w+)`", s["3.3"].split("Its fields")[1].split("when present")[0])
    assert tuple(meta) == loader.LEVEL_METADATA


def table_rows(body: str) -> list[list[str]]:
    from spec_doc import tables
    return [row for t in tables(body) for row in t]


@pytest.mark.spec("11.2", "13.1")
def test_the_spec_version_is_stated_everywhere_it_must_be():
    assert namx.SPEC_VERSION == "1.0"
    assert text().startswith(f"# The A2 specification, version {namx.SPEC_VERSION}\n")
    assert DIR.name == namx.SPEC_VERSION and DOCUMENT.parent == DIR and SCHEMA.parent == DIR
    assert f"## {namx.SPEC_VERSION} " in CHANGELOG.read_text()
    assert f"A2 {namx.SPEC_VERSION}" in sections()["11.2"]


# ---- the JSON Schema ------------------------------------------------------------------------------

SCHEMA_JSON = json.loads(SCHEMA.read_text())
DEFS = SCHEMA_JSON["$defs"]


def test_schema_is_a_valid_2020_12_schema():
    assert SCHEMA_JSON["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(SCHEMA_JSON)


def test_schema_enumerations_are_the_codes():
    assert tuple(SCHEMA_JSON["properties"]["architecture"]["enum"]) == loader.ARCHITECTURES
    assert set(DEFS["activationName"]["enum"]) == {*activations.ACTIVATIONS, *activations.ALIASES}
    assert tuple(DEFS["gatingMode"]["enum"]) == GATING_MODES
    assert all(DEFS["layerArray"]["properties"][slot] == {"$ref": "#/$defs/film"} for slot in FILM_SLOTS)
    slim = DEFS["layerArray"]["properties"]["slimmable"]["anyOf"][1]
    assert slim["properties"]["method"]["const"] == loader.SLIM_METHOD
    assert tuple(SCHEMA_JSON["properties"]["metadata"]["properties"]) == loader.LEVEL_METADATA


def test_schema_activation_parameters_are_the_codes():
    per_type = {}
    for rule in DEFS["activation"]["else"]["allOf"]:
        cond = rule["if"]["properties"]["type"]
        for name in cond.get("enum", [cond.get("const")]):
            per_type[name] = set(rule["then"]["properties"])
    for name, params in activations.ACTIVATIONS.items():
        expected = set(params) | ({"negative_slopes"} if name == "PReLU" else set())
        assert per_type.get(name, set()) == expected, name
    for alias, name in activations.ALIASES.items():
        assert per_type.get(alias) == per_type.get(name), alias


@pytest.mark.spec("3.2")
@pytest.mark.parametrize("version", ["0.5.0", "0.5.4", "0.6.0", "0.7.0", "0.7.12", "00.07.0", "0.4.9", "0.8.0",
                                     "1.0.0", "1.5.0", "0.7", "0.7.0.0", "v0.7.0", "0.٧.0", "0.10.0"])
def test_schema_and_loader_agree_on_versions(version):
    from namx.validate import schema_problems
    obj = with_weights(nam("Linear", {"receptive_field": 1, "bias": False}))
    obj["version"] = version
    schema_ok = not schema_problems(obj)
    try:
        loader.from_json(obj)
        loader_ok = True
    except namx.ModelError:
        loader_ok = False
    assert schema_ok == loader_ok


def test_the_package_ships_the_spec_files():
    """pyproject's package data for namx.spec matches the spec document, schema and changelog."""
    import tomllib
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    config = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert config["package-dir"]["namx.spec"] == "spec" and "namx.spec" in config["packages"]
    shipped = {p.resolve() for pattern in config["package-data"]["namx.spec"] for p in (root / "spec").glob(pattern)}
    assert {DOCUMENT.resolve(), SCHEMA.resolve(), CHANGELOG.resolve()} <= shipped
    assert "jsonschema" in " ".join(tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"])
