"""The vendor conformance suite (spec §11): default run, reports, broken runtimes, adapters, vectors.

CI time: every run here uses the quick program (10 segments of 0.05 s) and few partitions; the
default run is run once per session and its report shared by the tests that read it.
"""
from __future__ import annotations

import json
import os
import shlex
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from namx.conformance import QUICK, Settings, StreamerRuntime, installed_runtimes, resolve, run, validate_report
from namx.conformance.adapters import ENTRY_POINT_GROUP, Switch, partition
from namx.conformance.report import FILES
from namx.conformance.suite import REFERENCE_CHUNK, Reference, switch_schedule
from namx.conformance.vectors import check, export
from namx.runtimes.numpy_ref import ModelRunner, NumpyStreamer

import namx
from namx import bundled
from namx.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main

RUNNER = Path(__file__).resolve().parent / "conform_runner.py"
INSTALLED = installed_runtimes()[0]
FAST = Settings(block_sizes=("64", "random"), seconds=0.05, repeats=0, quick=True)


# Under pytest-xdist (--dist loadgroup) this module runs on one worker, so its expensive
# module- and session-scoped fixtures are computed once, not once per worker.
pytestmark = pytest.mark.xdist_group("conformance")


@pytest.fixture(scope="module")
def example():
    return bundled.load_model(bundled.EXAMPLE)


# ---- the default run ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """`namx conform --quick`: the bundled example x every installed runtime."""
    folder = tmp_path_factory.mktemp("conform") / "report"
    code = main(["conform", "--quick", "--report", str(folder)])
    return code, folder, json.loads((folder / "report.json").read_text())


@pytest.mark.slow
@pytest.mark.spec("11.1", "11.2")
def test_default_run_passes_on_every_installed_runtime(default_run, example):
    code, _, report = default_run
    assert code == EXIT_OK and report["passed"]
    assert [rt["name"] for rt in report["runtimes"]] == INSTALLED  # litert, tflm too, once installed
    widths = [lv.label for lv in example.widths()]
    for rt in report["runtimes"]:
        assert rt["passed"] and rt["level"] == 2 and rt["level_name"] == "A2 streaming"
        assert rt["version"].startswith(f"namx {namx.__version__}") and rt["precision"] in ("float32", "float64")
        played = {(c["width"], c["blocks"]) for c in report["cases"] if c["runtime"] == rt["name"]}
        assert played == {(w, b) for w in widths for b in QUICK.block_sizes}
        switches = [s for s in report["switches"] if s["runtime"] == rt["name"]]
        assert len(switches) == len(QUICK.block_sizes)
        assert all({"3", "8"} <= {e["width"] for e in s["schedule"]} for s in switches)
        assert {s["width"] for s in report["speed"] if s["runtime"] == rt["name"]} == set(widths)
    assert all(c["finite"] and c["esr_db"] <= c["bound_esr_db"] and c["max_abs"] <= c["bound_max_abs"]
               for c in report["cases"] + report["switches"])


@pytest.mark.slow
@pytest.mark.spec("11.2")
def test_report_states_what_the_spec_requires(default_run):
    _, _, report = default_run
    validate_report(report)
    assert report["spec_version"] == namx.SPEC_VERSION and report["schema_version"] == "1.0"
    assert "float64" in report["reference"]["implementation"] and "daae2d0b" in report["reference"]["reproduces"]
    model = report["models"][0]
    assert model["name"] == "example" and len(model["input"]["sha256"]) == 64
    assert [s["name"] for s in model["input"]["segments"]][:2] == ["silence", "impulse"]
    for c in report["cases"]:
        assert {"esr_db", "max_abs", "bound_esr_db", "bound_max_abs", "finite", "passed", "blocks", "width"} <= set(c)
        assert c["bound_esr_db"] >= -120 and c["bound_max_abs"] >= 1e-5  # spec §8.3 floors of the bounds
        assert len(c["segments"]) == 10
    for s in report["speed"]:
        assert 0 < s["rtf_min"] <= s["rtf_median"] <= s["rtf_max"] and s["repeats"] == QUICK.repeats
        assert s["load_average"] is None or len(s["load_average"]) == 3
    env = report["environment"]
    assert env["threads"] == 1 and env["cpu_count"] >= 1 and "numpy" in env["packages"]


