"""namx: run Neural Amp Modeler (.nam) models the same everywhere.

    import namx
    model = namx.load("amp.nam")        # or a bundled model: namx.load("A2"), namx.load("slim8")
    model.widths()                       # the width levels it offers
    from namx.runtimes import open_streamer
    s = open_streamer("numpy", model, width="8")
    y = s.process(x_block)
"""
from .errors import ModelError, NamxError, WidthError
from .loader import loads
from .bundled import load_model as load  # noqa: E402  a .nam path, or a bundled model's name ("A2", "slim8")
from .model import Model
from .spec import SPEC_VERSION
from .widths import WidthLevel

__version__ = "0.1.0"

__all__ = ["load", "loads", "Model", "WidthLevel", "NamxError", "ModelError", "WidthError", "__version__",
           "SPEC_VERSION"]
