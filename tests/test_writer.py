"""Writing .nam files (namx.writer) and the `nam` convert target: the inverse of the loader."""
import json
import subprocess
import sys

import numpy as np
import pytest
from builders import convnet, layer_array, nam, wavenet, with_weights
from conftest import shared_models

from namx import NamxError, load
from namx.loader import from_json
from namx.writer import dumps, save, to_json

MODELS = shared_models()


def _flat_weights(obj) -> list[np.ndarray]:
    """Every weights list in a .nam object (nested condition_dsp and submodels too), as float32."""
    out = [np.asarray(obj["weights"], np.float64).astype(np.float32)]
    for sub in obj["config"].get("submodels", []):
        out += _flat_weights(sub["model"])
    if obj["config"].get("condition_dsp"):
        out += _flat_weights(obj["config"]["condition_dsp"])
    return out


def assert_same_weights(a: dict, b: dict):
    wa, wb = _flat_weights(a), _flat_weights(b)
    assert len(wa) == len(wb)
    for x, y in zip(wa, wb):
        assert x.shape == y.shape and np.array_equal(x, y)


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
def test_writing_a_shared_model_keeps_every_weight_version_and_metadata(path):
    original = json.loads(path.read_text())
    written = json.loads(dumps(load(path)))
    assert_same_weights(original, written)
    assert written["version"] == original["version"]
    assert written["architecture"] == original["architecture"]
    assert written["metadata"] == (original.get("metadata") or {})
    assert written.get("sample_rate") == original.get("sample_rate")
    again = to_json(from_json(written))  # what the writer writes, it reads back unchanged
    assert json.loads(json.dumps(again)) == written


@pytest.mark.parametrize("obj", [
    convnet(batchnorm=True), convnet(groups=3, in_channels=3, activation={"type": "PReLU", "negative_slopes": [0.1, 0.2, 0.3]}),
    with_weights(nam("Linear", {"receptive_field": 5, "bias": True})),
    with_weights(nam("LSTM", {"input_size": 1, "hidden_size": 3, "num_layers": 2})),
    wavenet([layer_array(channels=4, kernel=2, gating_mode=["gated", "none"], secondary_activation=["Sigmoid", None],
                         head1x1={"active": True, "out_channels": 2, "groups": 2}, layer1x1={"active": False, "groups": 1},
                         conv_pre_film={"active": True, "shift": False, "groups": 1},
                         head={"out_channels": 1, "kernel_size": 3, "bias": False, "head_dilation": 2})]),
], ids=["convnet-bn", "convnet-groups-prelu", "linear", "lstm", "wavenet-features"])
def test_synthetic_models_round_trip(obj):
    written = to_json(from_json(obj))
    assert_same_weights(obj, written)
    assert to_json(from_json(written)) == written


def test_a_slimmable_model_is_written_as_version_0_7_0_at_least():
    obj = wavenet([layer_array(channels=4, slimmable={"method": "slice_channels_uniform",
                                                      "kwargs": {"allowed_channels": [2, 4]}})])
    obj["version"] = "0.6.0"
    assert to_json(from_json(obj))["version"] == "0.7.0"


def test_save_is_atomic_and_refuses_to_overwrite(tmp_path):
    model = from_json(wavenet())
    path = save(model, tmp_path / "m.nam")
    assert load(path).net.arrays[0].channels == 3
    with pytest.raises(NamxError, match="already exists"):
        save(model, path)
    with pytest.raises(NamxError, match="must end in .nam"):
        save(model, tmp_path / "m.json")
    save(model, path, force=True)
    assert [p.name for p in tmp_path.iterdir()] == ["m.nam"]


def namx(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "namx", *map(str, args)], capture_output=True, text=True, cwd=cwd)


def test_convert_to_nam_at_one_width_writes_the_sliced_plain_model(shared, tmp_path):
    src = shared / "models/slimmable/wavenet_sliced_c8_w2468.nam"
    r = namx("convert", src, "--to", "nam", "--width", "4", "-o", tmp_path / "w4.nam")
    assert r.returncode == 0, r.stderr
    written, expected = load(tmp_path / "w4.nam"), load(src).at("4")
    assert [lv.label for lv in written.widths()] == ["4"]
    assert_same_weights(to_json(written), to_json(expected))
    r = namx("convert", src, "--to", "nam", "--width", "5", "-o", tmp_path / "w5.nam")
    assert r.returncode == 2 and "offers 2, 4, 6, 8" in r.stderr and not (tmp_path / "w5.nam").exists()
    r = namx("convert", src, "--to", "nam", "--block-size", "64", "-o", tmp_path / "x.nam")
    assert r.returncode == 2 and "takes no --block-size" in r.stderr


