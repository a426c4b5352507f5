"""namx in PyTorch (`pip install namx[torch]`): a namx Model as a trainable nn.Module.

    import namx, namx.torch
    module = namx.torch.from_model(namx.load("amp.nam"))
    y = module(x, width="3")                      # x: (T,), (N, T) or (N, 1, T) tensor
    namx.writer.save(namx.torch.to_model(module), "out.nam")
    namx.torch.save(module, "amp.pt")             # loads with torch.load(weights_only=True)

Training: namx.torch.train (the Slimmable NAM paper's method). The core (namx, the .nam
converters, namx.runtimes) never imports this package.
"""
from .checkpoint import load, save
from .module import NamxModule, from_model, map_weights, run, to_model

__all__ = ["NamxModule", "from_model", "to_model", "map_weights", "run", "save", "load"]
