"""Every activation the core knows, with its parameters and defaults (spec: activations)."""
import numpy as np
import pytest

from namx.activations import ACTIVATIONS, make
from namx.loader import _Parser

X = np.linspace(-4, 4, 81)[None, :]
F32 = lambda v: float(np.float32(v))  # noqa: E731


def sig(x):
    return 1 / (1 + np.exp(-x))


EXPECTED = {
    "Tanh": np.tanh(X),
    "Hardtanh": np.clip(X, -1, 1),
    "ReLU": np.maximum(X, 0),
    "LeakyReLU": np.where(X > 0, X, F32(0.01) * X),
    "PReLU": np.where(X > 0, X, F32(0.01) * X),
    "Sigmoid": sig(X),
    "SiLU": X * sig(X),
    "Hardswish": X * np.clip(X + 3, 0, 6) / 6,
    "LeakyHardtanh": np.where(X < -1, (X + 1) * F32(0.01) - 1, np.where(X > 1, (X - 1) * F32(0.01) + 1, X)),
    "Softsign": X / (1 + np.abs(X)),
}


@pytest.mark.spec("5.2")
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_defaults(name):
    y = make(name)(X)
    if name == "Fasttanh":
        assert np.max(np.abs(y - np.tanh(X))) < 1e-3 and y[0, 40] == 0
    else:
        assert np.allclose(y, EXPECTED[name], rtol=0, atol=1e-15)


def _parse(value, rows=None):
    return _Parser("t.nam").activation(value, "act", rows)


@pytest.mark.spec("3.5", "5.2", "12.1")
def test_parameters_from_json():
    assert _parse({"type": "LeakyReLU", "negative_slope": 0.2})(np.array([[-1.0]]))[0, 0] == -F32(0.2)
    assert _parse("LeakyReLU").param("negative_slope") == F32(0.01)
    lht = _parse({"type": "LeakyHardTanh", "min_val": 0.0, "max_val": 0.9, "min_slope": 0.0, "max_slope": 0.02})
    assert lht.name == "LeakyHardtanh"
    assert np.allclose(lht(np.array([[-1.0, 0.5, 2.0]])), [[0.0, 0.5, F32(0.9) + 1.1 * F32(0.02)]])
    # Hardtanh's min_val/max_val are ignored by the core
    assert _parse({"type": "Hardtanh", "min_val": -3, "max_val": 3})(np.array([[2.0]]))[0, 0] == 1.0
    # PReLU: scalar, per-channel (one slope per row), or the 0.01 default
    assert _parse({"type": "PReLU", "negative_slope": 0.5})(np.array([[-2.0]]))[0, 0] == -1.0
    per = _parse({"type": "PReLU", "negative_slopes": [0.5, 0.25]}, rows=2)
    assert np.array_equal(per(np.full((2, 3), -4.0)), [[-2.0] * 3, [-1.0] * 3])
    assert _parse({"type": "PReLU"}).param("negative_slope") == F32(0.01)


@pytest.mark.spec("5.2")
def test_relu_family_maps_nan_like_the_core():
    """The core's ReLU is x > 0 ? x : 0, so NaN becomes 0; tanh keeps NaN."""
    assert make("ReLU")(np.array([[np.nan]]))[0, 0] == 0
    assert np.isnan(make("Tanh")(np.array([[np.nan]]))[0, 0])


@pytest.mark.spec("8.1")
def test_float32_inputs_stay_float32():
    for name in ACTIVATIONS:
        assert make(name)(X.astype(np.float32)).dtype == np.float32, name