@pytest.mark.slow
def test_report_schema_rejects_a_report_missing_a_required_field(default_run):
    import jsonschema
    _, _, report = default_run
    broken = json.loads(json.dumps(report))
    del broken["cases"][0]["bound_esr_db"]
    with pytest.raises(jsonschema.ValidationError):
        validate_report(broken)
    broken = json.loads(json.dumps(report))
    broken["spec_version"] = "one"
    with pytest.raises(jsonschema.ValidationError):
        validate_report(broken)


@pytest.mark.slow
@pytest.mark.spec("11.2")
def test_markdown_report_has_every_stream(default_run):
    _, folder, report = default_run
    md = (folder / "report.md").read_text()
    assert md.startswith("# namx conformance report") and "**PASS**" in md and f"A2 spec {namx.SPEC_VERSION}" in md
    rows = [line for line in md.splitlines() if line.startswith("| example |")]
    assert len(rows) == len(report["cases"]) + len(report["switches"]) + len(report["speed"])
    for rt in report["runtimes"]:
        assert f"| `{rt['name']}` | {rt['kind']} | {rt['version']} | {rt['precision']} |" in md
    assert "## Speed" in md and "load average" in md.lower()


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.mark.slow
def test_plots_are_real_pngs(default_run):
    import matplotlib.image
    _, folder, _ = default_run
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILES)
    for name in ("error.png", "rtf.png"):
        w, h = _png_size(folder / name)
        assert 600 <= w <= 2000 and 300 <= h <= 2000
        img = matplotlib.image.imread(folder / name)
        assert img.shape[:2] == (h, w) and img[..., :3].std() > 0.05  # drawn, not blank


