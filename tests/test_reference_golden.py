"""The NumPy reference reproduces NeuralAmpModelerCore on every golden entry (spec: numerics)."""
import numpy as np
import pytest
from conftest import GOLDEN, assert_matches_golden, golden_id, stream

from namx import load
from namx.runtimes.numpy_ref import NumpyStreamer


@pytest.mark.spec("5", "8.3", "11.1")
@pytest.mark.parametrize("entry", GOLDEN, ids=golden_id)
@pytest.mark.parametrize("precision,blocks", [("float64", [2048]), ("float32", [64]),
                                              ("float32", [7, 500, 1, 64, 3001])])
@pytest.mark.slow
def test_matches_golden(entry, precision, blocks, shared, golden_input):
    model = load(shared / entry["model"])
    s = NumpyStreamer(model, entry["width"], precision=precision)
    assert_matches_golden(stream(s, golden_input, blocks), entry, shared, precision)


@pytest.mark.spec("6.1")
@pytest.mark.parametrize("entry", [e for e in GOLDEN if e["slim"] is not None], ids=golden_id)
def test_slim_value_selects_the_golden_level(entry, shared, golden_input):
    """The core's --slim value (as the golden was rendered) picks the same level as the width label."""
    model = load(shared / entry["model"])
    by_slim = NumpyStreamer(model, slim=entry["slim"])
    assert by_slim.level.index == entry["level"]
    assert_matches_golden(stream(by_slim, golden_input, [4096]), entry, shared, "float64")


@pytest.mark.spec("6.1")
@pytest.mark.parametrize("entry", [e for e in GOLDEN if e.get("default_render_equals_this_level")], ids=golden_id)
def test_default_width_is_the_widest(entry, shared, golden_input):
    model = load(shared / entry["model"])
    s = NumpyStreamer(model)
    assert s.level.index == entry["num_levels"] - 1 == entry["level"]


@pytest.mark.spec("6.1", "6.2")
@pytest.mark.parametrize("entry", GOLDEN, ids=golden_id)
def test_width_levels_match_the_golden_index(entry, shared):
    levels = load(shared / entry["model"]).widths()
    assert len(levels) == entry["num_levels"]
    level = levels[entry["level"]]
    assert level.label == entry["width_label"]
    assert list(level.channels) == entry["channels"]
    if entry["slim_interval"] is not None:
        assert [level.slim_lo, level.slim_hi] == pytest.approx(entry["slim_interval"])
        assert level.slim_lo <= entry["slim"] < level.slim_hi


@pytest.mark.spec("5.5", "5.8")
def test_identity_models_pass_input_through(shared, golden_input):
    """linear_1/linear_10 (core tap order) and wavenet_minimal are identities."""
    base = shared / "models/real/neural-amp-modeler/tests/resources/models/identity"
    for name in ("linear_1.nam", "linear_10.nam"):
        y = NumpyStreamer(load(base / name)).process(golden_input)
        assert np.array_equal(y, golden_input.astype(np.float64))
    x = np.abs(golden_input)  # identity for x > -1
    y = NumpyStreamer(load(base / "wavenet_minimal.nam")).process(x)
    assert np.max(np.abs(y - x)) < 1e-7
