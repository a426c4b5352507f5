"""Abusive audio in every runtime (issue 8): NaN/Inf, DC, full-scale square, denormals, one-sample
blocks and a block longer than the block-size limit. Finite input gives finite output equal to the
reference's, non-finite input does not poison the stream after reset(), and every runtime behaves
like the NumPy reference. The model is slim8 at width 2 (small, so TFLite conversion is quick)."""
import numpy as np
import pytest

pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # NaN input

from namx.bundled import load_model
from namx.limits import Limits
from namx.runtimes import RUNTIMES, open_streamer

RATE = 48000
N = 4800
TOL = 1e-4  # float32 runtimes against the float64 reference, on outputs of order 1


def _signals():
    t = np.arange(N) / RATE
    return {
        "dc": np.full(N, 0.5),
        "square": np.sign(np.sin(2 * np.pi * 110 * t)),
        "denormals": np.full(N, 1e-39) * np.where(np.arange(N) % 2, 1, -1),
        "loud": 8.0 * np.sin(2 * np.pi * 220 * t),
    }


@pytest.fixture(scope="module")
def model():
    return load_model("slim8")


@pytest.fixture(scope="module")
def reference(model):
    out = {}
    for name, x in _signals().items():
        s = open_streamer("numpy", model, "2")
        out[name] = s.process(x.astype(np.float32))
    return out


@pytest.fixture(scope="module", params=list(RUNTIMES))
def streamer(request, model):
    return open_streamer(request.param, model, "2")


@pytest.mark.parametrize("name", list(_signals()))
def test_extreme_but_finite_input_gives_the_reference_output(streamer, reference, name):
    streamer.reset()
    x = _signals()[name].astype(np.float32)
    y = np.concatenate([streamer.process(x[i:i + 480]) for i in range(0, N, 480)])
    assert np.all(np.isfinite(y))
    assert np.max(np.abs(y - reference[name])) <= TOL * max(1.0, np.max(np.abs(reference[name])))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input_then_reset_recovers(streamer, reference, bad):
    streamer.reset()
    x = np.full(64, bad, np.float32)
    y = streamer.process(x)
    assert y.shape == (64,)  # (what NaN/Inf become is the math's business: they are not finite input)
    streamer.reset()
    clean = _signals()["dc"].astype(np.float32)
    y = streamer.process(clean)
    assert np.max(np.abs(y - reference["dc"])) <= TOL


def test_one_sample_blocks(streamer, reference):
    streamer.reset()
    x = _signals()["square"].astype(np.float32)[:600]
    y = np.concatenate([streamer.process(x[i:i + 1]) for i in range(x.size)])
    assert np.max(np.abs(y - reference["square"][:600])) <= TOL


def test_a_block_longer_than_the_block_size_limit(streamer, model):
    n = Limits().block_size + 1001
    x = (0.3 * np.sin(np.arange(n) * 0.01)).astype(np.float32)
    streamer.reset()
    y = streamer.process(x)
    ref = open_streamer("numpy", model, "2").process(x)
    assert y.shape == (n,) and np.max(np.abs(y - ref)) <= TOL


def test_an_empty_block_is_the_same_clear_error_everywhere(streamer):
    from namx.errors import NamxError
    with pytest.raises(NamxError, match="non-empty"):
        streamer.process(np.zeros(0, np.float32))
