"""Spec rules the other test modules do not reach: unknown keys, metadata, float32 rounding, mono
runtimes, container widths, prewarm counts and the tolerance classes."""
import copy
import json

import numpy as np
import pytest
from builders import convnet, layer_array, nam, wavenet, with_weights
from conftest import GOLDEN, golden_id

from namx import NamxError, load
from namx.loader import from_json, loads
from namx.metrics import esr_db, max_abs_error, tolerance
from namx.runtimes.numpy_ref import NumpyStreamer
from namx.stats import prewarm_samples

X = np.random.default_rng(11).uniform(-1, 1, 1500)


def _output(obj, width=None):
    return NumpyStreamer(from_json(obj), width).process(X)


def _with_unknown_keys(obj):
    """Unknown keys at every level: top, config, layer arrays, activations, FiLMs, heads, submodels."""
    obj = copy.deepcopy(obj)
    obj["x_vendor"] = {"anything": [1, 2]}
    obj["config"]["x_comment"] = "ignored"
    for la in obj["config"].get("layers", []):
        la["x_note"] = 3
        la["head"]["x_note"] = True
        if isinstance(la["activation"], dict):
            la["activation"]["x_note"] = "ignored"
        for key in la:
            if key.endswith("_film") and isinstance(la[key], dict):
                la[key]["x_note"] = 1
    for entry in obj["config"].get("submodels", []):
        entry["x_note"] = None
        entry["model"] = _with_unknown_keys(entry["model"])
    return obj


@pytest.mark.spec("3.1")
def test_unknown_keys_are_ignored_at_every_level():
    film = {"active": True, "shift": True, "groups": 1}
    la = layer_array(channels=3, dilations=(1, 2), activation={"type": "LeakyReLU", "negative_slope": 0.2},
                     conv_post_film=film)
    plain = wavenet([la])
    assert np.array_equal(_output(_with_unknown_keys(plain)), _output(plain))
    container = nam("SlimmableContainer", {"submodels": [{"max_value": 0.5, "model": wavenet(seed=1)},
                                                         {"max_value": 1.0, "model": plain}]})
    for width in ("i0", "i1"):
        assert np.array_equal(_output(_with_unknown_keys(container), width), _output(container, width))


@pytest.mark.spec("3.3")
def test_metadata_never_changes_the_output():
    obj = wavenet()
    quiet = copy.deepcopy(obj)
    obj["metadata"] = {"loudness": -3.0, "input_level_dbu": 12.0, "output_level_dbu": 20.0, "gain": 0.9}
    quiet["metadata"] = {"loudness": -40.0, "input_level_dbu": None}
    assert np.array_equal(_output(obj), _output(quiet))


@pytest.mark.spec("3.3")
def test_null_sample_rate_is_unknown_and_runs_as_48k():
    obj = with_weights(nam("LSTM", {"input_size": 1, "hidden_size": 2, "num_layers": 1}, sample_rate=None))
    obj["sample_rate"] = None
    model = from_json(obj)
    assert model.sample_rate == 48000 and model.sample_rate_assumed
    assert prewarm_samples(model) == 24000


@pytest.mark.spec("3.4")
def test_weights_round_through_binary64_to_float32():
    """1 + 2^-24 + 1e-20 rounds to float32 1.0 via binary64 (a tie, to even), as the core reads it;
    rounding the decimal straight to float32 would give 1 + 2^-23."""
    obj = nam("Linear", {"receptive_field": 2, "bias": False})
    text = json.dumps(obj).replace('"weights": []', '"weights": [1.00000005960464477580, 0.1]')
    taps = loads(text).net.taps
    assert taps.dtype == np.float32
    assert taps[0] == np.float32(1.0) and taps[1] == np.float32(0.1)


@pytest.mark.spec("3.4", "3.10")
def test_container_weights_must_be_empty():
    obj = nam("SlimmableContainer", {"submodels": [{"max_value": 1.0, "model": wavenet()}]})
    obj["weights"] = [0.0]
    with pytest.raises(NamxError, match="SlimmableContainer config needs 0 weights but the file has 1"):
        from_json(obj)


@pytest.mark.spec("5.10")
def test_a_mono_runtime_rejects_other_channel_counts_with_a_clear_error():
    stereo_out = from_json(wavenet([layer_array(channels=2, head_size=2)]))
    with pytest.raises(NamxError, match="1 input and 2 output channels; namx streams mono"):
        NumpyStreamer(stereo_out)
    two_in = from_json(with_weights(nam("LSTM", {"input_size": 2, "in_channels": 2, "hidden_size": 2,
                                                 "num_layers": 1})))
    with pytest.raises(NamxError, match="2 input and 1 output channels"):
        NumpyStreamer(two_in)


@pytest.mark.spec("6.4")
def test_a_container_width_runs_its_submodel_at_the_widest_level():
    sliced = wavenet([layer_array(channels=4, dilations=(1, 2), slimmable={
        "method": "slice_channels_uniform", "kwargs": {"allowed_channels": [2, 4]}})], seed=3)
    container = from_json(nam("SlimmableContainer", {"submodels": [{"max_value": 0.5, "model": wavenet(seed=1)},
                                                                  {"max_value": 1.0, "model": sliced}]}))
    assert [lv.label for lv in container.widths()] == ["3", "4"]  # one per submodel, not the sliced 2
    widest = from_json(sliced).at("4")
    assert np.array_equal(NumpyStreamer(container, "4").process(X), NumpyStreamer(widest).process(X))


