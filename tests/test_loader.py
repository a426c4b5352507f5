"""Loading .nam files (spec: file format, weight order, version rules)."""
import copy
import json

import numpy as np
import pytest
from builders import convnet, layer_array, nam, wavenet, with_weights
from conftest import shared_models

from namx import ModelError, load, loads
from namx.loader import from_json, weights_needed
from namx.model import Container, WaveNet
from namx.stats import num_weights


@pytest.mark.spec("3.4", "4.6")
@pytest.mark.parametrize("path", shared_models(), ids=lambda p: p.name)
def test_every_shared_model_loads_with_an_exact_weight_count(path):
    model = load(path)
    raw = json.loads(path.read_text())
    if isinstance(model.net, Container):
        assert raw["weights"] == []
        for (_, sub), entry in zip(model.net.submodels, raw["config"]["submodels"]):
            assert num_weights(sub) == len(entry["model"]["weights"]) + _nested_weights(entry["model"])
    else:
        assert num_weights(model) == len(raw["weights"]) + _nested_weights(raw)


def _nested_weights(obj):
    cond = obj["config"].get("condition_dsp")
    return 0 if cond is None else len(cond["weights"]) + _nested_weights(cond)


@pytest.mark.spec("3.6")
def test_legacy_keys_load_the_same_model_as_the_new_schema(shared):
    """0.5.4 files (head_size/head_bias/gated/string activation) equal their 0.7.0 twins."""
    for name in ("a1_standard", "a1_lite", "a1_feather", "a1_nano"):
        new = load(shared / f"models/generated/{name}.nam").net
        old = load(shared / f"models/generated/legacy-0.5.4/{name}.nam").net
        for a, b in zip(new.convs(), old.convs()):
            assert np.array_equal(a.weight, b.weight) and a.dilation == b.dilation
            assert (a.bias is None) == (b.bias is None) and (a.bias is None or np.array_equal(a.bias, b.bias))


@pytest.mark.spec("4.1", "4.2")
def test_weights_are_consumed_in_the_cores_order():
    """wavenet_minimal-like: rechannel, conv (w then b), mixin, layer1x1 (w, b), head (w, b), head_scale."""
    obj = nam("WaveNet", {"layers": [layer_array(channels=1, dilations=[1], kernel=2, activation="ReLU")],
                          "head": None, "head_scale": 1.0})
    obj["weights"] = list(range(1, 11))  # 1 + (2+1) + 1 + (1+1) + (1+1) + 1
    net = from_json(obj).net
    a = net.arrays[0]
    layer = a.layers[0]
    assert a.rechannel.weight.ravel().tolist() == [1]
    assert layer.conv.weight.ravel().tolist() == [2, 3] and layer.conv.bias.tolist() == [4]
    assert layer.mixin.weight.ravel().tolist() == [5]
    assert layer.layer1x1.weight.ravel().tolist() == [6] and layer.layer1x1.bias.tolist() == [7]
    assert a.head.weight.ravel().tolist() == [8] and a.head.bias.tolist() == [9]
    assert net.head_scale == 10


@pytest.mark.spec("4.2", "12.1")
def test_head_scale_is_the_last_weight_not_the_config_value():
    obj = wavenet(head_scale=123.0)
    obj["weights"][-1] = 0.25
    assert from_json(obj).net.head_scale == 0.25


@pytest.mark.spec("4.1")
def test_grouped_conv_weight_layout():
    """Flat order is PyTorch's (out, in/groups, kernel); dense() expands groups block-diagonally."""
    obj = nam("WaveNet", {"layers": [layer_array(channels=4, dilations=[1], kernel=2, groups_input=2)],
                          "head": None, "head_scale": 1.0})
    obj = with_weights(obj)
    conv = from_json(obj).net.arrays[0].layers[0].conv
    flat = np.asarray(obj["weights"][4:4 + 16], np.float32)  # after the 4x1 rechannel
    assert np.array_equal(conv.weight.ravel(), flat)
    dense = conv.dense()
    assert dense.shape == (2, 4, 4)
    assert np.all(dense[:, :2, 2:] == 0) and np.all(dense[:, 2:, :2] == 0)
    assert dense[1, 2, 3] == conv.weight[2, 1, 1]  # out 2 is in group 1, its in-column 1 is input 3


