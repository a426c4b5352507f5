"""Audio files in and out: WAV (and anything soundfile reads) or .npy, streamed block by block.

Inputs are read a block at a time (soundfile, or a memory-mapped .npy) so memory does not grow with
their length; a length over namx.limits' audio_samples is refused from the header, before reading.
Outputs are written a block at a time into a temporary file that becomes the output only when
complete (namx.outputs.atomic_output).
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import NamxError
from .inputs import open_regular
from .limits import current as current_limits
from .outputs import atomic_output, check_output_path, write_error

OUTPUT_FORMATS = (".wav", ".npy")
NPY_MAX_HEADER = 10_000  # bytes; numpy's own default limit for a .npy header


@dataclass
class AudioInput:
    """An open mono input: `samples` long at `rate` Hz (None for .npy, which has none)."""

    path: Path
    samples: int
    rate: float | None
    _file: object
    _array: np.ndarray | None = None  # .npy: the memory-mapped samples
    channel: int = 0  # the channel read from a multichannel file

    def blocks(self, n: int, cuts=()) -> Iterator[tuple[int, np.ndarray]]:
        """(start, samples) as float32 blocks of `n`; a block also ends at each sample index in
        `cuts`, and the blocks after it count from there (`namx run --schedule`)."""
        ends = iter(sorted(c for c in cuts if 0 < c < self.samples))
        cut, start = next(ends, self.samples), 0
        while start < self.samples:
            stop = min(start + n, cut)
            if stop == cut:
                cut = next(ends, self.samples)
            if self._array is not None:
                block = self._array[start:stop]
            else:
                block = self._file.read(stop - start, dtype="float32", always_2d=True)[:, self.channel]
                if block.size == 0:
                    raise NamxError(f"{self.path}: ends after {start} of the {self.samples} samples its header declares")
            yield start, np.ascontiguousarray(block, dtype=np.float32)
            start = stop

    def close(self) -> None:
        self._array = None
        self._file.close()


@contextlib.contextmanager
def open_audio(path: str | Path, channel: int | None = None):
    """An AudioInput for a mono WAV (or other soundfile format) or .npy file; `channel` picks one
    channel of a multichannel file (without it the file must be mono)."""
    p = Path(path)
    f = open_regular(p, "audio file")
    try:
        audio = _open_npy(p, f, channel) if p.suffix.lower() == ".npy" else _open_soundfile(p, f, channel)
    except BaseException:
        f.close()
        raise
    limits = current_limits()
    if audio.samples == 0:
        audio.close()
        raise NamxError(f"{p}: contains no samples")
    if audio.samples > limits.audio_samples:
        audio.close()
        raise NamxError(f"{p}: {limits.exceeded('audio_samples', f'declares {audio.samples} samples')}")
    try:
        yield audio
    finally:
        audio.close()


def _open_npy(p: Path, f, channel: int | None) -> AudioInput:
    fmt = np.lib.format
    try:
        version = fmt.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(f, max_header_size=NPY_MAX_HEADER)
        else:
            shape, fortran, dtype = fmt.read_array_header_2_0(f, max_header_size=NPY_MAX_HEADER)
    except (ValueError, OSError, EOFError, SyntaxError) as e:
        raise NamxError(f"{p}: not a readable .npy array ({_first_line(e)})") from None
    if dtype.hasobject:
        raise NamxError(f"{p}: holds Python objects; namx reads only numeric .npy arrays")
    if len(shape) == 2 and 1 in shape:
        shape = (shape[0] * shape[1],)
    if len(shape) != 1:
        raise NamxError(f"{p}: has shape {shape}; namx needs mono audio (a 1-D array)")
    if channel:
        raise NamxError(f"{p}: has no channel {channel} (a .npy input is one channel, 0)")
    if not (np.issubdtype(dtype, np.floating) or np.issubdtype(dtype, np.integer)):
        raise NamxError(f"{p}: holds {dtype} values; namx needs real-valued samples")
    n = shape[0]
    if n > current_limits().audio_samples:  # (before any arithmetic on the size)
        return AudioInput(p, n, None, f)
    offset, size = f.tell(), os.fstat(f.fileno()).st_size
    if offset + n * dtype.itemsize > size:
        raise NamxError(f"{p}: the header declares {n} samples but the file holds only "
                        f"{(size - offset) // dtype.itemsize}")
    array = np.memmap(f, dtype=dtype, mode="r", offset=offset, shape=(n,)) if n else None
    return AudioInput(p, n, None, f, array)


def _open_soundfile(p: Path, f, channel: int | None) -> AudioInput:
    import soundfile
    try:
        sf = soundfile.SoundFile(f)
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError) as e:
        raise NamxError(f"{p}: not a readable audio file ({_first_line(e)})") from None
    if channel is not None and not 0 <= channel < sf.channels:
        sf.close()
        raise NamxError(f"{p}: has no channel {channel} (it has {sf.channels}: 0..{sf.channels - 1})")
    if channel is None and sf.channels != 1:
        sf.close()
        raise NamxError(f"{p}: has {sf.channels} channels; namx needs mono audio (mix it down to mono, "
                        "or pick one channel with --channel N, 0 for the first)")
    return AudioInput(p, sf.frames, float(sf.samplerate), sf, channel=channel or 0)


@contextlib.contextmanager
def audio_writer(path: str | Path, samples: int, sample_rate: float, force: bool = False):
    """Yield `write(block)`, taking float32 blocks that add up to `samples`; the file is WAV (32-bit
    float) or .npy by its name and appears only when the block ends without an error."""
    p = check_output_path(path, force, OUTPUT_FORMATS)
    import soundfile
    with atomic_output(p) as tmp:
        if p.suffix.lower() == ".npy":
            with open(tmp, "wb") as f:
                np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": (samples,)})
                yield lambda block: f.write(np.ascontiguousarray(block, "<f4").tobytes())
        else:
            with _soundfile_errors(p):
                f = soundfile.SoundFile(str(tmp), "w", int(round(sample_rate)), 1, "FLOAT", format="WAV")
            with f:
                def write(block):
                    with _soundfile_errors(p):
                        f.write(np.asarray(block, np.float32))
                yield write


@contextlib.contextmanager
def _soundfile_errors(p: Path):
    """libsndfile's write failures (a full disk among them) as namx's one-line write error."""
    import soundfile
    try:
        yield
    except (soundfile.LibsndfileError, RuntimeError) as e:
        raise write_error(p, OSError(_first_line(e))) from None


def write_audio(path: str | Path, samples: np.ndarray, sample_rate: float, force: bool = False) -> None:
    """Write float32 mono audio as WAV (32-bit float) or .npy, atomically."""
    data = np.asarray(samples, dtype=np.float32).reshape(-1)
    with audio_writer(path, data.size, sample_rate, force) as write:
        write(data)


def _first_line(e: Exception) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__