def test_run_does_not_import_matplotlib():
    code = ("import sys, namx.cli, namx.conformance, namx.runtimes.numpy_ref; namx.cli.main(['info', 'example']); "
            "print('matplotlib' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip().endswith("False")


@pytest.mark.slow
def test_existing_report_is_not_overwritten_without_force(default_run, capsys):
    _, folder, _ = default_run
    before = (folder / "report.json").read_bytes()
    assert main(["conform", "--quick", "--report", str(folder)]) == EXIT_USAGE
    assert "already exists (use --force" in capsys.readouterr().err
    assert (folder / "report.json").read_bytes() == before


@pytest.mark.parametrize("args, message", [
    (["--block-sizes", "0"], "block size '0'"),
    (["--block-sizes", "64,big"], "block size 'big'"),
    (["--widths", "5"], "offers"),
    (["--runtime", "nonesuch"], "unknown runtime 'nonesuch'"),
    (["--seconds", "-1"], "--seconds"),
    (["no-such.nam"], "no-such.nam"),
])
def test_usage_errors_exit_2_with_one_line(tmp_path, capsys, args, message):
    assert main(["conform", "--quick", "--report", str(tmp_path / "r"), *args]) == EXIT_USAGE
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("namx: ") and message in err[0]
    assert not (tmp_path / "r" / "report.json").exists()


def test_default_settings_are_the_full_run():
    from namx.cli import _suite_settings, build_parser
    full = _suite_settings(build_parser().parse_args(["conform"]))
    assert full == Settings() and full.block_sizes == ("64", "1+64", "2048", "random")
    quick = _suite_settings(build_parser().parse_args(["conform", "--quick", "--block-sizes", "7,48"]))
    assert quick.block_sizes == ("7", "48") and quick.seconds == QUICK.seconds


# ---- broken runtimes are caught -----------------------------------------------------------------

class Healthy(NumpyStreamer):
    """The reference in float32: a correct float32 runtime (the control)."""
    runtime = "healthy"

    def __init__(self, model, width=None, *, slim=None):
        super().__init__(model, width, slim=slim, precision="float32")


class OffBy1e3(Healthy):
    def process(self, block):
        return super().process(block) + 1e-3


class IgnoresWidth(Healthy):
    def _open(self, level):
        return super()._open(self.levels[-1])  # always the widest


class ZeroStart(ModelRunner):
    def reset(self):
        self.net.zero()  # the zero state, not the prewarmed one


class NoPrewarm(Healthy):
    def _open(self, level):
        return ZeroStart(self.model.at(level), self.dtype)


class DropsState(Healthy):
    def process(self, block):
        self.reset()  # every block starts from the initial state
        return super().process(block)


class NanOnSilence(Healthy):
    def process(self, block):
        y = super().process(block)
        return np.full_like(y, np.nan) if not np.any(block) else y


class ResetKeepsState(Healthy):
    def reset(self):
        pass  # keeps whatever state the last stream left


class Crashes(Healthy):
    def process(self, block):
        if block.size == 1:
            raise RuntimeError("kernel crashed\nsecond line")
        return super().process(block)


class DropsASample(Healthy):
    def process(self, block):
        return super().process(block)[1:]


@pytest.fixture(scope="module")
def broken_reports(example):
    cache = {}

    def report(cls):
        if cls not in cache:
            cache[cls] = run([example], [StreamerRuntime(cls.__name__, cls)], FAST)
            validate_report(cache[cls])
        return cache[cls]
    return report


@pytest.mark.slow
def test_the_control_passes(broken_reports):
    r = broken_reports(Healthy)
    assert r["passed"] and r["runtimes"][0]["level"] == 2 and r["runtimes"][0]["precision"] == "float32"
    assert [c["reset"] is not None and c["reset"]["passed"] for c in r["cases"]] == [True, False, True, False]


@pytest.mark.slow
@pytest.mark.spec("8.3")
def test_output_off_by_1e3_is_caught(broken_reports):
    r = broken_reports(OffBy1e3)
    assert not r["passed"] and r["runtimes"][0]["level"] == 0
    for c in r["cases"] + r["switches"]:
        assert not c["passed"] and c["finite"] and c["max_abs"] == pytest.approx(1e-3, rel=0.01)
    assert all(c["invariance"] is None or c["invariance"]["passed"] for c in r["cases"])  # wrong, but consistently


@pytest.mark.slow
@pytest.mark.spec("6.1", "7.3", "11.1")
def test_ignoring_the_width_is_caught(broken_reports):
    r = broken_reports(IgnoresWidth)
    assert not r["passed"] and r["runtimes"][0]["level"] == 0
    assert not any(c["passed"] for c in r["cases"] if c["width"] == "3")
    assert all(c["passed"] for c in r["cases"] if c["width"] == "8")  # the widest is right
    assert not any(s["passed"] for s in r["switches"])


@pytest.mark.slow
@pytest.mark.spec("7.1")
def test_a_missing_prewarm_is_caught(broken_reports):
    r = broken_reports(NoPrewarm)
    assert not r["passed"]
    for c in r["cases"]:
        seg = {s["name"]: s for s in c["segments"]}
        assert not c["passed"] and seg["silence"]["max_abs"] > c["bound_max_abs"]
        assert seg["loud"]["max_abs"] <= c["bound_max_abs"]  # past the receptive field it recovers


@pytest.mark.slow
@pytest.mark.spec("7.2")
def test_dropping_state_between_blocks_is_caught(broken_reports):
    r = broken_reports(DropsState)
    assert not r["passed"] and not any(c["passed"] for c in r["cases"])
    assert all(not c["invariance"]["passed"] for c in r["cases"] if c["blocks"] == "random")


@pytest.mark.slow
@pytest.mark.spec("8.3")
def test_nan_on_silence_is_caught(broken_reports):
    r = broken_reports(NanOnSilence)
    assert not r["passed"]
    for c in r["cases"]:
        assert not c["passed"] and not c["finite"] and c["esr_db"] is None
        assert not {s["name"]: s for s in c["segments"]}["silence"]["finite"]


@pytest.mark.slow
@pytest.mark.spec("7.1")
def test_a_reset_that_keeps_the_state_is_caught(broken_reports):
    r = broken_reports(ResetKeepsState)
    assert not r["passed"]
    first = [c for c in r["cases"] if c["blocks"] == "64"]
    assert all(c["reset"]["passed"] is False and c["esr_db"] <= c["bound_esr_db"] for c in first)  # fresh: right
    assert all(c["passed"] for c in r["cases"] if c["blocks"] == "random")


@pytest.mark.slow
def test_a_runtime_that_raises_or_returns_too_little_fails_its_streams_only(broken_reports):
    r = broken_reports(Crashes)
    assert {c["blocks"]: c["passed"] for c in r["cases"]} == {"64": True, "random": False}  # random has 1-sample blocks
    assert all(c["error"] == "raised RuntimeError: kernel crashed" for c in r["cases"] if c["blocks"] == "random")
    r = broken_reports(DropsASample)
    assert all(c["error"].startswith("returned ") for c in r["cases"]) and not r["passed"]


@pytest.mark.slow
def test_a_broken_runtime_fails_the_cli_and_the_report_keeps_its_failures(tmp_path, monkeypatch, capsys):
    """Exit code 1, and the report lists every failing stream (spec §11.2: never omitted)."""
    import namx.conformance
    real = namx.conformance.resolve
    monkeypatch.setattr(namx.conformance, "resolve", lambda spec, **kw: StreamerRuntime(spec, OffBy1e3)
                        if spec == "offby" else real(spec, **kw))
    code = main(["conform", "--quick", "--block-sizes", "64", "--repeats", "0", "--runtime", "offby",
                 "--runtime", "numpy", "--report", str(tmp_path / "r")])
    out = capsys.readouterr().out
    assert code == EXIT_FAILED and "FAIL  offby" in out and "pass  numpy" in out
    assert out.rstrip().splitlines()[-1].startswith("FAIL")
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert [c["passed"] for c in report["cases"] if c["runtime"] == "offby"] == [False, False]
    assert "**FAIL**" in (tmp_path / "r" / "report.md").read_text()


# ---- pieces -------------------------------------------------------------------------------------

class ForgetsOnSingleSamples(Healthy):
    """Loses its state whenever it is called with one sample (a per-call fast path gone wrong)."""

    def process(self, block):
        if block.size == 1:
            self.reset()
        return super().process(block)


def test_the_single_sample_partition_catches_single_sample_faults(example):
    """The default's "1+64" (blocks of 64 through the silence, single samples through the impulse
    response) on its own catches runtimes that break only when called with one sample."""
    blocks = partition("1+64", 4800)
    assert blocks.lengths[:8] == (64,) * 7 + (32,) and blocks.lengths[8:488] == (1,) * 480
    assert set(blocks.lengths[488:-1]) == {64} and sum(blocks.lengths) == 4800
    settings = Settings(block_sizes=("1+64",), seconds=0.01, repeats=0, widths=("3",))
    runtimes = [StreamerRuntime(cls.__name__, cls) for cls in (Healthy, ForgetsOnSingleSamples, Crashes)]
    report = run([example], runtimes, settings)
    assert {rt["name"]: rt["passed"] for rt in report["runtimes"]} == \
        {"Healthy": True, "ForgetsOnSingleSamples": False, "Crashes": False}


def test_random_partition_is_seeded_and_has_single_samples():
    a, b = partition("random", 24000), partition("random", 24000)
    assert a == b and sum(a.lengths) == 24000 and min(a.lengths) == 1 and max(a.lengths) <= 511
    assert partition("7", 20).lengths == (7, 7, 6)
    assert partition("7", 20).prefix(9).lengths == (7, 2) and partition("7", 20).prefix(14).lengths == (7, 7)


@pytest.mark.spec("7.3")
def test_switch_schedule_goes_both_ways_on_block_boundaries(example):
    levels = example.widths()
    blocks = partition("random", 24000)
    s = switch_schedule(levels, blocks, 24000)
    starts = set(blocks.starts().tolist())
    assert all(sw.start in starts for sw in s)
    assert [sw.level.label for sw in s] == ["3", "3", "8", "3"]  # a re-request, up, down
    assert switch_schedule(levels, partition("2048", 3000), 3000) is None  # too few blocks


@pytest.mark.spec("11.3")
def test_one_switching_stream_per_distinct_schedule(example):
    """The default "1+64" switches (and re-requests) on the same samples as "64": no stream of its
    own. Alone, or where its switches differ, it has one."""
    from namx.conformance.suite import _plan, prepare
    mut = prepare(example, Settings())
    partitions, switching = _plan(mut, Settings())
    assert [b.label for b in partitions] == ["64", "1+64", "2048", "random"]
    assert [b.label for b, _ in switching] == ["64", "2048", "random"]
    assert switch_schedule(mut.levels, partitions[1], mut.x.size) == switching[0][1]
    assert [b.label for b, _ in _plan(mut, Settings(block_sizes=("1+64", "64")))[1]] == ["1+64"]
    assert [b.label for b, _ in _plan(mut, Settings(block_sizes=("1+64", "7")))[1]] == ["1+64", "7"]


@pytest.mark.spec("7.3")
def test_reference_switching_is_fresh_segments(example):
    x = np.random.default_rng(0).standard_normal(3000).astype(np.float32) * 0.1
    ref = Reference(example, x)
    lv = example.widths()
    sched = [Switch(0, lv[0]), Switch(500, lv[0]), Switch(1000, lv[1]), Switch(2000, lv[0])]
    y = ref.switching(sched)
    parts = []
    for (a, b, level) in [(0, 1000, lv[0]), (1000, 2000, lv[1]), (2000, 3000, lv[0])]:
        s = NumpyStreamer(example, level.label)
        parts.append(s.process(x[a:b]))
    assert np.array_equal(y, np.concatenate(parts))


# ---- entry points -------------------------------------------------------------------------------

VENDOR = '''
from namx.runtimes.numpy_ref import NumpyStreamer

class VendorStreamer(NumpyStreamer):
    runtime = "vendor"
    def __init__(self, model, width=None, *, slim=None):
        super().__init__(model, width, slim=slim, precision="float32")
'''


@pytest.fixture
def vendor_path(tmp_path):
    """A package that installs runtimes through the entry-point group, as a pip install would."""
    (tmp_path / "vendor_rt.py").write_text(VENDOR)
    info = tmp_path / "vendor_rt-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: vendor-rt\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\nvendor = vendor_rt:VendorStreamer\n"
                                           "broken = vendor_rt:NoSuchThing\n")
    return tmp_path