@pytest.mark.spec("7.1")
def test_prewarm_counts():
    def wn(**extra):
        return from_json(wavenet([layer_array(channels=2, dilations=(1, 4), kernel=3)], **extra))
    assert prewarm_samples(wn()) == 1 + 2 * 1 + 2 * 4
    headed = wavenet([{**layer_array(channels=2, dilations=(1, 4), kernel=3, head_size=2),
                       "head": {"out_channels": 2, "kernel_size": 3, "bias": True, "head_dilation": 5}}],
                     head={"channels": 2, "out_channels": 1, "kernel_sizes": [4, 2], "activation": "Tanh"})
    assert prewarm_samples(from_json(headed)) == 1 + 10 + (3 - 1) * 5 + (4 - 1) + (2 - 1)
    lstm_cond = with_weights(nam("LSTM", {"input_size": 1, "hidden_size": 2, "num_layers": 1}, sample_rate=44100))
    conditioned = with_weights(nam("WaveNet", {"layers": [layer_array(channels=2, dilations=(1, 4), kernel=3)],
                                               "head_scale": 1.0, "condition_dsp": lstm_cond}, sample_rate=44100))
    assert prewarm_samples(from_json(conditioned)) == 22050 + 10
    assert prewarm_samples(from_json(convnet(dilations=(1, 2, 8)))) == 1 + 11
    linear = with_weights(nam("Linear", {"receptive_field": 7, "bias": True}))
    assert prewarm_samples(from_json(linear)) == 0


@pytest.mark.spec("7.1")
def test_the_initial_state_is_the_state_after_the_prewarm():
    """Reset state == zero state + prewarm zeros: so a fresh stream equals a zero-started stream
    fed the prewarm zeros first (here a Linear model's 0 and a ConvNet's 1 + sum of dilations)."""
    from namx.runtimes.numpy_ref import ModelRunner
    for obj in (convnet(dilations=(1, 2, 4)), with_weights(nam("Linear", {"receptive_field": 5, "bias": True}))):
        model = from_json(obj)
        cold = ModelRunner(model)
        cold.net.zero()
        n = prewarm_samples(model)
        y_cold = cold.net.process(np.concatenate([np.zeros(n), X])[None, :])[0, n:]
        assert np.max(np.abs(NumpyStreamer(model).process(X) - y_cold)) < 1e-12


@pytest.mark.spec("8.3")
@pytest.mark.parametrize("entry", GOLDEN, ids=golden_id)
def test_tolerance_classes_are_the_corpus_bounds(entry):
    for precision in ("float32", "float64"):
        esr, mx = tolerance(entry["float64_esr_db"], entry["float64_max_abs"], entry["peak"], precision)
        assert esr == pytest.approx(entry[f"tol_esr_db_{precision}"], abs=0.011)
        assert mx == pytest.approx(entry[f"tol_max_abs_{precision}"], rel=0.01)


@pytest.mark.spec("8.2", "8.3")
def test_the_bounds_reject_an_error_of_1e_minus_3(shared, golden_input):
    """A runtime off by 1e-3 fails the float32 class on a real A2 output."""
    entry = next(e for e in GOLDEN if e["model"].endswith("A2.nam") and e["width_label"] == "8")
    ref = np.load(shared / "golden" / entry["output"]).astype(np.float64)
    y = NumpyStreamer(load(shared / entry["model"]), "8").process(golden_input)
    bounds = tolerance(entry["float64_esr_db"], entry["float64_max_abs"], entry["peak"], "float32")
    assert esr_db(y, ref) <= bounds[0] and max_abs_error(y, ref) <= bounds[1]
    off = y + 1e-3
    assert esr_db(off, ref) > bounds[0] and max_abs_error(off, ref) > bounds[1]


MULTI_WIDTH = sorted({e["model"] for e in GOLDEN if e["num_levels"] > 1})


@pytest.mark.spec("7.3", "11.1")
@pytest.mark.parametrize("rel", MULTI_WIDTH)
def test_width_changes_on_every_multi_width_corpus_model(rel, shared):
    """Level 3: switching widths mid-stream, in both directions, restarts the new width from its
    initial state, on every corpus model that offers several widths."""
    from conftest import stream
    model = load(shared / rel)
    labels = [lv.label for lv in model.widths()]
    k = 700
    for a, b in zip(labels, labels[1:] + labels[:1]):  # each level to the next, the last back to the first
        s = NumpyStreamer(model, a)
        y1 = stream(s, X[:k], [64])
        s.width = b
        y2 = stream(s, X[k:], [64])
        expected = np.concatenate([NumpyStreamer(model, a).process(X[:k]), NumpyStreamer(model, b).process(X[k:])])
        assert np.max(np.abs(np.concatenate([y1, y2]) - expected)) <= 1e-12, f"{a} -> {b}"
