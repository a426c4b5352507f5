"""examples/vendor/bench.c (C99) plays exported vectors through a vendor's runtime and check-vectors
judges its outputs: a stand-in runtime that replays the expected outputs passes, one that is a
known wrong transform (the identity) fails, and a missing output fails."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from conftest import REPO

from namx.cli import EXIT_FAILED, EXIT_OK, main

FLAGS = ["-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror"]
BENCH = REPO / "examples" / "vendor"

IDENTITY = """
#include <string.h>
#include "bench.h"
int vendor_start(int width, const char *label) { (void)width; (void)label; return 0; }
int vendor_set_width(int width, const char *label) { (void)width; (void)label; return 0; }
int vendor_process(const float *in, float *out, unsigned long n) {
  memcpy(out, in, n * sizeof(float));
  return 0;
}
"""

# Replays the expected output of the stream's width; at the first real width change (a request for
# the active width changes nothing) it goes on with the switching stream's expected output.
REPLAY = """
#include <stdio.h>
#include "bench.h"
#include "vectors.h"
static FILE *expected;
static unsigned long at;
static int active;
static int open_at(const char *path, unsigned long sample) {
  if (expected != NULL) fclose(expected);
  expected = fopen(path, "rb");
  return expected != NULL && fseek(expected, (long)(sample * sizeof(float)), SEEK_SET) == 0 ? 0 : -1;
}
int vendor_start(int width, const char *label) {
  (void)label;
  at = 0;
  active = width;
  return open_at(namx_vec_expected[width], 0);
}
int vendor_set_width(int width, const char *label) {
  (void)label;
  if (width == active) return 0;
  active = width;
  return open_at(NAMX_VEC_SWITCH_EXPECTED, at);
}
int vendor_process(const float *in, float *out, unsigned long n) {
  (void)in;
  at += n;
  return fread(out, sizeof(float), n, expected) == n ? 0 : -1;
}
"""


@pytest.fixture(scope="module")
def vectors(tmp_path_factory):
    compilers = [c for c in ("cc", "gcc", "clang") if shutil.which(c)]
    if "cc" not in compilers:
        (pytest.fail if os.environ.get("CI") else pytest.skip)("no C compiler (cc)")
    folder = tmp_path_factory.mktemp("vectors") / "v"
    assert main(["conform", "export-vectors", str(folder), "--quick"]) == EXIT_OK
    assert (folder / "vectors.h").is_file()
    return folder, compilers


def _bench(folder, tmp_path, runtime: str, compiler: str = "cc"):
    (tmp_path / "runtime.c").write_text(runtime)
    exe = tmp_path / f"bench-{compiler}"
    r = subprocess.run([compiler, *FLAGS, "-I", str(folder), "-I", str(BENCH), str(BENCH / "bench.c"),
                        str(tmp_path / "runtime.c"), "-o", str(exe)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    r = subprocess.run([str(exe), str(folder), str(out)], cwd=folder, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return out


def test_replaying_the_expected_outputs_passes(vectors, tmp_path, capsys):
    folder, compilers = vectors
    for compiler in compilers:  # the system compiler, and every other one here
        out = _bench(folder, tmp_path, REPLAY, compiler)
        assert main(["conform", "check-vectors", str(folder), "--outputs", str(out)]) == EXIT_OK
        lines = capsys.readouterr().out.splitlines()
        assert lines[-1] == "PASS" and sum(line.startswith("pass ") for line in lines) == 2 * 3 + 2  # widths x
        # blocks (64, 2048, random) + switching at 64 and 2048


def test_a_wrong_transform_fails(vectors, tmp_path, capsys):
    folder, _ = vectors
    out = _bench(folder, tmp_path, IDENTITY)
    assert main(["conform", "check-vectors", str(folder), "--outputs", str(out)]) == EXIT_FAILED
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "FAIL" and not any(line.startswith("pass ") for line in lines)


def test_a_missing_output_fails(vectors, tmp_path, capsys):
    folder, _ = vectors
    out = _bench(folder, tmp_path, REPLAY)
    (out / "w3.brandom.f32").unlink()
    assert main(["conform", "check-vectors", str(folder), "--outputs", str(out)]) == EXIT_FAILED
    text = capsys.readouterr().out
    assert "FAIL  outputs:" in text and "w3.brandom.f32: no such file" in text
