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
