"""Synthetic .nam objects for tests: valid configs with seeded random weights of the right count."""
from __future__ import annotations

import copy

import numpy as np

from namx.loader import weights_needed


def with_weights(obj: dict, seed: int = 0, scale: float = 0.3) -> dict:
    obj = copy.deepcopy(obj)
    n = weights_needed(obj)
    obj["weights"] = (np.random.default_rng(seed).standard_normal(n) * scale).tolist()
    return obj


def nam(architecture: str, config: dict, version: str = "0.7.0", sample_rate=48000, **extra) -> dict:
    obj = {"version": version, "architecture": architecture, "config": config, "weights": [], **extra}
    if sample_rate is not None:
        obj["sample_rate"] = sample_rate
    return obj


def layer_array(channels=3, dilations=(1, 2), kernel=3, input_size=1, head_size=1, activation="Tanh", **extra):
    cfg = {"input_size": input_size, "condition_size": 1, "channels": channels, "dilations": list(dilations),
           "kernel_size": kernel, "activation": activation,
           "head": {"out_channels": head_size, "kernel_size": 1, "bias": True}}
    cfg.update(extra)
    return cfg


def wavenet(arrays=None, seed=0, head_scale=0.5, **extra) -> dict:
    config = {"layers": arrays or [layer_array()], "head": None, "head_scale": head_scale, **extra}
    return with_weights(nam("WaveNet", config), seed)


def convnet(channels=3, dilations=(1, 2, 4), batchnorm=False, activation="Tanh", seed=0, **extra) -> dict:
    config = {"channels": channels, "dilations": list(dilations), "batchnorm": batchnorm, "activation": activation,
              **extra}
    obj = with_weights(nam("ConvNet", config), seed)
    if batchnorm:  # running variances and eps must be positive
        rng = np.random.default_rng(seed + 1)
        w, i = obj["weights"], 0
        for b, _ in enumerate(dilations):
            cin = 1 if b == 0 else channels
            i += channels * cin * 2  # conv without bias
            w[i + channels:i + 2 * channels] = rng.uniform(0.5, 2.0, channels).tolist()
            i += 4 * channels
            w[i] = 1e-5
            i += 1
    return obj
