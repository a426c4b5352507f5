"""Audio files in and out: WAV (and anything soundfile reads) or .npy; outputs are written atomically."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import numpy as np

from .errors import NamxError

OUTPUT_FORMATS = (".wav", ".npy")


def read_audio(path: str | Path, channel: int | None = None) -> tuple[np.ndarray, float | None]:
    """Mono float32 samples and the file's sample rate (None for .npy, which has none).

    `channel` picks one channel of a multichannel file; without it the file must be mono."""
    p = Path(path)
    if not p.exists():
        raise NamxError(f"{p}: no such file")
    if p.is_dir():
        raise NamxError(f"{p}: is a directory, not an audio file")
    if p.suffix.lower() == ".npy":
        try:
            x = np.load(p, allow_pickle=False)
        except (ValueError, OSError, EOFError) as e:
            raise NamxError(f"{p}: not a readable .npy array ({_first_line(e)})") from None
        if x.ndim == 2 and 1 in x.shape:
            x = x.reshape(-1)
        if x.ndim != 1:
            raise NamxError(f"{p}: has shape {x.shape}; namx needs mono audio (a 1-D array)")
        if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
            raise NamxError(f"{p}: holds {x.dtype} values; namx needs real-valued samples")
        rate = None
    else:
        import soundfile
        try:
            x, rate = soundfile.read(str(p), dtype="float32", always_2d=True)
        except (soundfile.LibsndfileError, RuntimeError, TypeError) as e:
            raise NamxError(f"{p}: not a readable audio file ({_first_line(e)})") from None
        if channel is not None and not 0 <= channel < x.shape[1]:
            raise NamxError(f"{p}: has no channel {channel} (it has {x.shape[1]}: 0..{x.shape[1] - 1})")
        if channel is None and x.shape[1] != 1:
            raise NamxError(f"{p}: has {x.shape[1]} channels; namx needs mono audio (mix it down to mono, "
                            "or pick one channel with --channel N, 0 for the first)")
        x = x[:, channel or 0]
    if x.size == 0:
        raise NamxError(f"{p}: contains no samples")
    return np.ascontiguousarray(x, dtype=np.float32), (None if rate is None else float(rate))


def check_output_path(path: str | Path, force: bool, suffixes=OUTPUT_FORMATS) -> Path:
    """Fail early (before any work) if `path` cannot or must not be written (`suffixes`: allowed endings)."""
    p = Path(path)
    if p.suffix.lower() not in suffixes:
        raise NamxError(f"{p}: output must end in {' or '.join(suffixes)}")
    if not p.parent.is_dir():
        raise NamxError(f"{p}: folder {p.parent} does not exist")
    if p.is_dir():
        raise NamxError(f"{p}: is a directory")
    if p.exists() and not force:
        raise NamxError(f"{p}: already exists (use --force to overwrite)")
    return p


def write_audio(path: str | Path, samples: np.ndarray, sample_rate: float, force: bool = False) -> None:
    """Write float32 mono audio as WAV (32-bit float) or .npy, atomically."""
    p = check_output_path(path, force)
    data = np.asarray(samples, dtype=np.float32).reshape(-1)
    with atomic_output(p) as tmp:
        if p.suffix.lower() == ".npy":
            with open(tmp, "wb") as f:
                np.save(f, data, allow_pickle=False)
        else:
            import soundfile
            soundfile.write(str(tmp), data, int(round(sample_rate)), subtype="FLOAT", format="WAV")


@contextlib.contextmanager
def atomic_output(path: Path):
    """Yield a temporary path beside `path`; rename it into place only if the block succeeds."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual permissions
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _first_line(e: Exception) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__