def _namx(*args, cwd, pythonpath=None):
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = str(pythonpath) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "namx", *args], cwd=cwd, env=env, capture_output=True, text=True)


@pytest.mark.slow
def test_entry_point_runtime_is_found_and_tested(vendor_path, tmp_path):
    r = _namx("conform", "--list-runtimes", cwd=tmp_path, pythonpath=vendor_path)
    assert r.returncode == 0 and {"numpy", "vendor", "broken"} <= set(r.stdout.split())
    r = _namx("conform", "--quick", "--block-sizes", "64", "--repeats", "0", "--runtime", "vendor", "--report", "rep",
              cwd=tmp_path, pythonpath=vendor_path)
    assert r.returncode == 0, r.stderr
    rt = json.loads((tmp_path / "rep" / "report.json").read_text())["runtimes"][0]
    assert (rt["name"], rt["kind"], rt["version"], rt["level"]) == ("vendor", "entry point", "vendor-rt 1.2.3", 2)


def test_entry_point_that_does_not_load_is_a_usage_error(vendor_path, tmp_path):
    r = _namx("conform", "--quick", "--runtime", "broken", "--report", "rep", cwd=tmp_path, pythonpath=vendor_path)
    assert r.returncode == EXIT_USAGE
    assert "runtime 'broken' (entry point vendor_rt:NoSuchThing) does not load" in r.stderr
    assert "Traceback" not in r.stderr


