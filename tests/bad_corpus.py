"""A corpus of invalid .nam files: small valid models, each broken in one way.

Every case names the JSON path and the message `namx validate` must report, and whether the JSON
Schema alone catches it ("schema") or only the checks between values do ("semantic").
`python tests/bad_corpus.py DIR` writes the corpus as DIR/<case>.nam files.
"""
from __future__ import annotations

import copy
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from builders import convnet, layer_array, nam, wavenet, with_weights

from namx.spec import SCHEMA

SLICED = {"method": "slice_channels_uniform", "kwargs": {"allowed_channels": [2, 4]}}
# the schema's activation names, in its order (tests/test_spec_text.py checks them against the code)
ACTIVATION_NAMES = json.loads(SCHEMA.read_text())["$defs"]["activationName"]["enum"]


def _wavenet():
    return wavenet([layer_array(channels=3, dilations=(1, 2, 4))])


def _two_arrays():
    return wavenet([layer_array(channels=3, dilations=(1, 2), head_size=2),
                    layer_array(channels=2, dilations=(4,), input_size=3, head_size=1)])


def _sliced():
    return wavenet([layer_array(channels=4, dilations=(1, 2), slimmable=SLICED)])


def _post_head():
    return wavenet([layer_array(channels=2, head_size=2)],
                   head={"channels": 2, "out_channels": 1, "kernel_sizes": [2, 1], "activation": "ReLU"})


def _lstm():
    return with_weights(nam("LSTM", {"input_size": 1, "hidden_size": 3, "num_layers": 1}))


def _linear():
    return with_weights(nam("Linear", {"receptive_field": 4, "bias": True}))


def _container():
    return nam("SlimmableContainer", {"submodels": [
        {"max_value": 0.5, "model": wavenet([layer_array(channels=2)], seed=1)},
        {"max_value": 1.0, "model": wavenet([layer_array(channels=4)], seed=2)},
    ]})


def _conditioned():
    return wavenet([layer_array(channels=3)], condition_dsp=wavenet([layer_array(channels=2)], seed=5))


@dataclass(frozen=True)
class Case:
    base: Callable[[], dict]
    mutate: Callable[[dict], object]
    path: str
    message: str  # a fragment of the message
    found_by: str  # "schema" or "semantic"

    def make(self) -> dict:
        obj = copy.deepcopy(self.base())
        self.mutate(obj)
        return obj


def L(obj, i=0):  # noqa: N802 - the i-th layer array's config
    return obj["config"]["layers"][i]


def _set(d: dict, **kv):
    d.update(kv)


def _del(d: dict, *keys):
    for k in keys:
        d.pop(k)


