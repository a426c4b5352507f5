"""File-format rules of spec §3 and §4 beyond test_loader.py: named weight tensors, metadata the
core reads, PReLU parameters, version strings, and collecting several problems at once."""
import numpy as np
import pytest
from builders import convnet, layer_array, nam, wavenet, with_weights

from namx import ModelError
from namx.loader import check, from_json, weight_layout, weights_needed


@pytest.mark.spec("4.1", "4.2")
def test_weight_layout_names_every_tensor_in_order_with_offsets():
    obj = nam("WaveNet", {"layers": [layer_array(channels=1, dilations=[1], kernel=2, activation="ReLU")],
                          "head": None, "head_scale": 1.0})
    layout = weight_layout(obj)
    assert [(t.name, t.offset, t.shape) for t in layout] == [
        ("arrays[0].rechannel.weight", 0, (1, 1, 1)),
        ("arrays[0].layers[0].conv.weight", 1, (1, 1, 2)),
        ("arrays[0].layers[0].conv.bias", 3, (1,)),
        ("arrays[0].layers[0].input_mixin.weight", 4, (1, 1, 1)),
        ("arrays[0].layers[0].layer1x1.weight", 5, (1, 1, 1)),
        ("arrays[0].layers[0].layer1x1.bias", 6, (1,)),
        ("arrays[0].head_rechannel.weight", 7, (1, 1, 1)),
        ("arrays[0].head_rechannel.bias", 8, (1,)),
        ("head_scale", 9, (1,)),
    ]
    assert weights_needed(obj) == 10 == sum(t.size for t in layout)


@pytest.mark.spec("4.1", "4.4")
def test_layout_offsets_are_where_the_loader_reads():
    obj = convnet(batchnorm=True, dilations=(1, 2))
    model = from_json(obj)
    flat = np.asarray(obj["weights"], np.float32)
    tensors = {t.name: flat[t.offset:t.offset + t.size].reshape(t.shape) for t in weight_layout(obj)}
    assert np.array_equal(tensors["blocks[1].conv.weight"], model.net.blocks[1].weight)
    assert np.array_equal(tensors["blocks[0].batchnorm.running_var"], model.net.batchnorms[0].var)
    assert tensors["blocks[1].batchnorm.eps"][0] == np.float32(model.net.batchnorms[1].eps)
    assert np.array_equal(tensors["head.weight"], model.net.head_w)


@pytest.mark.spec("3.5")
def test_prelu_scalar_slope_wins_over_per_channel_slopes():
    """The core reads negative_slope first and ignores negative_slopes when both are given."""
    obj = wavenet([layer_array(channels=2, activation={"type": "PReLU", "negative_slope": 0.3,
                                                        "negative_slopes": [0.1, 0.2]})])
    act = from_json(obj).net.arrays[0].layers[0].activation
    assert act.param("negative_slope") == np.float32(0.3) and act.slopes == ()


@pytest.mark.spec("3.2")
@pytest.mark.parametrize("version", ["0.٧.0", "0.7.0\n", " 0.7.0", "0.7.0.1", "0.-7.0"])
def test_version_strings_are_ascii_digits_only(version):
    obj = wavenet()
    obj["version"] = version
    with pytest.raises(ModelError, match="version: must be a version string"):
        from_json(obj)


@pytest.mark.spec("3.2")
def test_leading_zeros_in_versions_are_numbers_like_in_the_core():
    obj = wavenet()
    obj["version"] = "00.07.000"
    assert from_json(obj).version == "00.07.000"


@pytest.mark.spec("3.3")
@pytest.mark.parametrize("key", ["loudness", "input_level_dbu", "output_level_dbu"])
def test_metadata_levels_must_be_numbers_or_null(key):
    obj = wavenet()
    obj["metadata"] = {key: None, "name": ["anything", "goes"]}
    assert from_json(obj).metadata[key] is None
    obj["metadata"][key] = "loud"
    with pytest.raises(ModelError, match=rf"metadata.{key}: must be a finite number or null"):
        from_json(obj)


@pytest.mark.spec("3.5")
def test_activation_type_that_is_not_a_string_is_a_clear_error():
    obj = wavenet()
    obj["config"]["layers"][0]["activation"] = {"type": ["Tanh"]}
    with pytest.raises(ModelError, match=r"activation.type: must be an activation name"):
        from_json(obj)


@pytest.mark.spec("3.11")
def test_check_collects_every_problem_between_values():
    obj = wavenet([layer_array(channels=3, dilations=(1, 2), head_size=2), layer_array(channels=2, input_size=3)])
    obj["config"]["layers"][0]["groups_input"] = 2          # does not divide 3
    obj["config"]["layers"][0]["activation"] = {"type": "PReLU", "negative_slopes": [0.1]}  # 1 slope, 3 rows
    obj["config"]["layers"][1]["input_size"] = 5             # chain: array 0 has 3 channels
    obj["config"]["layers"][1]["channels"] = 4               # chain: array 0's head has 2 outputs
    result = check(obj, "m.nam")
    assert result.complete
    assert [(p.path, p.problem.split(" (")[0]) for p in result.problems] == [
        ("config.layers[0].activation.negative_slopes", "has 1 slopes but is applied to 3 channels"),
        ("config.layers[0].groups_input", "2 groups must divide both 3 input and 3 output channels"),
        ("config.layers[1].input_size", "is 5 but the previous array's channels is 3"),
        ("config.layers[1].channels", "is 4 but the previous array's head size is 2"),
        ("config.layers[1]", "layer head outputs have 4 channels but the previous array's head passes 2"),
    ]
    # the loader itself still stops at the first one, with the same message
    with pytest.raises(ModelError) as err:
        from_json(obj, "m.nam")
    assert str(err.value) == str(result.problems[0])


@pytest.mark.spec("3.11")
def test_check_stops_at_an_unreadable_value_and_says_so():
    obj = wavenet()
    obj["config"]["layers"][0]["channels"] = "three"
    result = check(obj, "m.nam")
    assert not result.complete and len(result.problems) == 1
    assert str(result.problems[0]) == 'm.nam: config.layers[0].channels: must be an integer (got "three")'


@pytest.mark.spec("3.4")
def test_weight_count_is_reported_only_for_a_consistent_config():
    """A config that breaks a rule already explains a wrong count; a sound one gets the count."""
    obj = with_weights(nam("LSTM", {"input_size": 1, "hidden_size": 2, "num_layers": 1}))
    obj["weights"].pop()
    assert [p.path for p in check(obj).problems] == ["weights"]
    obj["config"]["input_size"] = 3
    assert [p.path for p in check(obj).problems] == ["config.input_size"]