def test_namx_run_plays_an_entry_point_runtime(vendor_path, tmp_path):
    """`namx run` finds runtimes the way `namx conform` does (namx.runtimes.find): the vendor's
    float32 streamer plays the file, bit for bit what NumPy's float32 reference plays."""
    np.save(tmp_path / "in.npy", np.random.default_rng(0).standard_normal(3000).astype(np.float32) * 0.1)
    outs = {}
    for name, args in {"vendor": ["--runtime", "vendor"], "numpy": ["--precision", "float32"], "numpy64": []}.items():
        r = _namx("run", "A2", "in.npy", f"{name}.npy", "--width", "3", *args, cwd=tmp_path, pythonpath=vendor_path)
        assert r.returncode == 0, r.stderr
        outs[name] = np.load(tmp_path / f"{name}.npy")
    assert np.array_equal(outs["vendor"], outs["numpy"]) and not np.array_equal(outs["vendor"], outs["numpy64"])
    r = _namx("run", "A2", "in.npy", "x.npy", "--runtime", "nonesuch", cwd=tmp_path, pythonpath=vendor_path)
    assert r.returncode == EXIT_USAGE and "'vendor'" in r.stderr  # the choices include entry points


# ---- external commands --------------------------------------------------------------------------

PY = shlex.quote(sys.executable)
RUN = f"{PY} {shlex.quote(str(RUNNER))}"


def _conform_cmd(tmp_path, template, *extra):
    folder = tmp_path / "rep"
    code = main(["conform", "--quick", "--runtime", template, "--report", str(folder), *extra])
    report = json.loads((folder / "report.json").read_text()) if (folder / "report.json").exists() else None
    return code, report