CASES: dict[str, Case] = {
    # ---- structure: the JSON Schema catches these -----------------------------------------------
    "missing-version": Case(_wavenet, lambda o: _del(o, "version"), "version", "required key is missing", "schema"),
    "missing-config": Case(_wavenet, lambda o: _del(o, "config"), "config", "required key is missing", "schema"),
    "missing-weights": Case(_lstm, lambda o: _del(o, "weights"), "weights", "required key is missing", "schema"),
    "version-not-semver": Case(_wavenet, lambda o: _set(o, version="0.7"), "version",
                               'must be a supported file version MAJOR.MINOR.PATCH, 0.5.0 to 0.7.x (got "0.7")',
                               "schema"),
    "version-too-new": Case(_wavenet, lambda o: _set(o, version="0.8.0"), "version", "0.5.0 to 0.7.x", "schema"),
    "version-too-old": Case(_wavenet, lambda o: _set(o, version="0.4.9"), "version", "0.5.0 to 0.7.x", "schema"),
    "version-number": Case(_wavenet, lambda o: _set(o, version=7), "version", "(got 7)", "schema"),
    "unknown-architecture": Case(_wavenet, lambda o: _set(o, architecture="Transformer"), "architecture",
                                 'must be one of WaveNet, LSTM, ConvNet, Linear, SlimmableContainer (got "Transformer")',
                                 "schema"),
    "config-not-object": Case(_wavenet, lambda o: _set(o, config=[]), "config", "must be an object", "schema"),
    "weights-not-list": Case(_wavenet, lambda o: _set(o, weights={"0": 1.0}), "weights", "must be a list", "schema"),
    "weight-string": Case(_wavenet, lambda o: o["weights"].__setitem__(2, "0.5"), "weights[2]",
                          'must be a number (got "0.5")', "schema"),
    "sample-rate-negative": Case(_wavenet, lambda o: _set(o, sample_rate=-48000), "sample_rate",
                                 "must be positive (got -48000)", "schema"),
    "sample-rate-string": Case(_wavenet, lambda o: _set(o, sample_rate="48k"), "sample_rate",
                               "must be a number or null", "schema"),
    "metadata-list": Case(_wavenet, lambda o: _set(o, metadata=[1]), "metadata", "must be an object or null", "schema"),
    "loudness-string": Case(_wavenet, lambda o: _set(o, metadata={"loudness": "-18 dB"}), "metadata.loudness",
                            "must be a number or null", "schema"),
    "layers-empty": Case(_wavenet, lambda o: o["config"].__setitem__("layers", []), "config.layers",
                         "must not be empty", "schema"),
    "missing-head-scale": Case(_wavenet, lambda o: _del(o["config"], "head_scale"), "config.head_scale",
                               "required key is missing", "schema"),
    "dilation-negative": Case(_wavenet, lambda o: L(o)["dilations"].__setitem__(2, -2), "config.layers[0].dilations[2]",
                              "must be an integer >= 1 (got -2)", "schema"),
    "dilation-fraction": Case(_wavenet, lambda o: L(o)["dilations"].__setitem__(0, 1.5), "config.layers[0].dilations[0]",
                              "must be an integer (got 1.5)", "schema"),
    "channels-string": Case(_wavenet, lambda o: _set(L(o), channels="3"), "config.layers[0].channels",
                            'must be an integer (got "3")', "schema"),
    "channels-huge": Case(_wavenet, lambda o: _set(L(o), channels=2**40), "config.layers[0].channels",
                          "is too large", "schema"),
    "unknown-activation": Case(_wavenet, lambda o: _set(L(o), activation="Swish"), "config.layers[0].activation",
                               f'must be one of {", ".join(ACTIVATION_NAMES)} (got "Swish")', "schema"),
    "unknown-activation-type": Case(_wavenet, lambda o: _set(L(o), activation={"type": "GELU"}),
                                    "config.layers[0].activation.type", '(got "GELU")', "schema"),
    "activation-without-type": Case(_wavenet, lambda o: _set(L(o), activation={"negative_slope": 0.1}),
                                    "config.layers[0].activation.type", "required key is missing", "schema"),
    "activation-number": Case(_wavenet, lambda o: _set(L(o), activation=3), "config.layers[0].activation",
                              "must be a string or an object (got 3)", "schema"),
    "leaky-slope-string": Case(_wavenet, lambda o: _set(L(o), activation={"type": "LeakyReLU", "negative_slope": "x"}),
                               "config.layers[0].activation.negative_slope", "must be a number", "schema"),
    "gating-mode-unknown": Case(_wavenet, lambda o: _set(L(o), gating_mode="gateded"), "config.layers[0].gating_mode",
                                'must be one of none, gated, blended (got "gateded")', "schema"),
    "secondary-activation-unknown": Case(_wavenet, lambda o: _set(L(o), gating_mode="gated", secondary_activation="Gate"),
                                         "config.layers[0].secondary_activation", '(got "Gate")', "schema"),
    "film-true": Case(_wavenet, lambda o: _set(L(o), conv_pre_film=True), "config.layers[0].conv_pre_film",
                      "must be false (got true)", "schema"),
    "film-shift-string": Case(_wavenet, lambda o: _set(L(o), conv_post_film={"shift": "yes"}),
                              "config.layers[0].conv_post_film.shift", "must be true or false", "schema"),
    "layer1x1-without-groups": Case(_wavenet, lambda o: _set(L(o), layer1x1={"active": True}),
                                    "config.layers[0].layer1x1.groups", "required key is missing", "schema"),
    "head1x1-without-out-channels": Case(_wavenet, lambda o: _set(L(o), head1x1={"active": True, "groups": 1}),
                                         "config.layers[0].head1x1.out_channels", "required key is missing", "schema"),
    "head-without-kernel-size": Case(_wavenet, lambda o: L(o)["head"].pop("kernel_size"),
                                     "config.layers[0].head.kernel_size", "required key is missing", "schema"),
    "no-head": Case(_wavenet, lambda o: _del(L(o), "head"), "config.layers[0]",
                    "needs a 'head' object (out_channels, kernel_size, bias) or legacy 'head_size' + 'head_bias'",
                    "schema"),
    "legacy-head-without-bias": Case(_wavenet, lambda o: (_del(L(o), "head"), _set(L(o), head_size=1)),
                                     "config.layers[0].head_bias", "required key is missing", "schema"),
    "both-kernel-keys": Case(_wavenet, lambda o: _set(L(o), kernel_sizes=[3, 3, 3]), "config.layers[0]",
                             "give either kernel_size or kernel_sizes, not both", "schema"),
    "no-kernel": Case(_wavenet, lambda o: _del(L(o), "kernel_size"), "config.layers[0]",
                      "needs kernel_size (one for all layers) or kernel_sizes (one per layer)", "schema"),
    "slimmable-unknown-method": Case(_wavenet, lambda o: _set(L(o), slimmable={"method": "magic"}),
                                     "config.layers[0].slimmable.method", 'must be "slice_channels_uniform"', "schema"),
    "allowed-channels-zero": Case(_sliced, lambda o: L(o)["slimmable"]["kwargs"].__setitem__("allowed_channels", [0, 4]),
                                  "config.layers[0].slimmable.kwargs.allowed_channels[0]", "must be an integer >= 1",
                                  "schema"),
    "post-head-without-activation": Case(_post_head, lambda o: _del(o["config"]["head"], "activation"),
                                         "config.head.activation", "required key is missing", "schema"),
    "lstm-without-hidden-size": Case(_lstm, lambda o: _del(o["config"], "hidden_size"), "config.hidden_size",
                                     "required key is missing", "schema"),
    "lstm-zero-layers": Case(_lstm, lambda o: _set(o["config"], num_layers=0), "config.num_layers",
                             "must be an integer >= 1 (got 0)", "schema"),
    "convnet-batchnorm-string": Case(convnet, lambda o: _set(o["config"], batchnorm="no"), "config.batchnorm",
                                     'must be true or false (got "no")', "schema"),
    "convnet-activation-list": Case(convnet, lambda o: _set(o["config"], activation=["Tanh"]), "config.activation",
                                    "must be a string or an object", "schema"),
    "linear-implementation": Case(_linear, lambda o: _set(o["config"], implementation="gpu"),
                                  "config.implementation", 'must be one of auto, direct, fft (got "gpu")', "schema"),
    "container-no-submodels": Case(_container, lambda o: o["config"].__setitem__("submodels", []),
                                   "config.submodels", "must not be empty", "schema"),
    "container-entry-without-model": Case(_container, lambda o: _del(o["config"]["submodels"][0], "model"),
                                          "config.submodels[0].model", "required key is missing", "schema"),
    "container-with-weights": Case(_container, lambda o: _set(o, weights=[1.0]), "weights",
                                   "must be empty: a container's weights are in its submodels", "schema"),
    "submodel-bad-dilation": Case(_container, lambda o: L(o["config"]["submodels"][1]["model"])["dilations"]
                                  .__setitem__(0, 0), "config.submodels[1].model.config.layers[0].dilations[0]",
                                  "must be an integer >= 1 (got 0)", "schema"),
    "condition-dsp-bad-version": Case(_conditioned, lambda o: _set(o["config"]["condition_dsp"], version="2.0.0"),
                                      "config.condition_dsp.version", "0.5.0 to 0.7.x", "schema"),

    "superseded-legacy-head-size": Case(_wavenet, lambda o: _set(L(o), head_size="1"), "config.layers[0].head_size",
                                        'must be an integer (got "1")', "schema"),
    "superseded-legacy-gated": Case(_wavenet, lambda o: _set(L(o), gating_mode="none", gated="yes"),
                                    "config.layers[0].gated", 'must be true or false (got "yes")', "schema"),
    "inactive-film-bad-groups": Case(_wavenet, lambda o: _set(L(o), conv_pre_film={"active": False, "groups": 0}),
                                     "config.layers[0].conv_pre_film.groups", "must be an integer >= 1 (got 0)",
                                     "schema"),
    "ignored-prelu-slopes-not-numbers": Case(_wavenet, lambda o: _set(L(o), activation={
        "type": "PReLU", "negative_slope": 0.2, "negative_slopes": ["a", "b", "c"]}),
        "config.layers[0].activation.negative_slopes[0]", 'must be a number (got "a")', "schema"),

    # ---- rules between values: the checks after the schema catch these ----------------------------
    "too-few-weights": Case(_wavenet, lambda o: o["weights"].pop(), "weights",
                            "WaveNet config needs 143 weights but the file has 142", "semantic"),
    "too-many-weights": Case(_lstm, lambda o: o["weights"].append(0.0), "weights",
                             "LSTM config needs 70 weights but the file has 71", "semantic"),
    "submodel-weight-count": Case(_container, lambda o: o["config"]["submodels"][0]["model"]["weights"].pop(),
                                  "config.submodels[0].model.weights", "needs", "semantic"),
    "nan-weight": Case(_wavenet, lambda o: o["weights"].__setitem__(4, float("nan")), "weights[4]",
                       "is not a finite float32 (got NaN)", "semantic"),
    "weight-overflows-float32": Case(_wavenet, lambda o: o["weights"].__setitem__(0, 1e39), "weights[0]",
                                     "is not a finite float32 (got 1e+39)", "semantic"),
    "activation-parameter-overflows-float32": Case(_wavenet, lambda o: _set(L(o), activation={
        "type": "LeakyReLU", "negative_slope": -1e39}), "config.layers[0].activation.negative_slope",
        "is not a finite float32 (got -1e+39)", "semantic"),
    "max-value-descending": Case(_container, lambda o: o["config"]["submodels"][1].__setitem__("max_value", 0.4),
                                 "config.submodels[1].max_value", "must be greater than the previous max_value 0.5",
                                 "semantic"),
    "max-value-repeated": Case(_container, lambda o: o["config"]["submodels"][0].__setitem__("max_value", 1.0),
                               "config.submodels[1].max_value", "must be greater than the previous max_value 1.0",
                               "semantic"),
    "last-max-value-below-1": Case(_container, lambda o: o["config"]["submodels"][1].__setitem__("max_value", 0.9),
                                   "config.submodels[1].max_value", "the last max_value must be >= 1 (got 0.9)",
                                   "semantic"),
    "submodel-sample-rate": Case(_container, lambda o: o["config"]["submodels"][0]["model"].__setitem__(
        "sample_rate", 44100), "config.submodels[0].model.sample_rate", "is 44100 Hz but the container's is 48000 Hz",
        "semantic"),
    "submodel-two-outputs": Case(_container, lambda o: o["config"]["submodels"].__setitem__(0, {
        "max_value": 0.5, "model": wavenet([layer_array(channels=2, head_size=2)])}), "config.submodels[0].model",
        "a container submodel must have one input and one output channel", "semantic"),
    "kernel-sizes-count": Case(_wavenet, lambda o: (_del(L(o), "kernel_size"), _set(L(o), kernel_sizes=[3, 3])),
                               "config.layers[0].kernel_sizes", "has 2 entries but the array has 3 layers",
                               "semantic"),
    "activation-list-count": Case(_wavenet, lambda o: _set(L(o), activation=["Tanh", "ReLU"]),
                                  "config.layers[0].activation", "has 2 entries but the array has 3 layers",
                                  "semantic"),
    "gating-mode-list-count": Case(_wavenet, lambda o: _set(L(o), gating_mode=["gated"]),
                                   "config.layers[0].gating_mode", "has 1 entries but the array has 3 layers",
                                   "semantic"),
    "gated-layer-without-secondary": Case(_wavenet, lambda o: _set(L(o), gating_mode=["none", "gated", "none"],
                                                                   secondary_activation=[None, None, None]),
                                          "config.layers[0].secondary_activation[1]",
                                          "must be an activation name or object (got null)", "semantic"),
    "prelu-slope-count": Case(_wavenet, lambda o: _set(L(o), activation={"type": "PReLU", "negative_slopes": [.1, .2]}),
                              "config.layers[0].activation.negative_slopes",
                              "has 2 slopes but is applied to 3 channels", "semantic"),
    "groups-do-not-divide": Case(_wavenet, lambda o: _set(L(o), groups_input=2), "config.layers[0].groups_input",
                                 "2 groups must divide both 3 input and 3 output channels", "semantic"),
    "input-size-chain": Case(_wavenet, lambda o: _set(L(o), input_size=2), "config.layers[0].input_size",
                             "is 2 but the model's input channels is 1", "semantic"),
    "channels-chain": Case(_two_arrays, lambda o: _set(L(o, 1), channels=3, input_size=3),
                           "config.layers[1].channels", "is 3 but the previous array's head size is 2", "semantic"),
    "array-input-size-chain": Case(_two_arrays, lambda o: _set(L(o, 1), input_size=2),
                                   "config.layers[1].input_size", "is 2 but the previous array's channels is 3",
                                   "semantic"),
    "condition-size": Case(_wavenet, lambda o: _set(L(o), condition_size=2), "config.layers[0].condition_size",
                           "is 2 but the model has input channels 1", "semantic"),
    "bottleneck-without-layer1x1": Case(_wavenet, lambda o: _set(L(o), bottleneck=2,
                                                                 layer1x1={"active": False, "groups": 1}),
                                        "config.layers[0].bottleneck", "must equal channels (3) when layer1x1 is inactive",
                                        "semantic"),
    "layer1x1-film-without-layer1x1": Case(_wavenet, lambda o: _set(L(o), layer1x1={"active": False, "groups": 1},
                                                                    layer1x1_post_film={"active": True}),
                                           "config.layers[0].layer1x1_post_film",
                                           "cannot be active when layer1x1 is inactive", "semantic"),
    "head1x1-film-without-head1x1": Case(_wavenet, lambda o: _set(L(o), head1x1_post_film={}),
                                         "config.layers[0].head1x1_post_film",
                                         "cannot be active when head1x1 is inactive", "semantic"),
    "allowed-channels-descending": Case(_sliced, lambda o: L(o)["slimmable"]["kwargs"].__setitem__(
        "allowed_channels", [3, 2, 4]), "config.layers[0].slimmable.kwargs.allowed_channels",
        "must be strictly ascending (got [3, 2, 4])", "semantic"),
    "allowed-channels-end": Case(_sliced, lambda o: L(o)["slimmable"]["kwargs"].__setitem__(
        "allowed_channels", [1, 2]), "config.layers[0].slimmable.kwargs.allowed_channels",
        "must end at the array's channels (4), got [1, 2]", "semantic"),
    "sliced-head-kernel": Case(_sliced, lambda o: L(o)["head"].__setitem__("kernel_size", 2),
                               "config.layers[0].head.kernel_size",
                               "must be 1 in a channel-sliced (slimmable) WaveNet", "semantic"),
    "sliced-groups": Case(_sliced, lambda o: _set(L(o), groups_input=2), "config.layers[0]",
                          "groups must all be 1 in a channel-sliced (slimmable) WaveNet", "semantic"),
    "sliced-post-head": Case(_sliced, lambda o: o["config"].__setitem__(
        "head", {"channels": 2, "out_channels": 1, "kernel_sizes": [1], "activation": "ReLU"}), "config.head",
        "a channel-sliced (slimmable) WaveNet cannot have a post-stack head", "semantic"),
    "post-head-in-channels": Case(_post_head, lambda o: _set(o["config"]["head"], in_channels=3),
                                  "config.head.in_channels", "is 3 but the last array's head size is 2", "semantic"),
    "condition-dsp-sample-rate": Case(_conditioned, lambda o: _set(o["config"]["condition_dsp"], sample_rate=44100),
                                      "config.condition_dsp", "sample rate 44100 Hz differs from the model's 48000 Hz",
                                      "semantic"),
    "lstm-input-size": Case(_lstm, lambda o: _set(o["config"], input_size=2), "config.input_size",
                            "is 2 but in_channels is 1", "semantic"),
}


