"""`namx run`: an audio file streamed block by block through a runtime into another file."""
from __future__ import annotations

import sys

import numpy as np

from namx.audio import audio_writer, open_audio
from namx.errors import NamxError

from . import open_streamer


def play_file(model, source: str, output: str, runtime: str, changes: dict[int, str | None], *,
              slim: float | None = None, block_size: int = 64, channel: int | None = None, force: bool = False,
              **options) -> int:
    """Play `source` through `model` in `runtime` into `output`; return how many input samples were NaN.

    `changes` maps samples to widths ({0: width} for one width; None: the widest, or `slim`'s); each
    change takes effect at its sample. Memory does not grow with the input's length: block by block
    from the input file to the output file, which appears only when complete (namx.outputs)."""
    with open_audio(source, channel=channel) as audio:
        if audio.rate is not None and audio.rate != model.sample_rate:
            raise NamxError(f"{source}: is {audio.rate:g} Hz but the model runs at {model.sample_rate:g} Hz "
                            "(resample the input first)")
        streamer = open_streamer(runtime, model, changes[0], slim=slim, **options)
        bar = _progress(audio.samples, f"{streamer.runtime} width {streamer.width}")
        nans = 0
        # blocks end at each width change, so it takes effect at its sample
        with audio_writer(output, audio.samples, model.sample_rate, force=force) as write:
            for start, block in audio.blocks(block_size, cuts=changes):
                if start in changes:
                    streamer.width = changes[start]
                nans += int(np.isnan(block).sum())
                write(streamer.process(block))
                bar.update(block.size)
        bar.close()
    return nans


def _progress(total: int, desc: str):
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, unit="sample", unit_scale=True, disable=not sys.stderr.isatty(),
                file=sys.stderr, leave=False)
