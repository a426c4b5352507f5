"""Slimmable training, the Slimmable NAM paper's method (arXiv 2511.07470), on the CPU.

Every mini-batch draws one width uniformly from the widths the model offers, runs the model at
that width (a channel-sliced WaveNet indexes its full parameters, namx.widths), and backpropagates
into the full weights; narrow widths thus train the leading channels that every wider width
shares. The loss is the error-to-signal ratio, optionally plus a multi-resolution STFT loss.
Training is deterministic for a given seed on one thread.

    module = namx.torch.from_model(untrained)
    history = namx.torch.train.train(module, x, y, steps=2000, seed=0)
    namx.writer.save(namx.torch.to_model(module), "slim.nam")
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass

import numpy as np
import torch

from namx.errors import NamxError
from namx.stats import receptive_field

from namx.model import LSTM, BatchNorm, Conv, ConvNet, Linear, LSTMCell, Model

from .module import NamxModule, map_weights


def init_weights(model: Model, seed: int = 0) -> Model:
    """The model with fresh weights, initialised as PyTorch initialises the layers they come from.

    Convolutions, LSTMs and linear heads draw uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) (fan_in =
    in/groups * kernel for a conv, the hidden size for an LSTM, the channels for a head);
    batchnorms start as the identity; LSTM initial states and a Linear's bias start at zero.
    Draws come from numpy's default_rng(seed) in weight order. A WaveNet's head_scale is a
    constant of the architecture, not a trained weight: it is kept.
    """
    rng = np.random.default_rng(seed)

    def fresh(path, value, owner, field):
        shape = np.shape(value)
        if isinstance(owner, Conv):
            fan_in = owner.weight.shape[1] * owner.weight.shape[2]
        elif isinstance(owner, (LSTMCell, LSTM)) and field in ("w", "b", "head_w", "head_b"):
            fan_in = owner.hidden_size
        elif isinstance(owner, ConvNet):
            fan_in = owner.channels
        elif isinstance(owner, Linear) and field == "taps":
            fan_in = owner.taps.size
        elif isinstance(owner, BatchNorm) and field in ("weight", "var"):
            return np.ones(shape, np.float32)
        elif isinstance(owner, Linear):
            return 0.0
        else:  # batchnorm mean/bias, LSTM h0/c0
            return np.zeros(shape, np.float32)
        bound = 1 / math.sqrt(fan_in)
        return rng.uniform(-bound, bound, shape).astype(np.float32)

    return map_weights(model, fresh)


def esr_loss(y: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Error-to-signal ratio over the whole batch: sum((y - t)^2) / sum(t^2)."""
    return ((y - target) ** 2).sum() / (target ** 2).sum().clamp_min(1e-12)


def mrstft_loss(y: torch.Tensor, target: torch.Tensor, ffts=(256, 1024, 4096)) -> torch.Tensor:
    """Multi-resolution STFT loss: per FFT size, spectral convergence + L1 of log magnitudes."""
    total = y.new_zeros(())
    y2, t2 = y.reshape(-1, y.shape[-1]), target.reshape(-1, target.shape[-1])
    for n in ffts:
        window = torch.hann_window(n, dtype=y.dtype, device=y.device)
        spec = [torch.stft(s, n, n // 4, window=window, return_complex=True).abs() for s in (y2, t2)]
        sc = torch.linalg.norm(spec[1] - spec[0]) / torch.linalg.norm(spec[1]).clamp_min(1e-12)
        log = (torch.log(spec[0] + 1e-7) - torch.log(spec[1] + 1e-7)).abs().mean()
        total = total + sc + log
    return total / len(ffts)


@dataclass
class TrainConfig:
    steps: int = 2000
    batch_size: int = 8
    segment: int = 8192          # output samples per example (the input adds the receptive field)
    lr: float = 4e-3
    lr_final: float = 1e-4       # cosine decay from lr to lr_final over the steps
    stft_weight: float = 0.0     # weight of the multi-resolution STFT loss (0: ESR only)
    seed: int = 0
    progress: bool = True
    validate_every: int = 0      # with a `validate` callable: score the module every this many steps
    validate_from: int = 0       # ... from this step on (and after the last step)


def train(module: NamxModule, x: np.ndarray, y: np.ndarray, config: TrainConfig | None = None,
          validate=None, **overrides) -> list[tuple[str, float]]:
    """Train `module` to map x to y (1-D float arrays of equal length) at every width it offers.

    Returns (width label, loss) per step. Uses torch's current thread setting; set
    torch.set_num_threads(1) for a run that reproduces bit for bit.
    With `validate(module) -> float` (lower is better; not run under autograd) and
    `validate_every`, the module is scored at those steps and after the last one, and ends with
    the weights of the best-scoring checkpoint (model selection on validation data).
    """
    cfg = config or TrainConfig()
    for key, value in overrides.items():
        if not hasattr(cfg, key):
            raise NamxError(f"unknown training option {key!r}")
        setattr(cfg, key, value)
    x = torch.as_tensor(np.asarray(x, np.float32))
    y = torch.as_tensor(np.asarray(y, np.float32))
    if x.shape != y.shape or x.dim() != 1:
        raise NamxError(f"input and target must be 1-D and equally long (got {tuple(x.shape)} and {tuple(y.shape)})")
    levels = module.widths()
    rfs = {lv.index: receptive_field(module.skeleton.at(lv)) or 1 for lv in levels}
    span = cfg.segment + max(rfs.values()) - 1
    if x.numel() < span:
        raise NamxError(f"training audio has {x.numel()} samples; one example needs {span}")

    gen = torch.Generator().manual_seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    opt = torch.optim.Adam(module.parameters(), lr=cfg.lr)
    history, best = [], None
    bar = _progress(cfg.steps, cfg.progress)
    module.train()
    for step in range(cfg.steps):
        for group in opt.param_groups:
            group["lr"] = cfg.lr_final + 0.5 * (cfg.lr - cfg.lr_final) * (1 + math.cos(math.pi * step / cfg.steps))
        level = levels[int(torch.randint(len(levels), (1,), generator=gen))]
        starts = torch.randint(0, x.numel() - span + 1, (cfg.batch_size,), generator=gen)
        rf = rfs[level.index]
        offset = span - (cfg.segment + rf - 1)  # every width predicts the same target samples
        xb = torch.stack([x[s + offset:s + span] for s in starts.tolist()])
        yb = torch.stack([y[s + span - cfg.segment:s + span] for s in starts.tolist()])
        out = module(xb, width=level, prewarm=False)
        loss = esr_loss(out, yb)
        if cfg.stft_weight:
            loss = loss + cfg.stft_weight * mrstft_loss(out, yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        history.append((level.label, loss.item()))
        bar.update(1)
        bar.set_postfix(width=level.label, loss=f"{history[-1][1]:.4f}")
        done = step + 1
        if validate is not None and cfg.validate_every and done >= cfg.validate_from and (
                done % cfg.validate_every == 0 or done == cfg.steps):
            module.eval()
            with torch.no_grad():
                score = float(validate(module))
            module.train()
            bar.write(f"step {done}: validation score {score:.4f}")
            if best is None or score < best[0]:
                best = (score, done, {k: v.detach().clone() for k, v in module.state_dict().items()})
    bar.close()
    if best is not None:
        module.load_state_dict(best[2])
        bar.write(f"kept the checkpoint of step {best[1]} (validation score {best[0]:.4f})")
    module.eval()
    return history


def _progress(total: int, enabled: bool):
    from tqdm import tqdm
    return tqdm(total=total, desc="training", unit="step", disable=not enabled, file=sys.stderr)
