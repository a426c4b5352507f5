"""namx installs everywhere: its dependencies resolve on every platform, and the core works alone.

The resolution test asks PyPI (pip's dry run with --platform/--only-binary, so only wheels for
that platform count) for namx's core dependencies plus the `all` extra on Linux x86-64 and
aarch64, macOS arm64 and Windows x86-64 with Python 3.11. pip evaluates environment markers for
the machine it runs on, not for --platform, so namx's own markers are evaluated here for each
target (packaging.markers) before the requirements go to pip. Without network it skips, except
in CI, where it fails.

The core-only test runs namx in a subprocess where the runtime extras' packages (ai-edge-litert,
tflite-micro) cannot be imported, as on a machine where `pip install namx` installed neither.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib

import pytest
from conftest import REPO
from packaging.markers import default_environment
from packaging.requirements import Requirement

PYTHON = "3.11"
# pip takes manylinux tags literally (a wheel tagged manylinux_2_27 does not match a
# --platform manylinux_2_28): list the glibc levels a current distribution accepts.
MANYLINUX = [f"manylinux_2_{v}" for v in (17, 27, 28, 31, 34, 35)] + ["manylinux2014"]
PLATFORMS = {
    "linux-x86_64": ([f"{m}_x86_64" for m in MANYLINUX], {"sys_platform": "linux", "platform_system": "Linux",
                                                         "platform_machine": "x86_64", "os_name": "posix"}),
    "linux-aarch64": ([f"{m}_aarch64" for m in MANYLINUX], {"sys_platform": "linux", "platform_system": "Linux",
                                                           "platform_machine": "aarch64", "os_name": "posix"}),
    "macos-arm64": (["macosx_14_0_arm64"], {"sys_platform": "darwin", "platform_system": "Darwin",
                                            "platform_machine": "arm64", "os_name": "posix"}),
    "windows-x86_64": (["win_amd64"], {"sys_platform": "win32", "platform_system": "Windows",
                                       "platform_machine": "AMD64", "os_name": "nt"}),
}
HIDDEN = ("ai_edge_litert", "tflite_micro")


def requirements(environment: dict, extras: tuple[str, ...]) -> list[str]:
    """namx's requirements (core plus `extras`, nested extras expanded) that apply on a platform."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    optional = project["optional-dependencies"]
    todo, out = list(project["dependencies"]) + [r for e in extras for r in optional[e]], []
    while todo:
        req = Requirement(todo.pop(0))
        if req.name == "namx":
            todo += [r for e in req.extras for r in optional[e]]
        elif req.marker is None or req.marker.evaluate({**environment}):
            req.marker = None
            out.append(str(req))
    return out


def test_requirements_follow_the_markers():
    linux = {**default_environment(), **PLATFORMS["linux-x86_64"][1]}
    mac = {**default_environment(), **PLATFORMS["macos-arm64"][1]}
    assert any(r.startswith("tflite-micro==") for r in requirements(linux, ("all",)))
    assert not any(r.startswith("tflite-micro") for r in requirements(mac, ("all",)))
    core = requirements(linux, ())
    assert not any(r.startswith(("tflite-micro", "ai-edge-litert", "torch")) for r in core)
    assert any(r.startswith("tflite>=") for r in core)  # the exporter's schema classes


@pytest.mark.slow
@pytest.mark.parametrize("platform", PLATFORMS)
def test_dependencies_resolve_on_every_platform(platform, tmp_path):
    tags, markers = PLATFORMS[platform]
    environment = {**default_environment(), **markers, "python_version": PYTHON, "python_full_version": f"{PYTHON}.0"}
    reqs = requirements(environment, ("all",))
    cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--only-binary=:all:",
           "--python-version", PYTHON, "--target", str(tmp_path / "target"), "--report", str(tmp_path / "r.json"),
           "--quiet", "--disable-pip-version-check", *[a for t in tags for a in ("--platform", t)], *reqs]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if r.returncode != 0 and ("NewConnectionError" in r.stderr or "Network is unreachable" in r.stderr) \
            and not os.environ.get("CI"):
        pytest.skip("no network to PyPI")
    assert r.returncode == 0, r.stderr[-2000:]
    installed = {i["metadata"]["name"].lower().replace("_", "-") for i in json.loads((tmp_path / "r.json").read_text())["install"]}
    expected = {Requirement(q).name.lower().replace("_", "-") for q in reqs}
    assert expected <= installed


def _core_only(*args, cwd) -> subprocess.CompletedProcess:
    """`namx ARGS` with the runtime extras' packages unimportable (a meta-path finder refuses them)."""
    blocker = ("import sys\n"
               "class Hide:\n"
               f"    def find_spec(self, name, path=None, target=None):\n"
               f"        if name.split('.')[0] in {HIDDEN!r}:\n"
               "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
               "sys.meta_path.insert(0, Hide())\n"
               "from namx.cli import main\n"
               "sys.exit(main(sys.argv[1:]))\n")
    return subprocess.run([sys.executable, "-c", blocker, *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_core_alone_converts_to_tflite_and_names_the_missing_extras(tmp_path):
    r = _core_only("convert", "A2", "--to", "tflite", "--width", "3", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "A2.w3.tflite").read_bytes()[4:8] == b"TFL3"
    r = _core_only("info", "--runtimes", cwd=tmp_path)
    assert r.returncode == 0
    lines = dict(line.split(None, 1) for line in r.stdout.splitlines())
    assert lines["numpy"] == "installed" and lines["onnxruntime"] == "installed"
    assert 'pip install "namx[tflm]"' in lines["tflm"] and 'pip install "namx[litert]"' in lines["litert"]
    x = tmp_path / "x.npy"
    subprocess.run([sys.executable, "-c", f"import numpy as np; np.save({str(x)!r}, np.zeros(64, 'float32'))"], check=True)
    for runtime, extra in (("tflm", "tflm"), ("litert", "litert")):
        r = _core_only("run", "A2", str(x), str(tmp_path / "y.npy"), "--runtime", runtime, cwd=tmp_path)
        assert r.returncode == 2 and r.stdout == ""
        assert r.stderr.strip().splitlines() == [
            f"namx: runtime {runtime!r} is not installed: pip install \"namx[{extra}]\""
            + (" (tflite-micro, Linux x86-64 only)" if runtime == "tflm" else " (ai-edge-litert)")]
        assert not (tmp_path / "y.npy").exists()
    r = _core_only("conform", "--quick", "--widths", "3", "--block-sizes", "64", "--repeats", "0",
                   "--report", str(tmp_path / "rep"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    report = json.loads((tmp_path / "rep" / "report.json").read_text())
    not_installed = {n["name"] for n in report["not_installed"]}
    assert not_installed - {"c"} == {"litert", "tflm"}
    c = set() if "c" in not_installed else {"c"}  # runtime c needs a C compiler, no extra
    assert {rt["name"] for rt in report["runtimes"]} == {"numpy", "onnxruntime", "onnxruntime-dynamic"} | c
