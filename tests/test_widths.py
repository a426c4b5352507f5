"""Widths (spec: widths): levels, labels, slim values, and slicing exactly as the core slims."""
import numpy as np
import pytest
from builders import layer_array, wavenet

from namx import WidthError
from namx.bundled import load_model
from namx.loader import from_json
from namx.model import FILM_SLOTS
from namx.widths import levels, select
from namx.writer import to_json

SLICED = {"method": "slice_channels_uniform", "kwargs": {"allowed_channels": [2, 4]}}


@pytest.mark.spec("6.1", "6.2", "6.4")
def test_a2_container_levels_and_slim_mapping():
    a2 = load_model("example")
    lv = a2.widths()
    assert [(x.label, x.slim_lo, x.slim_hi) for x in lv] == [("3", 0.0, 0.5), ("8", 0.5, 1.0)]
    for v, label in [(0.0, "3"), (0.49, "3"), (0.5, "8"), (0.99, "8"), (1.0, "8")]:
        assert select(a2, slim=v).label == label
    assert select(a2).label == "8"  # default: widest
    assert select(a2, "i0").label == "3"
    with pytest.raises(WidthError, match="slim value must be between 0 and 1"):
        select(a2, slim=1.5)
    assert a2.at("3").net.arrays[0].channels == 3 and a2.at().net.arrays[0].channels == 8


@pytest.mark.spec("6.1", "6.2")
def test_single_width_models_offer_one_level():
    m = from_json(wavenet([layer_array(channels=5)]))
    assert [x.label for x in m.widths()] == ["5"]
    assert m.at("5") is m and m.at("i0") is m
    with pytest.raises(WidthError, match="offers only width 5"):
        m.at("4")


def _gated_sliced(gating="gated", films=True):
    la = layer_array(channels=4, dilations=(1, 3), kernel=2, gating_mode=gating, bottleneck=4, slimmable=SLICED)
    if films:
        la["conv_post_film"] = {"active": True, "shift": True, "groups": 1}
        la["activation_post_film"] = {"active": True, "shift": False, "groups": 1}
    return from_json(wavenet([la]))


@pytest.mark.spec("6.3")
def test_gated_conv_keeps_the_first_2b_rows_of_the_full_stack():
    m = _gated_sliced()
    full, slim = m.net.arrays[0].layers[0], m.at("2").net.arrays[0].layers[0]
    assert slim.bottleneck == 2
    # first 2B' = 4 rows of the [primary(4); gate(4)] stack: primary 0..1 and *primary* 2..3 as the gate
    assert np.array_equal(slim.conv.weight, full.conv.weight[:4, :2, :])
    assert np.array_equal(slim.conv.bias, full.conv.bias[:4])
    assert np.array_equal(slim.mixin.weight, full.mixin.weight[:4])


@pytest.mark.spec("6.3")
def test_film_keeps_the_first_rows_of_scale_and_shift():
    m = _gated_sliced()
    full, slim = m.net.arrays[0].layers[0], m.at("2").net.arrays[0].layers[0]
    post = full.films["conv_post_film"].conv  # dim Bg = 8, shift: 16 rows [scale(8); shift(8)]
    assert np.array_equal(slim.films["conv_post_film"].conv.weight, post.weight[:8])
    assert slim.films["conv_post_film"].dim == 4
    assert np.array_equal(slim.films["activation_post_film"].conv.weight,
                          full.films["activation_post_film"].conv.weight[:2])


@pytest.mark.spec("6.3")
def test_sliced_array_tensors():
    m = from_json(wavenet([layer_array(channels=4, dilations=(1, 2), slimmable=SLICED)]))
    full, slim = m.net.arrays[0], m.at("2").net.arrays[0]
    assert np.array_equal(slim.rechannel.weight, full.rechannel.weight[:2, :1])
    l0, s0 = full.layers[0], slim.layers[0]
    assert np.array_equal(s0.layer1x1.weight, l0.layer1x1.weight[:2, :2])
    assert np.array_equal(s0.layer1x1.bias, l0.layer1x1.bias[:2])
    # the last array's head keeps its output rows and full bias, and takes the first B' inputs
    assert np.array_equal(slim.head.weight, full.head.weight[:, :2]) and np.array_equal(slim.head.bias, full.head.bias)


@pytest.mark.spec("6.1", "6.2")
def test_two_sliced_arrays_split_at_every_breakpoint():
    a0 = layer_array(channels=4, dilations=(1,), head_size=3,
                     slimmable={"method": "slice_channels_uniform", "kwargs": {"allowed_channels": [2, 4]}})
    a1 = layer_array(channels=3, dilations=(1,), input_size=4, head_size=1,
                     slimmable={"method": "slice_channels_uniform", "kwargs": {"allowed_channels": [1, 2, 3]}})
    m = from_json(wavenet([a0, a1]))
    lv = levels(m)
    assert [(round(x.slim_lo, 3), x.channels) for x in lv] == [(0, (2, 1)), (0.333, (2, 2)), (0.5, (4, 2)),
                                                              (0.667, (4, 3))]
    assert [x.label for x in lv] == ["i0", "i1", "i2", "i3"]  # first array's counts repeat
    # array 0's head feeds array 1's channels, so its output rows follow array 1's width
    sliced = m.at("i1").net.arrays
    assert sliced[0].head.out_channels == 2 and sliced[1].rechannel.in_channels == 2


@pytest.mark.spec("6.3", "12.2")
def test_prelu_slopes_follow_the_sliced_rows():
    la = layer_array(channels=4, dilations=(1,), slimmable=SLICED,
                     activation={"type": "PReLU", "negative_slopes": [0.1, 0.2, 0.3, 0.4]})
    m = from_json(wavenet([la]))
    assert m.at("2").net.arrays[0].layers[0].activation.slopes == (np.float32(0.1), np.float32(0.2))


@pytest.mark.spec("6.3")
def test_every_film_slot_slices_to_the_sizes_the_loader_reads():
    """At every width, a sliced model written out loads back with the same tensors: each FiLM slot
    keeps the rows the loader reads for that width's channels (gated rows, bottleneck, head1x1)."""
    la = layer_array(channels=4, dilations=(1, 2), kernel=2, gating_mode="blended", bottleneck=2, slimmable=SLICED,
                     head1x1={"active": True, "out_channels": 3, "groups": 1})
    for i, slot in enumerate(FILM_SLOTS):
        la[slot] = {"active": True, "shift": i % 2 == 0, "groups": 1}
    m = from_json(wavenet([la]))
    assert set(m.net.arrays[0].layers[0].films) == set(FILM_SLOTS)
    for level in m.widths():
        sliced = m.at(level)
        back = from_json(to_json(sliced))
        assert len(back.net.convs()) == len(sliced.net.convs())
        for read, cut in zip(back.net.convs(), sliced.net.convs()):
            assert np.array_equal(read.weight, cut.weight) and np.array_equal(read.bias, cut.bias)