def test_convert_to_nam_never_overwrites_its_input(tmp_path):
    (tmp_path / "m.nam").write_text(json.dumps(wavenet()))
    r = namx("convert", "m.nam", "--to", "nam", cwd=tmp_path)
    assert r.returncode == 2 and "would overwrite the input" in r.stderr


# ---- the source's form (NeuralAmpModelerCore recognises A2 by its config's form: spec §3.12) -----

SLICED = "models/slimmable/wavenet_sliced_c8_w2468.nam"


@pytest.mark.spec("3.12")
@pytest.mark.parametrize("index, width", [(0, "3"), (1, "8")])
def test_a_container_width_is_written_exactly_as_the_submodel(tmp_path, index, width):
    from namx.bundled import path
    from namx.cli import main
    out = tmp_path / "w.nam"
    assert main(["convert", "A2", "--to", "nam", "--width", width, "-o", str(out)]) == 0
    sub = json.loads(path("A2").read_text())["config"]["submodels"][index]["model"]
    written = json.loads(out.read_text())
    assert json.dumps(written["config"]) == json.dumps(sub["config"])  # same keys, order, spelling
    assert written["weights"] == sub["weights"]
    assert isinstance(written["config"]["layers"][0]["activation"], list)  # the 23-entry list A2 has
    assert written["version"] == sub["version"] and written["sample_rate"] == sub["sample_rate"]


def test_an_unchanged_model_is_written_as_its_file(shared):
    for p in shared_models():
        source = json.loads(p.read_text())
        written = to_json(load(p))
        assert json.dumps(written["config"]) == json.dumps(source["config"]), p
        assert written["weights"] == source["weights"], p


def _sliced_widths(shared, tmp_path):
    from namx.cli import main
    src = shared / SLICED
    model = load(src)
    out = {}
    for lv in model.widths():
        p = tmp_path / f"w{lv.label}.nam"
        assert main(["convert", str(src), "--to", "nam", "--width", lv.label, "-o", str(p)]) == 0
        out[lv.label] = (json.loads(p.read_text()), model.at(lv))
    return json.loads(src.read_text()), out


@pytest.mark.spec("3.12")
def test_a_channel_sliced_width_keeps_the_source_form_and_is_the_sliced_model(shared, tmp_path):
    from namx.writer import _generated
    source, widths = _sliced_widths(shared, tmp_path)
    src_layer = source["config"]["layers"][0]
    for label, (written, model) in widths.items():
        layer = written["config"]["layers"][0]
        assert layer["activation"] == src_layer["activation"] and layer["gating_mode"] == src_layer["gating_mode"]
        assert layer["channels"] == layer["bottleneck"] == int(label) and layer["slimmable"] is None
        changed = {k for k in src_layer if src_layer[k] != layer[k]}
        assert changed == ({"channels", "bottleneck", "slimmable"} if label != "8" else {"slimmable"})
        assert _generated(from_json(written)) == _generated(model)  # the sliced weights, exactly


def test_a_channel_sliced_width_is_what_the_nam_trainer_exports(shared, tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("nam.models")
    from nam.models._from_nam import init_from_nam
    _, widths = _sliced_widths(shared, tmp_path)
    for label, (written, _) in widths.items():
        # (the config part of the trainer's export; its full export also measures loudness, slowly)
        exported = init_from_nam(json.loads(json.dumps(written)))._export_config()
        assert exported == written["config"], label


@pytest.mark.spec("3.12")
def test_a_changed_model_is_not_written_in_its_stale_source_form():
    from dataclasses import replace

    from namx.bundled import load_model
    a2 = load_model("A2").at("3")
    arrays = a2.net.arrays
    head = arrays[0].head
    changed = replace(a2, net=replace(a2.net, arrays=(replace(arrays[0], head=replace(head, bias=head.bias + 1)),)))
    written = to_json(changed)
    assert written["weights"] != a2.raw["weights"]
    assert np.array_equal(from_json(written).net.arrays[0].head.bias, head.bias + 1)