@pytest.mark.slow
def test_external_command_passes_across_the_process_boundary(tmp_path):
    template = f"vendor-fw@0.1=cmd:{RUN} {{onnx_all}} {{input}} {{output}} {{width}} {{blocks}} {{schedule}}"
    code, report = _conform_cmd(tmp_path, template, "--block-sizes", "64,random", "--repeats", "1", "--warmup", "0",
                                "--rtf-seconds", "0.05")
    assert code == EXIT_OK, report
    rt = report["runtimes"][0]
    assert (rt["name"], rt["kind"], rt["version"], rt["level"]) == ("vendor-fw", "command", "0.1", 2)
    assert len(report["cases"]) == 4 and len(report["switches"]) == 2 and not report["skipped"]
    assert all(s["includes_process_start"] for s in report["speed"])


def test_external_command_raw_float32_io(tmp_path):
    template = f"cmd:{RUN} {{onnx_all}} {{input_raw}} {{output_raw}} {{width}} {{block}} --raw"
    code, report = _conform_cmd(tmp_path, template, "--block-sizes", "64", "--widths", "3", "--repeats", "0")
    assert code == EXIT_OK and report["runtimes"][0]["name"].startswith("cmd:") and len(report["cases"]) == 1


def test_external_command_without_blocks_or_schedule_skips_those_streams(tmp_path):
    template = f"cmd:{RUN} {{onnx_all}} {{input}} {{output}} {{width}} {{block}}"
    code, report = _conform_cmd(tmp_path, template, "--block-sizes", "64,random", "--repeats", "0")
    assert code == EXIT_OK and report["passed"] and len(report["cases"]) == 2  # 64 at both widths
    reasons = {(s["test"], s["blocks"]): s["reason"] for s in report["skipped"]}
    assert "{blocks}" in reasons["accuracy", "random"] and "{schedule}" in reasons["switching", "64"]
    assert report["runtimes"][0]["level"] == 1  # fixed widths only: no switching shown


@pytest.mark.parametrize("extra, expect", [
    ("--offset 1e-3", "max_abs"),
    ("--exit 3", "exited with code 3: runner: failing on purpose"),
])
def test_broken_external_commands_fail(tmp_path, extra, expect):
    template = f"cmd:{RUN} {{onnx_all}} {{input}} {{output}} {{width}} {{block}} {extra}"
    code, report = _conform_cmd(tmp_path, template, "--block-sizes", "64", "--widths", "3", "--repeats", "0")
    assert code == EXIT_FAILED and not report["passed"]
    (case,) = report["cases"]
    if expect == "max_abs":
        assert case["max_abs"] == pytest.approx(1e-3, rel=0.01) and case["error"] is None
    else:
        assert case["error"] == expect and case["esr_db"] is None


def test_external_command_timeout(tmp_path):
    template = f"cmd:{RUN} {{onnx_all}} {{input}} {{output}} {{width}} {{block}} --sleep 30"
    code, report = _conform_cmd(tmp_path, template, "--block-sizes", "64", "--widths", "3", "--repeats", "0",
                                "--timeout", "1")
    assert code == EXIT_FAILED and report["cases"][0]["error"] == "timed out after 1 s"


def test_shell_form_runs_through_a_shell(tmp_path):
    template = f"shell:{RUN} {{onnx_all}} {{input}} {{output}} {{width}} {{block}} 2>/dev/null | cat"
    code, report = _conform_cmd(tmp_path, template, "--block-sizes", "64", "--widths", "3", "--repeats", "0")
    assert code == EXIT_OK and report["passed"]


@pytest.mark.parametrize("template, message", [
    ("cmd:prog {model} {input} {output} {nonsense}", "unknown placeholder {nonsense}"),
    ("cmd:prog {model} {input}", "must name its input"),
    ("cmd:no-such-program-xyz {model} {input} {output}", "program 'no-such-program-xyz' not found"),
    ("cmd:", "needs a command"),
    ("cmd:prog 'unclosed {input} {output}", "cannot split"),
])
def test_bad_command_templates_are_usage_errors(tmp_path, capsys, template, message):
    code, _ = _conform_cmd(tmp_path, template)
    assert code == EXIT_USAGE and message in capsys.readouterr().err