@pytest.mark.spec("3.3")
def test_missing_sample_rate_assumes_48k_and_says_so():
    obj = wavenet()
    del obj["sample_rate"]
    m = from_json(obj)
    assert m.sample_rate == 48000 and m.sample_rate_assumed
    assert any("assuming 48000 Hz" in n for n in m.notes)


@pytest.mark.spec("3.2")
@pytest.mark.parametrize("version,ok", [("0.5.0", True), ("0.5.4", True), ("0.6.0", True), ("0.7.0", True),
                                        ("0.7.3", True), ("0.4.9", False), ("0.8.0", False), ("1.0.0", False),
                                        ("0.7", False), ("v0.7.0", False), (7, False)])
def test_version_rules(version, ok):
    obj = wavenet()
    obj["version"] = version
    if ok:
        m = from_json(obj)
        assert any("partial support" in n for n in m.notes) == (version == "0.7.3")
    else:
        with pytest.raises(ModelError, match="version"):
            from_json(obj)


def _mutated(mutate, base=None):
    obj = copy.deepcopy(base or wavenet())
    mutate(obj)
    return obj


def _layer(obj):
    return obj["config"]["layers"][0]


BAD = {
    "wrong weight count": (lambda o: o["weights"].pop(), r"weights: WaveNet config needs \d+ weights but the file has"),
    "nan weight": (lambda o: o["weights"].__setitem__(3, float("nan")), r"weights\[3\]: is not a finite float32"),
    "string weight": (lambda o: o["weights"].__setitem__(0, "1"), r"weights\[0\]: must be a number"),
    "huge weight": (lambda o: o["weights"].__setitem__(0, 1e39), r"weights\[0\]: is not a finite float32"),
    "unknown architecture": (lambda o: o.__setitem__("architecture", "Transformer"), r"architecture: unknown"),
    "unknown activation": (lambda o: _layer(o).__setitem__("activation", "Swish"),
                           r"config.layers\[0\].activation: unknown activation \"Swish\""),
    "missing key": (lambda o: o.pop("config"), r"config: required key is missing"),
    "bad dilation": (lambda o: _layer(o)["dilations"].__setitem__(1, -2),
                     r"config.layers\[0\].dilations\[1\]: must be an integer >= 1"),
    "both kernel keys": (lambda o: _layer(o).__setitem__("kernel_sizes", [3, 3]), "kernel_size or kernel_sizes"),
    "kernel_sizes length": (lambda o: (_layer(o).pop("kernel_size"), _layer(o).__setitem__("kernel_sizes", [3])),
                            r"kernel_sizes: has 1 entries but the array has 2 layers"),
    "gating mode": (lambda o: _layer(o).__setitem__("gating_mode", "gateded"), "gating_mode: must be one of"),
    "film true": (lambda o: _layer(o).__setitem__("conv_pre_film", True), r"conv_pre_film: must be an object"),
    "layer1x1 inactive bottleneck": (lambda o: _layer(o).update(layer1x1={"active": False, "groups": 1},
                                                                  bottleneck=2), "bottleneck: must equal channels"),
    "groups do not divide": (lambda o: _layer(o).__setitem__("groups_input", 2), "groups_input: 2 groups must divide"),
    "prelu slopes": (lambda o: _layer(o).__setitem__("activation", {"type": "PReLU", "negative_slopes": [0.1, 0.2]}),
                     "negative_slopes: has 2 slopes but is applied to 3 channels"),
    "input size chain": (lambda o: _layer(o).__setitem__("input_size", 2), r"input_size: is 2 but the model's input"),
    "slim method": (lambda o: _layer(o).__setitem__("slimmable", {"method": "magic"}), "unsupported slimming method"),
    "allowed channels end": (lambda o: _layer(o).__setitem__(
        "slimmable", {"method": "slice_channels_uniform", "kwargs": {"allowed_channels": [1, 2]}}),
        r"allowed_channels: must end at the array's channels \(3\)"),
    "allowed channels order": (lambda o: _layer(o).__setitem__(
        "slimmable", {"method": "slice_channels_uniform", "kwargs": {"allowed_channels": [2, 1, 3]}}),
        "must be strictly ascending"),
    "negative sample rate": (lambda o: o.__setitem__("sample_rate", -48000), "sample_rate: must be from 8000 to 384000 Hz"),
    "channels not integer": (lambda o: _layer(o).__setitem__("channels", 2.5), r"channels: must be an integer"),
}


