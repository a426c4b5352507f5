"""Modules of the NAM trainer (neural-amp-modeler) convert through namx and match their own forward.

Skipped unless the trainer is installed (tools/install_nam_trainer.sh installs it without its
unpinned-torch dependency chain). The trainer's forward with pad_start=True starts from silence,
which is the core's prewarmed state for a WaveNet; an LSTM's file stores the state after 48000
zeros from the trainer's initial state, and the core runs 0.5 s more zeros from there.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("nam.models")

from nam.models import LSTM, WaveNet  # noqa: E402

import namx.torch  # noqa: E402
from namx.converters.pytorch import from_module  # noqa: E402
from namx.metrics import esr_db, max_abs_error  # noqa: E402
from namx.runtimes.numpy_ref import NumpyStreamer  # noqa: E402
from namx.signals import mix  # noqa: E402

X = mix()[:24000]  # silence, impulse, sweep, noise: 0.5 s of the test mix
A1_DILATIONS = [2 ** i for i in range(10)]


def _array(input_size, channels, head_size, head_bias, **extra):
    return {"input_size": input_size, "condition_size": 1, "channels": channels, "kernel_size": 3,
            "dilations": A1_DILATIONS, "activation": "Tanh",
            "head": {"out_channels": head_size, "kernel_size": 1, "bias": head_bias}, **extra}


def a1_standard():
    """The trainer's A1 'standard' preset: arrays 16 -> 8 and 8 -> 1 channels, kernel 3, Tanh."""
    return WaveNet.init_from_config({"layers_configs": [_array(1, 16, 8, False), _array(16, 8, 1, True)],
                                     "head_scale": 0.02, "sample_rate": 48000})


def slimmable_wavenet():
    """The trainer's example slimmable WaveNet (nam_full_configs/models/wavenet_slimmable.json)."""
    array = {"input_size": 1, "condition_size": 1, "channels": 12, "kernel_size": 6,
             "dilations": [1, 5, 29, 97, 227] * 3, "activation": {"name": "LeakyReLU", "negative_slope": 0.01},
             "head": {"out_channels": 1, "kernel_size": 1, "bias": True},
             "slimmable": {"method": "slice_channels_uniform",
                           "kwargs": {"allowed_channels": [3, 12], "boosting": True,
                                      "init_strategy": "smallest_and_zeros"}}}
    return WaveNet.init_from_config({"layers_configs": [array], "head_scale": 0.01, "sample_rate": 48000})


def _randomise(module, seed):
    """The slimmable init zeroes every channel past the smallest width: give all weights values."""
    n = len(module._export_weights())
    module.import_weights(torch.from_numpy(np.random.default_rng(seed).normal(0, 0.2, n).astype(np.float32)))


@pytest.mark.parametrize("build,widths", [(a1_standard, ["16"]), (slimmable_wavenet, ["3", "12"])],
                         ids=["a1-standard", "slimmable"])
def test_trainer_wavenets_convert_and_match_their_own_forward(build, widths):
    torch.manual_seed(0)
    module = build()
    if module._net.is_slimmable():
        _randomise(module, 1)
    module.eval()
    model = from_module(module)
    assert [lv.label for lv in model.widths()] == widths
    x = torch.from_numpy(X)[None]
    outputs = []
    for level in model.widths():
        module._net.set_slimming(level.slim)  # the trainer's slim value for this level
        with torch.no_grad():
            theirs = module(x, pad_start=True)[0].double().numpy()
        ours = NumpyStreamer(model, level.label).process(X)
        with torch.no_grad():
            ours_torch = namx.torch.from_model(model)(x, width=level.label)[0].double().numpy()
        assert esr_db(ours, theirs) < -100, level.label
        assert max_abs_error(ours, theirs) < 1e-5 * max(1.0, np.abs(theirs).max())
        assert esr_db(ours_torch, theirs) < -100
        outputs.append(theirs)
    if len(outputs) > 1:
        assert esr_db(outputs[0], outputs[1]) > -20  # the widths really differ


def test_trainer_lstm_converts_and_matches_its_forward_after_the_cores_warm_up():
    torch.manual_seed(0)
    module = LSTM(hidden_size=8, sample_rate=48000)
    module.eval()
    model = from_module(module)
    warm = 48000 + 24000  # the trainer's export burn-in, then the core's 0.5 s prewarm
    x = torch.from_numpy(np.concatenate([np.zeros(warm, np.float32), X[:4800]]))[None]
    with torch.no_grad():
        theirs = module(x, pad_start=True)[0, warm:].double().numpy()
    ours = NumpyStreamer(model).process(X[:4800])
    assert esr_db(ours, theirs) < -100 and max_abs_error(ours, theirs) < 1e-5


def test_a_module_that_is_not_a_model_is_refused():
    from namx import NamxError
    with pytest.raises(NamxError, match="cannot convert a Linear"):
        from_module(torch.nn.Linear(2, 2))
