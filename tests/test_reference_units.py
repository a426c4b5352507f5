"""Reference semantics the golden corpus does not reach, checked against direct computations."""
import numpy as np
import pytest
from builders import convnet, layer_array, nam, wavenet, with_weights

from namx.loader import from_json
from namx.runtimes.numpy_ref import NumpyStreamer
from namx.stats import prewarm_samples, receptive_field

X = np.random.default_rng(5).uniform(-1, 1, 3000)


def _wavenet_1ch(layer1x1_active: bool, n_layers=2):
    la = layer_array(channels=1, dilations=[1] * n_layers, kernel=1, activation="ReLU",
                     layer1x1={"active": layer1x1_active, "groups": 1})
    obj = nam("WaveNet", {"layers": [la], "head": None, "head_scale": 1.0})
    per_layer = [1.0, 0.0, 0.0] + ([1.0, 0.0] if layer1x1_active else [])  # conv w, b; mixin; 1x1 w, b
    obj["weights"] = [1.0] + per_layer * n_layers + [1.0, 0.0, 1.0]  # rechannel, layers, head w, b, scale
    return from_json(obj)


@pytest.mark.spec("5.4", "12.1")
def test_layer1x1_inactive_passes_the_input_through():
    """Core: with layer1x1 inactive the residual output is the layer input (the trainer adds the
    activation instead; the spec follows the core)."""
    r = np.maximum(X, 0)
    y_inactive = NumpyStreamer(_wavenet_1ch(False)).process(X)
    assert np.allclose(y_inactive, 2 * r, atol=1e-15)  # both layers see x
    y_active = NumpyStreamer(_wavenet_1ch(True)).process(X)
    assert np.allclose(y_active, r + np.maximum(X + r, 0), atol=1e-15)


def _causal(x, w, b, d):
    """Direct causal dilated conv on a whole signal from zero history: w (out, in, K)."""
    out, _, k = w.shape
    y = np.zeros((out, x.shape[1]))
    for tap in range(k):
        shift = d * (k - 1 - tap)
        xs = np.pad(x, ((0, 0), (shift, 0)))[:, :x.shape[1]]
        y += w[:, :, tap] @ xs
    return y if b is None else y + b[:, None]


@pytest.mark.spec("5.7", "7.1")
@pytest.mark.parametrize("batchnorm", [False, True])
def test_convnet_matches_a_direct_whole_signal_computation(batchnorm):
    obj = convnet(channels=3, dilations=(1, 2, 4), batchnorm=batchnorm, activation="Tanh")
    model = from_json(obj)
    n = prewarm_samples(model)
    assert n == 1 + 1 + 2 + 4 and receptive_field(model) == 8
    x = np.concatenate([np.zeros(n), X])[None, :]
    for i, conv in enumerate(model.net.blocks):
        x = _causal(x, conv.dense().transpose(1, 2, 0).astype(np.float64), conv.bias, conv.dilation)
        if batchnorm:
            bn = model.net.batchnorms[i]
            scale = bn.weight / np.sqrt(np.float64(bn.eps) + bn.var)
            x = x * scale[:, None] + (bn.bias - scale * bn.mean)[:, None]
        x = np.tanh(x)
    expected = (model.net.head_w @ x + model.net.head_b[:, None])[0, n:]
    assert np.max(np.abs(NumpyStreamer(model).process(X) - expected)) < 1e-6


@pytest.mark.spec("5.8", "12.1")
def test_linear_uses_the_cores_tap_order():
    obj = nam("Linear", {"receptive_field": 3, "bias": True})
    obj["weights"] = [0.0, 1.0, 0.0, 0.5]  # taps[1] multiplies x[t-1]
    y = NumpyStreamer(from_json(obj)).process(X)
    assert np.allclose(y, np.concatenate([[0.0], X[:-1]]) + 0.5)


