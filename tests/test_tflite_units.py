"""Each architecture and feature, as TFLite ops, computes what the NumPy reference computes (spec §5, §10).

Synthetic models cover what the golden corpus does not: every activation, layer1x1 off, head
kernels > 1 with head_dilation, an LSTM as condition_dsp, multi-layer LSTMs, ConvNet with and
without batchnorm, Linear with a bias. Each runs in LiteRT (XNNPACK and reference kernels) and in
TFLM against the float64 reference, with blocks that exercise the remainder models.
"""
import numpy as np
import pytest
from builders import convnet, layer_array, nam, wavenet, with_weights
from conftest import stream

from namx.activations import ACTIVATIONS
from namx.loader import from_json
from namx.runtimes import open_streamer
from namx.runtimes.numpy_ref import NumpyStreamer
from namx.signals import mix

_MIX = mix(48000.0)
X = np.concatenate([_MIX[4790:4900], _MIX[28800:30800], _MIX[72000:72500]])  # impulse, noise, full-scale square
BLOCKS = [64, 13, 64, 1, 200]


def _film(shift=True):
    return {"active": True, "shift": shift, "groups": 1}


def _close(model, runtime, **options):
    ref = NumpyStreamer(model).process(X)
    y = stream(open_streamer(runtime, model, **options), X, BLOCKS)
    bound = 1e-5 * float(np.max(np.abs(ref)))  # relative: some of these models are quiet
    err = np.max(np.abs(y - ref))
    assert err <= bound, f"{runtime} {options}: max|err| {err:.2e} > {bound:.1e}"


def _check(obj):
    model = from_json(obj)
    _close(model, "litert")
    _close(model, "litert", kernels="reference", state="io")
    _close(model, "tflm")


ACTIVATION_CONFIGS = {name: name for name in ACTIVATIONS}
ACTIVATION_CONFIGS["PReLU"] = {"type": "PReLU", "negative_slopes": [0.1, -0.2, 0.3]}
ACTIVATION_CONFIGS["PReLU scalar"] = {"type": "PReLU", "negative_slope": 0.2}
ACTIVATION_CONFIGS["LeakyHardtanh"] = {"type": "LeakyHardtanh", "min_val": -0.5, "max_val": 0.7,
                                       "min_slope": 0.1, "max_slope": 0.2}


@pytest.mark.parametrize("name", sorted(ACTIVATION_CONFIGS))
def test_every_activation(name):
    la = layer_array(channels=3, dilations=(1, 4), kernel=3, activation=ACTIVATION_CONFIGS[name])
    _check(wavenet([la], seed=1, head_scale=2.0))


FEATURES = {
    "gated": dict(gating_mode="gated", secondary_activation="Sigmoid"),
    "blended": dict(gating_mode="blended", secondary_activation="Hardswish"),
    "every film": dict(gating_mode="blended", **{slot: _film(shift) for slot, shift in (
        ("conv_pre_film", True), ("conv_post_film", False), ("input_mixin_pre_film", True),
        ("input_mixin_post_film", True), ("activation_pre_film", False), ("activation_post_film", True),
        ("layer1x1_post_film", True), ("head1x1_post_film", True))},
        head1x1={"active": True, "out_channels": 2, "groups": 1}),
    "layer1x1_post_film ignored unless blended": dict(gating_mode="gated", layer1x1_post_film=_film()),
    "groups and bottleneck": dict(channels=4, bottleneck=2, groups_input=2, groups_input_mixin=1),
    "layer1x1 off": dict(layer1x1={"active": False, "groups": 1}),
    "head kernel and dilation": dict(head={"out_channels": 1, "kernel_size": 3, "bias": True, "head_dilation": 5}),
}


@pytest.mark.parametrize("name", sorted(FEATURES))
def test_wavenet_features(name):
    extra = dict(FEATURES[name])
    la = layer_array(**{"channels": 3, "dilations": (1, 3), "kernel": 3, **extra})
    _check(wavenet([la], seed=2))


def test_two_arrays_and_a_post_stack_head():
    arrays = [layer_array(channels=3, dilations=(1, 2), head_size=2),
              layer_array(channels=2, input_size=3, dilations=(4,))]
    head = {"channels": 3, "out_channels": 1, "kernel_sizes": [3, 1], "activation": "Tanh"}
    _check(wavenet(arrays, seed=3, head=head))


def test_lstm_as_condition_dsp():
    inner = with_weights(nam("LSTM", {"input_size": 1, "hidden_size": 2, "num_layers": 1}), seed=5)
    _check(wavenet([layer_array(channels=2, dilations=(1, 2))], seed=4, condition_dsp=inner))


@pytest.mark.parametrize("layers", [1, 2])
def test_lstm(layers):
    _check(with_weights(nam("LSTM", {"input_size": 1, "hidden_size": 4, "num_layers": layers}), seed=6, scale=0.5))


@pytest.mark.parametrize("batchnorm", [False, True])
def test_convnet(batchnorm):
    _check(convnet(channels=3, dilations=(1, 2, 8), batchnorm=batchnorm, activation="LeakyReLU"))


def test_linear_with_bias():
    _check(with_weights(nam("Linear", {"receptive_field": 5, "bias": True}), seed=7))