def nested(depth: int) -> dict:
    """A WaveNet wrapped in `depth` containers."""
    obj = wavenet()
    for _ in range(depth):
        obj = nam("SlimmableContainer", {"submodels": [{"max_value": 1.0, "model": obj}]})
    return obj


CASES["nested-too-deep"] = Case(lambda: nested(10), lambda o: None,
                                "config.submodels[0].model.config.submodels[0].model.config.submodels[0].model"
                                ".config.submodels[0].model.config.submodels[0].model.config.submodels[0].model"
                                ".config.submodels[0].model.config.submodels[0].model.config.submodels[0].model",
                                "models nested more than 8 deep", "semantic")

# issue 13: inputs that crashed a converter or runtime, refused by the loader instead
CASES.update({
    "sample-rate-too-high": Case(_wavenet, lambda o: _set(o, sample_rate=2_000_000), "sample_rate",
                                 "must be from 8000 to 384000 Hz (got 2000000)", "semantic"),
    "hardtanh-inverted": Case(_wavenet, lambda o: _set(L(o), activation={
        "type": "LeakyHardtanh", "min_val": 1.0, "max_val": -1.0}), "config.layers[0].activation.min_val",
        "must not exceed max_val (got 1 > -1)", "semantic"),
    "max-value-negative": Case(_container, lambda o: o["config"]["submodels"][0].__setitem__("max_value", -0.5),
                               "config.submodels[0].max_value", "must be >= 0, a slim value (got -0.5)", "semantic"),
    "container-as-condition-dsp": Case(_wavenet, lambda o: o["config"].__setitem__("condition_dsp", _container()),
                                       "config.condition_dsp", "a condition_dsp cannot be a SlimmableContainer",
                                       "semantic"),
    "metadata-lone-surrogate": Case(_wavenet, lambda o: _set(o, metadata={"name": "amp \ud800"}), "metadata",
                                    "a lone UTF-16 surrogate", "semantic"),
})


def write(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, case in CASES.items():
        path = directory / f"{name}.nam"
        path.write_text(json.dumps(case.make()))
        paths.append(path)
    return paths


if __name__ == "__main__":
    for p in write(Path(sys.argv[1])):
        print(p)