@pytest.mark.spec("3.1", "3.4", "3.5", "3.6", "3.11")
@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_files_are_rejected_with_a_json_path(case):
    mutate, pattern = BAD[case]
    obj = _mutated(mutate)
    with pytest.raises(ModelError, match=pattern) as err:
        from_json(obj, source="bad.nam")
    assert str(err.value).startswith("bad.nam: ") and "\n" not in str(err.value)


@pytest.mark.spec("3.4", "3.10")
def test_container_rules():
    sub = wavenet()
    def container(*maxes):
        return nam("SlimmableContainer", {"submodels": [{"max_value": m, "model": sub} for m in maxes]})
    assert isinstance(from_json(container(0.5, 1.0)).net, Container)
    with pytest.raises(ModelError, match=r"submodels\[1\].max_value: must be greater than the previous"):
        from_json(container(0.5, 0.5))
    with pytest.raises(ModelError, match="the last max_value must be >= 1"):
        from_json(container(0.3, 0.9))
    bad = container(1.0)
    bad["weights"] = [1.0]
    with pytest.raises(ModelError, match="needs 0 weights but the file has 1"):
        from_json(bad)


@pytest.mark.spec("3.11")
def test_nesting_is_bounded():
    obj = wavenet()
    for _ in range(12):
        obj = nam("SlimmableContainer", {"submodels": [{"max_value": 1.0, "model": obj}]})
    with pytest.raises(ModelError, match="nested more than 8 deep"):
        from_json(obj)


@pytest.mark.spec("3.6")
def test_condition_dsp_rules():
    inner = wavenet(seed=3)
    obj = wavenet(condition_dsp=inner)
    assert isinstance(from_json(obj).net.condition.net, WaveNet)
    obj["config"]["condition_dsp"]["sample_rate"] = 44100
    with pytest.raises(ModelError, match="condition_dsp: sample rate 44100 Hz differs"):
        from_json(obj)


@pytest.mark.spec("3.1")
def test_text_level_errors(tmp_path):
    with pytest.raises(ModelError, match="invalid JSON at line 1"):
        loads("{not json", "x.nam")
    with pytest.raises(ModelError, match="not UTF-8"):
        loads(b'{"version": "\xff"}', "x.nam")
    with pytest.raises(ModelError, match="no such file"):
        load(tmp_path / "missing.nam")
    with pytest.raises(ModelError, match=r"\(top level\): must be an object"):
        loads("[1, 2]", "x.nam")


@pytest.mark.spec("3.7", "3.8", "4.3", "4.4")
def test_convnet_and_lstm_configs():
    m = from_json(convnet(batchnorm=True, dilations=(1, 2)))
    assert len(m.net.blocks) == 2 and m.net.blocks[0].bias is None and m.net.batchnorms is not None
    assert from_json(convnet()).net.blocks[0].bias is not None
    lstm = with_weights(nam("LSTM", {"input_size": 1, "hidden_size": 4, "num_layers": 2}))
    assert weights_needed(lstm) == (4 * 4 * 5 + 16 + 8) + (4 * 4 * 8 + 16 + 8) + 4 + 1
    assert from_json(lstm).net.hidden_size == 4
