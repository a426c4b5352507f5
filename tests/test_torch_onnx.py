"""torch.onnx.export of the namx module (width as an input) agrees with namx's own ONNX graph.

Two independent routes to ONNX for the same model: PyTorch's exporter on namx.torch's module
(namx.torch.export_onnx: whole-signal, every width evaluated, `width` selects one) and namx's
streaming all-widths graph (namx.converters.onnx, run by the onnxruntime-dynamic streamer).
They must agree at every width to ESR <= -120 dB. torch.onnx.export takes tens of seconds per
model, so this runs on two small models that between them cover channel slicing (gated,
blended, FiLM, two arrays) and a container.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")

from builders import layer_array, nam, wavenet  # noqa: E402

import namx.torch  # noqa: E402
from namx.converters.onnx.graph import width_values  # noqa: E402
from namx.loader import from_json  # noqa: E402
from namx.metrics import esr_db  # noqa: E402
from namx.runtimes import open_streamer  # noqa: E402
from namx.signals import mix  # noqa: E402
from namx.torch.export_onnx import export_onnx  # noqa: E402

X = mix()[4800:16800]  # impulse and the start of the sweep


def sliced():
    slim = {"method": "slice_channels_uniform", "kwargs": {"allowed_channels": [1, 2, 4]}}
    return from_json(wavenet([
        layer_array(channels=4, kernel=3, dilations=(1, 2), gating_mode=["gated", "blended"], head_size=3,
                    conv_post_film={"active": True, "shift": True, "groups": 1}, slimmable=slim),
        layer_array(channels=3, input_size=4, dilations=(4,), head_size=1,
                    slimmable={"method": "slice_channels_uniform", "kwargs": {"allowed_channels": [2, 3]}})],
        seed=5))


def container():
    subs = [{"max_value": v, "model": wavenet([layer_array(channels=c, dilations=(1, 3))], seed=c)}
            for v, c in ((0.5, 2), (1.0, 5))]
    return from_json({**nam("SlimmableContainer", {"submodels": subs}), "weights": []})


@pytest.mark.parametrize("build", [sliced, container])
def test_torch_onnx_graph_agrees_with_namx_onnx_at_every_width(build):
    model = build()
    proto = export_onnx(namx.torch.from_model(model))
    assert [i.name for i in proto.graph.input] == ["audio", "width"]
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    levels = model.widths()
    assert len(levels) > 1
    for level, value in zip(levels, width_values(levels)):
        theirs = session.run(None, {"audio": X[None], "width": np.array(value, np.int64)})[0][0]
        streamer = open_streamer("onnxruntime-dynamic", model, width=level.label)
        ours = np.concatenate([streamer.process(X[i:i + 1000]) for i in range(0, X.size, 1000)])
        assert esr_db(theirs, ours) <= -120, level.label
