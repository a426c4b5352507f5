"""namx in PyTorch (`pip install namx[torch]`): a namx Model as a trainable nn.Module.

    import namx, namx.torch
    module = namx.torch.from_model(namx.load("amp.nam"))
    y = module(x, width="3")                      # x: (T,), (N, T) or (N, 1, T) tensor
    namx.writer.save(namx.torch.to_model(module), "out.nam")

The core (namx, namx.converters for .nam input, namx.runtimes) never imports this package.
"""
from .module import NamxModule, from_model, map_weights, run, to_model

__all__ = ["NamxModule", "from_model", "to_model", "map_weights", "run"]
