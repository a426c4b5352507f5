"""The litert and tflm streamers: any block length, the width-change rule, reset, options (spec §7, §10.7)."""
import numpy as np
import pytest
from conftest import GOLDEN, assert_matches_golden, golden_id, stream

from namx import load
from namx.bundled import load_model
from namx.cli import main
from namx.errors import NamxError
from namx.runtimes import open_streamer
from namx.runtimes.static_blocks import block_sizes, chunks
from namx.signals import mix

RUNTIMES = ["litert", "tflm"]
X = mix(48000.0)[28000:31000]


def test_chunks_are_full_blocks_then_the_remainders_binary_digits():
    assert chunks(200, 64) == [64, 64, 64, 8]
    assert chunks(63, 64) == [32, 16, 8, 4, 2, 1]
    assert chunks(96000, 2048) == [2048] * 46 + [1024, 512, 256]
    assert chunks(5, 48) == [4, 1] and chunks(48, 48) == [48]
    assert block_sizes(48) == [48, 32, 16, 8, 4, 2, 1] and block_sizes(64) == [64, 32, 16, 8, 4, 2, 1]
    assert block_sizes(1) == [1]
    for n in range(1, 300):
        for b in (1, 3, 48, 64):
            assert sum(chunks(n, b)) == n and set(chunks(n, b)) <= set(block_sizes(b))


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("entry", [e for e in GOLDEN if "A2__w3" in e["output"] or "lstm__w3" in e["output"]
                                   or "condition_dsp__" in e["output"]], ids=golden_id)
def test_varying_block_lengths_match_golden(runtime, entry, shared, golden_input):
    s = open_streamer(runtime, load(shared / entry["model"]), entry["width"])
    assert_matches_golden(stream(s, golden_input, [7, 500, 1, 64, 3001]), entry, shared, "float32")


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_width_change_starts_the_new_width_from_its_initial_state(runtime):
    """Spec §7.3: switching at sample k gives width A's fresh output, then width B's fresh output."""
    model = load_model("example")
    s = open_streamer(runtime, model, "8")
    y1 = stream(s, X[:1000], [100])
    s.width = "3"
    y2 = stream(s, X[1000:2000], [100])
    s.width = "8"  # back to a width used before: its own initial state again, not where it left off
    y3 = stream(s, X[2000:], [100])
    fresh = [stream(open_streamer(runtime, model, w), x, [100])
             for w, x in (("8", X[:1000]), ("3", X[1000:2000]), ("8", X[2000:]))]
    assert np.array_equal(y1, fresh[0]) and np.array_equal(y2, fresh[1]) and np.array_equal(y3, fresh[2])


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_setting_the_active_width_keeps_the_state_and_reset_restores_it(runtime):
    model = load_model("example")
    s = open_streamer(runtime, model, "3")
    a = stream(s, X, [256])
    s.width = "3"
    b = stream(s, X, [256])
    s.reset()
    assert np.array_equal(stream(s, X, [256]), a)
    assert not np.array_equal(a, b)


def test_litert_state_carriers_agree_bit_for_bit():
    model = load_model("example")
    a = stream(open_streamer("litert", model, "3", state="variables"), X, [64, 5])
    b = stream(open_streamer("litert", model, "3", state="io"), X, [64, 5])
    assert np.array_equal(a, b)


@pytest.mark.parametrize("kernels", ["xnnpack", "builtin", "reference"])
def test_litert_kernels(kernels):
    model = load_model("example")
    ref = stream(open_streamer("numpy", model, "3"), X, [3000])
    y = stream(open_streamer("litert", model, "3", kernels=kernels), X, [64])
    assert np.max(np.abs(y - ref)) < 1e-5 * np.max(np.abs(ref))


def test_block_size_option_fixes_the_main_block():
    model = load_model("example")
    s = open_streamer("litert", model, "3", block_size=32)
    stream(s, X[:100], [100])
    assert s._runner.block == 32



def test_unrolled_lstm_graphs_are_capped_at_max_unrolled_block():
    from builders import nam, with_weights

    from namx.converters.tflite.export import MAX_UNROLLED_BLOCK
    from namx.loader import from_json
    lstm = from_json(with_weights(nam("LSTM", {"input_size": 1, "hidden_size": 2, "num_layers": 1}), seed=1))
    s = open_streamer("tflm", lstm, block_size=512)
    s.process(X[:600])
    assert s._runner.block == MAX_UNROLLED_BLOCK


@pytest.mark.parametrize("runtime,options,message", [
    ("litert", {"kernels": "gpu"}, "kernels must be one of"),
    ("litert", {"state": "ram"}, "state must be one of"),
    ("litert", {"block_size": 0}, "block_size must be a whole number"),
    ("tflm", {"block_size": 1.5}, "block_size must be a whole number"),
])
def test_bad_options_are_clear_errors(runtime, options, message):
    with pytest.raises(NamxError, match=message):
        open_streamer(runtime, load_model("example"), **options)


def test_tflm_arena_too_small_is_a_clear_error():
    s = open_streamer("tflm", load_model("example"), "3", arena_size=4096)
    with pytest.raises(NamxError, match="could not allocate"):
        s.process(X[:64])


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_namx_run_with_the_runtime(runtime, tmp_path, capsys):
    np.save(tmp_path / "in.npy", X)
    out = tmp_path / "out.npy"
    assert main(["run", "example", str(tmp_path / "in.npy"), str(out), "--runtime", runtime,
                 "--block-size", "100", "--width", "3"]) == 0
    ref = stream(open_streamer("numpy", load_model("example"), "3"), X, [3000])
    y = np.load(out)
    assert y.shape == X.shape and np.max(np.abs(y - ref)) < 1e-5 * np.max(np.abs(ref))
