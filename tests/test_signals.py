"""namx.signals: the conformance program is deterministic, documented and built as described."""
import re
from pathlib import Path

import numpy as np
import pytest

from namx.signals import PROGRAM, PROGRAM_SECONDS, SIGNALS, mix, program, sha256

README = Path(__file__).resolve().parent.parent / "conformance" / "README.md"


def test_program_is_deterministic_and_contiguous():
    x, segments = program()
    y, _ = program()
    assert x.dtype == np.float32 and np.array_equal(x, y)
    assert [s.name for s in segments] == [k.name for k in PROGRAM]
    n = round(PROGRAM_SECONDS * 48000)
    assert [(s.start, s.stop) for s in segments] == [(i * n, (i + 1) * n) for i in range(len(PROGRAM))]
    assert x.size == segments[-1].stop


def test_program_sha256_is_the_documented_one():
    """conformance/README.md states the default program's SHA-256 at 48 kHz; the code must produce it."""
    pattern = r"48 kHz program \(1 s, 48000 samples\) has SHA-256\s+`([0-9a-f]{64})`"
    documented = re.search(pattern, README.read_text()).group(1)
    assert sha256(program()[0]) == documented


@pytest.mark.parametrize("rate", [48000.0, 44100.0, 96000.0])
def test_segments_are_what_they_say(rate):
    x, segments = program(rate, 0.2)
    seg = {s.name: x[s.start:s.stop].astype(np.float64) for s in segments}
    n = round(0.2 * rate)
    assert x.size == 10 * n
    assert not seg["silence"].any()
    assert seg["impulse"][0] == 1 and not seg["impulse"][1:].any()
    assert 0.49 < np.abs(seg["sweep"]).max() <= 10 ** (-6 / 20) + 1e-6
    assert abs(np.sqrt(np.mean(seg["noise"] ** 2)) - 10 ** (-12 / 20)) < 0.02
    assert np.abs(seg["plucks"]).max() == pytest.approx(0.5) and np.abs(seg["chords"]).max() == pytest.approx(0.5)
    assert np.abs(seg["clipping"]).max() == 1 and np.mean(np.abs(seg["clipping"]) == 1) > 0.5  # clipped flat tops
    assert set(np.unique(seg["dc_step"])) == {-0.5, 0.0, 0.5} and seg["dc_step"][n // 4] == 0.5
    assert np.abs(seg["quiet"]).max() == pytest.approx(1e-4, rel=1e-6)
    assert np.abs(seg["loud"]).max() == pytest.approx(4.0)
    assert np.isfinite(x).all()


def test_plucks_start_one_string_at_a_time():
    x, segments = program(48000.0, 0.6)
    s = next(s for s in segments if s.name == "plucks")
    y = x[s.start:s.stop]
    sixth = y.size // 6
    assert np.abs(y[:sixth]).max() > 0 and all(np.abs(y[k * sixth:k * sixth + 5]).max() > 0 for k in range(6))


def test_the_golden_mix_is_unchanged():
    assert sha256(mix()) == "936351f7ca2b35bc8477f6560cd4b86e4f62534209257131aa677afdaa96d769"


def test_every_signal_can_be_written_at_any_rate():
    for name, make in SIGNALS.items():
        a, b = make(48000.0), make(44100.0)
        assert a.dtype == np.float32 and a.size > b.size > 0, name