def test_commands_run_without_a_shell(tmp_path):
    """Placeholders are single arguments: a path with spaces and shell characters passes through unchanged."""
    odd = tmp_path / "a b;$(x)"
    odd.mkdir()
    script = odd / "echo_args.py"
    script.write_text("import sys, shutil; open(sys.argv[3], 'w').write(repr(sys.argv[1:])); "
                      "shutil.copy(sys.argv[1], sys.argv[2])\n")
    rt = resolve(f"cmd:{PY} {shlex.quote(str(script))} {{input_raw}} {{output_raw}} {tmp_path}/args.txt")
    session = rt.open(bundled.load_model("example"))
    x = np.arange(10, dtype=np.float32)
    try:
        y = session.play(bundled.load_model("example").widths()[0], x, partition("4", 10))
    finally:
        session.close()
    assert np.array_equal(y, x)  # the "runtime" copies its input: the file round trip is exact
    assert len(eval((tmp_path / "args.txt").read_text())) == 3


# ---- exported vectors ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def vectors(tmp_path_factory, example):
    folder = tmp_path_factory.mktemp("vectors") / "v"
    export(example, folder, Settings(block_sizes=("64", "2048", "random"), seconds=0.05))
    return folder


def test_vectors_have_everything_a_bench_needs(vectors, example):
    import soundfile
    from namx.converters import TARGETS
    m = json.loads((vectors / "manifest.json").read_text())
    assert m["format"] == "namx-conformance-vectors" and m["spec_version"] == namx.SPEC_VERSION
    assert m["block_sizes"] == ["64", "2048", "random"] and (vectors / m["partitions"]["random"]).is_file()
    x = np.fromfile(vectors / m["input"]["raw"], "<f4")
    assert np.array_equal(x, soundfile.read(vectors / m["input"]["wav"], dtype="float32")[0])
    assert [w["label"] for w in m["widths"]] == [lv.label for lv in example.widths()]
    for w in m["widths"]:
        assert (vectors / w["onnx"]).is_file()
        y = np.fromfile(vectors / w["expected"]["raw"], "<f4")
        wav = soundfile.read(vectors / w["expected"]["wav"], dtype="float32")[0]
        assert y.size == x.size and np.array_equal(y, wav)
        for cls in ("float32", "float64"):
            assert w["tolerance"][cls]["esr_db"] >= -120 and w["tolerance"][cls]["max_abs"] >= 1e-5
        assert bool(w["tflite"]) == ("tflite" in TARGETS)
        for b, path in w["tflite"].items():  # when namx has the TFLite converter: one file per block size + C arrays
            assert (vectors / path).is_file() and all((vectors / p).is_file() for p in w["c_array"][b])
    sw = m["switching"]
    assert [e["width"] for e in sw["schedule"]] == ["3", "3", "8", "3"]
    assert all(e["sample"] % 2048 == 0 for e in sw["schedule"]) and sw["block_sizes"] == [64, 2048]
    assert set(m["files"]) == {str(p.relative_to(vectors)) for p in vectors.rglob("*")
                               if p.is_file() and p.name != "manifest.json"}


@pytest.mark.spec("11.1")
@pytest.mark.parametrize("runtime", INSTALLED)
def test_vectors_round_trip_through_every_runtime(vectors, tmp_path, runtime):
    """Only the folder is used: copy it elsewhere, play it, and every stream passes."""
    import shutil
    copy = tmp_path / "copy"
    shutil.copytree(vectors, copy)
    results = check(copy, resolve(runtime))
    assert len(results) == 2 * 3 + 2  # 2 widths x 3 partitions, switching at 64 and 2048
    assert all(r["passed"] for r in results), [r for r in results if not r["passed"]]


def test_vectors_without_python_on_a_bench(vectors):
    """A bench program that knows only the manifest and ONNX (the runner script) reproduces the expected outputs."""
    from namx.metrics import esr_db, max_abs_error
    m = json.loads((vectors / "manifest.json").read_text())
    for w in m["widths"]:
        out = vectors.parent / f"bench.w{w['label']}.f32"
        subprocess.run([sys.executable, str(RUNNER), str(vectors / m["model"]["all_widths_onnx"]),
                        str(vectors / m["input"]["raw"]), str(out), w["label"], "64", "--raw"], check=True)
        y, ref = np.fromfile(out, "<f4"), np.fromfile(vectors / w["expected"]["raw"], "<f4")
        tol = w["tolerance"]["float32"]
        assert esr_db(y, ref) <= tol["esr_db"] and max_abs_error(y, ref) <= tol["max_abs"]


