"""The ONNX machinery benchmarks run and print a finite figure in every column (their speeds are
for a quiet machine, not for tests: only that the scripts work is checked here)."""
from __future__ import annotations

import math
import subprocess
import sys

from conftest import REPO

BENCH = REPO / "benchmarks"


def _run(args: list) -> list[list[str]]:
    r = subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert r.returncode == 0, r.stderr
    return [line.split() for line in r.stdout.splitlines()]


def _positive(values: list[str]) -> None:
    assert all(math.isfinite(float(v)) and float(v) > 0 for v in values), values


def test_bench_onnx_reset_prints_both_ratios_per_width_and_block():
    lines = _run([BENCH / "bench_onnx_reset.py", "slim8", "--widths", "1", "8", "--blocks", "1", "64",
                  "--rounds", "2", "--samples", "64"])
    rows = [row for row in lines if len(row) == 5 and row[0].isdigit() and row[1].isdigit()]
    assert [(r[0], r[1]) for r in rows] == [("1", "1"), ("1", "64"), ("8", "1"), ("8", "64")]
    for row in rows:
        _positive(row[2:])  # µs per call, fixed/no reset, all/fixed


def test_bench_onnx_if_prints_a_cost_per_level():
    lines = _run([BENCH / "bench_onnx_if.py", "--tensors", "3", "--ops", "4", "--depths", "1", "2",
                  "--rounds", "2", "--calls", "2"])
    rows = [row for row in lines if row[:1] in (["states"], ["ops"])]
    # per graph: depth 0 (its time), then depths 1 and 2 (time, cost per level, per tensor or op)
    assert [(row[0], row[3], len(row)) for row in rows] == [(g, d, n) for g in ("states", "ops")
                                                           for d, n in (("0", 5), ("1", 7), ("2", 7))]
    for row in rows:
        _positive(row[4:5])
        # per-level costs: finite numbers (negative possible with so few calls)
        assert all(math.isfinite(float(v)) for v in row[5:]), row