@pytest.mark.spec("5.6", "7.1")
def test_lstm_matches_pytorch_equations_from_the_prewarmed_state():
    obj = with_weights(nam("LSTM", {"input_size": 1, "hidden_size": 3, "num_layers": 1}), seed=4)
    model = from_json(obj)
    cell = model.net.cells[0]
    h, c = cell.h0.astype(np.float64), cell.c0.astype(np.float64)
    ys = []
    for x in np.concatenate([np.zeros(24000), X[:200]]):  # 0.5 s of prewarm at 48 kHz
        g = cell.w @ np.concatenate([[x], h]) + cell.b
        i, f, gg, o = 1 / (1 + np.exp(-g[:3])), 1 / (1 + np.exp(-g[3:6])), np.tanh(g[6:9]), 1 / (1 + np.exp(-g[9:]))
        c = f * c + i * gg
        h = o * np.tanh(c)
        ys.append(model.net.head_w @ h + model.net.head_b)
    expected = np.array(ys)[24000:, 0]
    assert np.max(np.abs(NumpyStreamer(model).process(X[:200]) - expected)) < 1e-12


@pytest.mark.spec("5.5", "7.1")
def test_post_stack_head_applies_the_activation_before_every_conv():
    obj = wavenet([layer_array(channels=2, dilations=(1,), head_size=2)], seed=9,
                  head={"channels": 2, "out_channels": 1, "kernel_sizes": [2, 1], "activation": "ReLU"})
    model = from_json(obj)
    net = model.net
    # run the stack alone (post head removed) and apply the head by hand
    from dataclasses import replace
    bare = replace(model, net=replace(net, post_head=None))
    assert prewarm_samples(model) == prewarm_samples(bare) + 1
    n = prewarm_samples(model)
    xin = np.concatenate([np.zeros(n), X])
    from namx.runtimes.numpy_ref import ModelRunner
    stack = ModelRunner(bare)
    stack.net.zero()
    y = stack.net.process(xin[None, :])
    for conv in net.post_head.convs:
        y = _causal(np.maximum(y, 0), conv.dense().transpose(1, 2, 0).astype(np.float64), conv.bias, 1)
    assert np.max(np.abs(NumpyStreamer(model).process(X) - y[0, n:])) < 1e-12


def test_every_architecture_has_a_reference_runner():
    """RUNNERS covers every IR network type (namx.model.Net): removing an entry fails here."""
    import typing

    import namx.model
    from namx.reference import RUNNERS
    assert set(typing.get_args(namx.model.Net)) <= set(RUNNERS)


@pytest.mark.spec("6.4")
def test_a_container_runs_its_widest_submodel():
    from namx.bundled import load_model
    from namx.reference import ModelRunner, initial_state
    model = load_model("example")
    container, widest = ModelRunner(model), ModelRunner(model.at())
    container.reset(), widest.reset()
    assert np.array_equal(container.process(X[:500]), widest.process(X[:500]))
    assert list(initial_state(model)) == list(initial_state(model.at()))


@pytest.mark.spec("7.1", "9.2", "10.5")
def test_every_binding_carries_the_reference_initial_state():
    """One source of the initial state: the ONNX graph and the TFLite file carry namx.reference's,
    cast to float32. A folded ONNX conv's extra leading rows (the condition signal) hold zeros."""
    from namx.converters.onnx import export
    from namx.converters.onnx import initial_state as onnx_state
    from namx.converters.tflite.export import tensor_state
    from namx.reference import initial_state
    conditioned = wavenet([layer_array(channels=3)], condition_dsp=wavenet([layer_array(channels=2)], seed=5))
    lstm = with_weights(nam("LSTM", {"num_layers": 2, "input_size": 1, "hidden_size": 3}, sample_rate=8000))
    for obj in (conditioned, convnet(), lstm):
        model = from_json(obj)
        ref = {n: np.asarray(v, np.float32) for n, v in initial_state(model).items()}
        graph, tflite = onnx_state(export(model)), tensor_state(model)
        assert set(graph) == {"state.level", *(f"state.{n}" for n in ref)} and list(tflite) == list(ref)
        for name, v in ref.items():
            rows = graph[f"state.{name}"][0]
            extra = rows.shape[0] - (v.shape[0] if v.ndim == 2 else 1)
            assert np.array_equal(rows[extra:], v.reshape(-1, rows.shape[1])) and not rows[:extra].any()
            assert np.array_equal(tflite[name][0, :, 0].T if v.ndim == 2 else tflite[name][0], v)
