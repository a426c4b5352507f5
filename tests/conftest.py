"""Shared test setup. The golden corpus is read through one setting: NAMX_SHARED.

.ci/run sets NAMX_SHARED to the shared/ folder beside the checkout, so CI runs every corpus test.
Locally, ../shared is used when it exists; without either, corpus tests are skipped (never in CI:
there, a missing corpus is an error).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from namx.metrics import esr_db, max_abs_error

REPO = Path(__file__).resolve().parent.parent


def _shared_dir() -> Path | None:
    setting = os.environ.get("NAMX_SHARED")
    if setting:
        path = Path(setting)
        if not (path / "golden" / "index.json").exists():
            raise pytest.UsageError(f"NAMX_SHARED={setting} has no golden/index.json")
        return path
    default = REPO.parent / "shared"
    if (default / "golden" / "index.json").exists():
        return default
    if os.environ.get("CI"):
        raise pytest.UsageError("CI=true but no shared corpus: set NAMX_SHARED")
    return None


SHARED = _shared_dir()
GOLDEN = json.loads((SHARED / "golden" / "index.json").read_text())["outputs"] if SHARED else []


def golden_id(entry) -> str:
    return Path(entry["output"]).stem


@pytest.fixture(scope="session")
def shared() -> Path:
    if SHARED is None:
        pytest.skip("shared corpus not found (set NAMX_SHARED)")
    return SHARED


@pytest.fixture(scope="session")
def golden_input(shared) -> np.ndarray:
    return np.load(shared / "golden" / "inputs" / "mix_2s.npy")


@pytest.fixture(scope="session")
def private_namx_cache(tmp_path_factory):
    """The C runtime's compiled libraries (NAMX_CACHE) in a folder of this test session's own."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NAMX_CACHE", str(tmp_path_factory.mktemp("namx-cache")))
        yield


def model_path(shared: Path, rel: str) -> Path:
    return shared / rel


def shared_models() -> list[Path]:
    return sorted((SHARED / "models").rglob("*.nam")) if SHARED else []


def assert_matches_golden(y, entry, shared: Path, precision: str):
    """The acceptance check: ESR and max |err| within the entry's bounds for this precision."""
    ref = np.load(shared / "golden" / entry["output"]).astype(np.float64)
    y = np.asarray(y, np.float64)
    assert y.shape == ref.shape
    assert np.isfinite(y).all()
    esr, mx = esr_db(y, ref), max_abs_error(y, ref)
    assert esr <= entry[f"tol_esr_db_{precision}"], f"ESR {esr:.1f} dB > {entry[f'tol_esr_db_{precision}']}"
    assert mx <= entry[f"tol_max_abs_{precision}"], f"max|err| {mx:.2e} > {entry[f'tol_max_abs_{precision}']}"


def stream(streamer, x, blocks) -> np.ndarray:
    """Run x through a streamer in the given block lengths (cycled) and concatenate."""
    out, i, k = [], 0, 0
    blocks = list(blocks)
    while i < len(x):
        n = blocks[k % len(blocks)]
        out.append(streamer.process(x[i:i + n]))
        i, k = i + n, k + 1
    return np.concatenate(out)