def test_check_vectors_cli_passes_and_fails(vectors, tmp_path, capsys):
    assert main(["conform", "check-vectors", str(vectors), "--runtime", "onnxruntime"]) == EXIT_OK
    assert capsys.readouterr().out.rstrip().endswith("PASS")
    cmd = f"cmd:{RUN} {{onnx_all}} {{input}} {{output}} {{width}} {{block}} --offset 1e-3"
    assert main(["conform", "check-vectors", str(vectors), "--runtime", cmd]) == EXIT_FAILED
    out = capsys.readouterr().out
    assert "FAIL" in out and "not run" in out  # random and switching need {blocks}/{schedule}


def test_damaged_vectors_are_refused(vectors, tmp_path, capsys):
    import shutil
    copy = tmp_path / "copy"
    shutil.copytree(vectors, copy)
    expected = copy / "w3" / "expected.f32"
    data = bytearray(expected.read_bytes())
    data[0] ^= 1
    expected.write_bytes(bytes(data))
    assert main(["conform", "check-vectors", str(copy), "--runtime", "numpy"]) == EXIT_USAGE
    assert "w3/expected.f32: SHA-256 differs from the manifest" in capsys.readouterr().err
    expected.write_bytes(b"\0" * 16)  # the wrong size: refused before it is read
    assert main(["conform", "check-vectors", str(copy), "--runtime", "numpy"]) == EXIT_USAGE
    assert "w3/expected.f32: has 16 bytes; the manifest's" in capsys.readouterr().err
    assert main(["conform", "check-vectors", str(tmp_path), "--runtime", "numpy"]) == EXIT_USAGE


def test_export_vectors_cli_refuses_a_non_empty_folder(vectors, capsys):
    assert main(["conform", "export-vectors", str(vectors), "--quick"]) == EXIT_USAGE
    assert "is not empty (use --force" in capsys.readouterr().err


# ---- the spec's text and the suite --------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.spec("11.3")
def test_bounds_take_the_floor_from_the_float32_reference(default_run, example):
    from namx.metrics import esr_db, max_abs_error, tolerance
    from namx.signals import program, sha256
    _, _, report = default_run
    x, _ = program(example.sample_rate, QUICK.seconds)
    assert report["models"][0]["input"]["sha256"] == sha256(x)
    def reference(width, precision):  # in the suite's blocks: float32 rounding depends a little on them
        s = NumpyStreamer(example, width, precision=precision)
        return np.concatenate([s.process(x[a:a + REFERENCE_CHUNK]) for a in range(0, x.size, REFERENCE_CHUNK)])

    for lv in example.widths():
        ref64, ref32 = reference(lv.label, "float64"), reference(lv.label, "float32").astype(np.float64)
        floor = esr_db(ref32, ref64), max_abs_error(ref32, ref64)
        for c in (c for c in report["cases"] if c["width"] == lv.label):
            expected = tolerance(*floor, float(np.abs(ref64).max()), c["precision"])
            assert (c["bound_esr_db"], c["bound_max_abs"]) == pytest.approx(expected, rel=1e-9, abs=1e-9)
            assert c["floor_esr_db"] == pytest.approx(floor[0], abs=1e-6)


@pytest.mark.spec("11.2")
def test_report_fields_named_by_the_spec_are_in_the_schema():
    import re

    from namx.conformance.report import SCHEMA
    from spec_doc import sections
    text = sections()["11.2"].split("`namx conform` writes", 1)[1]
    named = {n.replace("[]", "").split(".")[-1] for n in re.findall(r"`([\w.\[\]]+)`", text)
             if n not in ("report.json", "report.md")}
    schema_text = SCHEMA.read_text()
    assert named and all(f'"{n}"' in schema_text for n in named), named
    assert "conformance/report.schema.json" in text


def test_a_model_at_its_own_rate(tmp_path):
    """The program is generated at the model's sample rate (44.1 kHz here), not resampled."""
    from builders import layer_array, wavenet
    obj = wavenet([layer_array(channels=4, dilations=(1, 2, 4, 8))])
    obj["sample_rate"] = 44100
    path = tmp_path / "amp44.nam"
    path.write_text(json.dumps(obj))
    r = run([namx.load(path)], [resolve("onnxruntime")], FAST)
    validate_report(r)
    m = r["models"][0]
    assert (m["name"], m["sample_rate"], m["input"]["samples"]) == ("amp44", 44100, 10 * round(0.05 * 44100))
    assert r["passed"] and not r["switches"] and r["runtimes"][0]["level"] == 0  # level: shown on the example only
