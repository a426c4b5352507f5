"""Streaming rules (spec: streaming): block-size invariance, initial state, the width-change rule."""
import numpy as np
import pytest
from builders import convnet, layer_array, wavenet
from conftest import stream

from namx import WidthError, load
from namx.bundled import load_model
from namx.loader import from_json
from namx.runtimes.numpy_ref import NumpyStreamer
from namx.signals import mix

MIX = mix()
# ~3.6k samples touching every segment kind: impulse, sweep, noise, guitar, square edge.
EXCERPT = np.concatenate([MIX[4790:4900], MIX[9600:10600], MIX[30000:31000], MIX[43200:44200], MIX[72000:72500]])
PARTITIONS = {
    "1": [1], "7": [7], "64": [64], "2048": [2048],
    "random": list(np.random.default_rng(7).integers(1, 300, 64)),
}


def _models(shared):
    ex = "models/real/NeuralAmpModelerCore/example_models/"
    out = {
        "A2": load_model("example"),
        "a2_max": load(shared / ex / "wavenet_a2_max.nam"),
        "lstm": load(shared / ex / "lstm.nam"),
        "sliced": load(shared / ex / "slimmable_wavenet.nam"),
        "post_head": load(shared / "models/synthetic/nam-rs/post_stack_head.nam"),
        "conv_head": load(shared / "models/synthetic/nam-rs/conv_head.nam"),
        "linear10": load(shared / "models/real/neural-amp-modeler/tests/resources/models/identity/linear_10.nam"),
        "convnet": from_json(convnet(batchnorm=True)),
    }
    return out


@pytest.fixture(scope="module")
def models(shared):
    return _models(shared)


@pytest.mark.spec("7.2", "11.1")
@pytest.mark.parametrize("name", ["A2", "a2_max", "lstm", "sliced", "post_head", "conv_head", "linear10", "convnet"])
def test_block_size_invariance(models, name):
    """Any partition of the input gives the same output (float64: to 1e-12)."""
    model = models[name]
    for level in model.widths():
        whole = NumpyStreamer(model, level.label).process(EXCERPT)
        for label, blocks in PARTITIONS.items():
            y = stream(NumpyStreamer(model, level.label), EXCERPT, blocks)
            assert np.max(np.abs(y - whole)) <= 1e-12, f"{name} width {level.label} blocks {label}"


@pytest.mark.spec("7.1")
def test_initial_state_is_the_prewarmed_steady_state():
    """After reset the model sits in its silence steady state: zeros in give a constant out."""
    model = from_json(wavenet([layer_array(channels=4, dilations=(1, 2, 4, 8))]))
    s = NumpyStreamer(model)
    y = s.process(np.zeros(64))
    assert np.ptp(y) < 1e-15 and abs(y[0]) > 1e-6  # biases make it non-zero, but it does not move


@pytest.mark.spec("7.1")
def test_reset_restores_the_initial_state(models):
    s = NumpyStreamer(models["a2_max"])
    first = s.process(EXCERPT)
    s.process(np.random.default_rng(0).standard_normal(500))
    s.reset()
    assert np.array_equal(s.process(EXCERPT), first)


@pytest.mark.spec("7.3", "11.1")
@pytest.mark.parametrize("name", ["A2", "sliced"])
def test_width_change_starts_the_new_width_from_its_initial_state(models, name):
    """Spec rule: a width change takes effect at the next block; the new width starts from its own
    initial state. So switching at sample k equals a fresh run of the new width on x[k:]."""
    model = models[name]
    labels = [lv.label for lv in model.widths()]
    a, b = labels[-1], labels[0]
    k = 1024
    s = NumpyStreamer(model, a)
    y1 = stream(s, EXCERPT[:k], [100])
    s.width = b
    y2 = stream(s, EXCERPT[k:], [100])
    fresh_a = NumpyStreamer(model, a).process(EXCERPT[:k])
    fresh_b = NumpyStreamer(model, b).process(EXCERPT[k:])
    assert np.max(np.abs(np.concatenate([y1, y2]) - np.concatenate([fresh_a, fresh_b]))) <= 1e-12
    # switching back: the old width restarts from its initial state, not where it stopped
    s.width = a
    assert np.max(np.abs(s.process(EXCERPT[:300]) - NumpyStreamer(model, a).process(EXCERPT[:300]))) <= 1e-12


@pytest.mark.spec("7.3")
def test_setting_the_active_width_again_changes_nothing(models):
    s = NumpyStreamer(models["A2"], "8")
    y1 = s.process(EXCERPT[:500])
    s.width = "8"
    s.set_width(slim=0.9)  # also width 8
    y2 = s.process(EXCERPT[500:1000])
    whole = NumpyStreamer(models["A2"], "8").process(EXCERPT[:1000])
    assert np.max(np.abs(np.concatenate([y1, y2]) - whole)) <= 1e-12


@pytest.mark.spec("6.2")
def test_width_not_offered_lists_the_offered_widths(models):
    with pytest.raises(WidthError, match=r"width 6 is not offered; this model offers 3, 8"):
        NumpyStreamer(models["A2"], "6")
    s = NumpyStreamer(models["A2"])
    with pytest.raises(WidthError, match="offers 3, 8"):
        s.width = 5


@pytest.mark.spec("8.1")
def test_float32_mode_computes_in_float32(models):
    y = NumpyStreamer(models["A2"], precision="float32").process(EXCERPT[:256])
    assert y.dtype == np.float32
    y64 = NumpyStreamer(models["A2"]).process(EXCERPT[:256])
    assert y64.dtype == np.float64 and np.max(np.abs(y - y64)) < 1e-5


def test_blocks_must_be_one_dimensional_and_non_empty(models):
    s = NumpyStreamer(models["A2"])
    for bad in (np.zeros(0), np.zeros((2, 3)), np.array(["a"])):
        with pytest.raises(Exception, match="block must"):
            s.process(bad)


def test_a_runtime_converts_a_model_once_per_width(monkeypatch):
    """Streamers opened again (the conformance suite opens one per stream) reuse the model's
    conversion (runtimes.base.converted); another model object is converted anew."""
    import namx.runtimes.onnx_runtime as ort_runtime
    from namx.runtimes import open_streamer
    from namx.runtimes.base import forget_conversions
    calls = []
    real = ort_runtime.export
    monkeypatch.setattr(ort_runtime, "export", lambda model, width=None: calls.append(width) or real(model, width))
    model, x = load_model("A2"), MIX[4790:4900].astype(np.float32)
    outputs = [open_streamer("onnxruntime", model, "3").process(x) for _ in range(3)]
    assert calls == ["3"] and all(np.array_equal(outputs[0], y) for y in outputs)
    open_streamer("onnxruntime", model, "8")
    open_streamer("onnxruntime", load_model("A2"), "3")
    assert calls == ["3", "8", "3"]
    forget_conversions(model)  # (the conformance suite, done with a model)
    open_streamer("onnxruntime", model, "3")
    assert calls == ["3", "8", "3", "3"]
