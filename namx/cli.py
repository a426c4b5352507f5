"""The namx command line. Exit codes: 0 ok, 1 a conformance failure, 2 a usage or input error.

User mistakes (bad files, widths not offered, unreadable audio) print one line, `namx: ...`,
and exit 2 with nothing half-written.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys

from . import __version__, bundled
from .converters import TARGETS
from .errors import NamxError
from .limits import check_block_size
from .text import one_line
from .runtimes import RUNTIMES, Names

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's default exits 2 with usage; keep that, one line of reason
        self.print_usage(sys.stderr)
        print(f"namx: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def _model_arg(p, **options):
    p.add_argument("model", metavar="MODEL", help=f"a .nam file, a namx PyTorch checkpoint (.pt), or '{bundled.EXAMPLE}' for the bundled example", **options)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="namx", description="Run Neural Amp Modeler (.nam) models the same everywhere.")
    parser.add_argument("--version", action="version", version=f"namx {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("info", help="describe a model: architecture, widths, sizes, metadata; or the runtimes here")
    _model_arg(p, nargs="?")
    p.add_argument("--runtimes", action="store_true",
                   help="instead: list namx's runtimes, whether each is installed here and how to install it")
    p.add_argument("--json", action="store_true", help="print JSON for machines")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("run", help="process audio through a model (WAV or .npy in and out)")
    _model_arg(p)
    p.add_argument("input", metavar="IN", help="mono input audio: WAV (any rate equal to the model's) or .npy")
    p.add_argument("output", metavar="OUT", help="output: .wav (32-bit float) or .npy (float32)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--width", help="width level to run (a label from 'namx info', or i<index>); default: widest")
    g.add_argument("--slim", type=float, metavar="V", help="NeuralAmpModelerCore's slim value in [0, 1]")
    g.add_argument("--schedule", metavar="S:W,...",
                   help="change width at these samples, e.g. 0:3,4800:8 (each change from the width's initial state)")
    p.add_argument("--block-size", type=int, default=64, metavar="N", help="samples per block (default 64)")
    p.add_argument("--runtime", default="numpy", choices=Names(), metavar="R",
                   help=f"runtime to use: {', '.join(RUNTIMES)} (default numpy, the reference; "
                        "'namx info --runtimes' lists those installed)")
    p.add_argument("--channel", type=int, metavar="N",
                   help="for multichannel input: process channel N (0 is the first); default: the input must be mono")
    p.add_argument("--precision", choices=("float64", "float32"), default="float64",
                   help="numpy runtime arithmetic (default float64)")
    p.add_argument("--force", action="store_true", help="overwrite OUT if it exists")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("convert", help="convert a model to another format (e.g. ONNX, TFLite)")
    _model_arg(p)
    p.add_argument("--to", required=True, choices=TARGETS, metavar="TARGET", dest="target",
                   help=f"target format: {', '.join(TARGETS)}")
    p.add_argument("--width", help="convert only this width level (default: every width the target supports)")
    p.add_argument("-o", "--output", metavar="OUT",
                   help="output file (default: named after MODEL, in the current folder)")
    p.add_argument("--block-size", type=int, metavar="N", help="fixed block size, for targets with static shapes")
    p.add_argument("--signatures", action="store_true", help="TFLite: also one file with a signature per width")
    p.add_argument("--c-array", action="store_true", help="TFLite: also a .h/.cc pair for firmware")
    p.add_argument("--force", action="store_true", help="overwrite existing outputs")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("validate", help="check .nam files against the A2 spec (JSON Schema + semantic checks)")
    p.add_argument("models", nargs="+", metavar="MODEL", help=f"a .nam file (or '{bundled.EXAMPLE}')")
    p.add_argument("--json", action="store_true", help="print JSON for machines")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("spec", help="where the A2 spec this namx implements is, and its version")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--path", action="store_true", help="print only the path of the spec document (A2.md)")
    g.add_argument("--schema", action="store_true", help="print only the path of the .nam JSON Schema")
    p.set_defaults(func=cmd_spec)

    _conform_parsers(sub)

    from .signals import SIGNALS
    p = sub.add_parser("signal", help="write a deterministic test signal (e.g. the 2 s test mix)")
    p.add_argument("name", choices=sorted(SIGNALS), help="signal to write")
    p.add_argument("output", metavar="OUT", help=".wav (32-bit float) or .npy")
    p.add_argument("--sample-rate", type=float, default=48000.0, help="sample rate in Hz (default 48000)")
    p.add_argument("--force", action="store_true", help="overwrite OUT if it exists")
    p.set_defaults(func=cmd_signal)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    argv = _conform_tool(list(sys.argv[1:] if argv is None else argv))
    args = parser.parse_args(argv)
    args.argv = argv
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    previous = _on_sigterm(_terminated)
    try:
        return args.func(args) or EXIT_OK
    except NamxError as e:
        print(f"namx: {one_line(bundled.shorten(str(e)))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("namx: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `namx info m.nam | head`: the reader left; stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception:
        # SIGTERM inside a C extension's import surfaces as that import failing (ImportError), not
        # as SystemExit: the run is ending anyway, so end it as terminated, without a traceback.
        if _TERMINATED:
            return 128 + signal.SIGTERM
        raise
    finally:
        _on_sigterm(previous)


_TERMINATED = False  # set once SIGTERM arrived


def _terminated(signum, frame):
    """SIGTERM unwinds like Ctrl-C: every `with` block cleans up (no partial outputs, no temporary folders)."""
    global _TERMINATED
    _TERMINATED = True
    print("namx: terminated", file=sys.stderr)
    raise SystemExit(128 + signum)


def _on_sigterm(handler):
    """Install a SIGTERM handler (only the main thread can); return the previous one."""
    try:
        return signal.signal(signal.SIGTERM, handler)
    except (ValueError, TypeError):  # not the main thread, or no previous Python-level handler to restore
        return None


TORCH_SUFFIXES = (".pt", ".pth", ".ckpt")


def _load(spec: str):
    if os.path.splitext(spec)[1].lower() in TORCH_SUFFIXES:
        model = _load_checkpoint(spec)
    else:
        model = bundled.load_model(spec)
    for note in model.notes:
        print(f"namx: note: {bundled.shorten(model.source)}: {note}", file=sys.stderr)
    return model


def _load_checkpoint(spec: str):
    """A PyTorch checkpoint (namx.torch.save): imports torch, which only this path needs."""
    try:
        from .converters.pytorch import load_checkpoint
    except ImportError as e:
        raise NamxError(f"{spec}: reading a PyTorch checkpoint needs torch ({e.name} is not installed): "
                        "pip install 'namx[torch]'") from None
    return load_checkpoint(spec)


# ---- info ---------------------------------------------------------------------------------------

def cmd_info(args) -> int:
    if args.runtimes:
        from .runtimes import listing
        print(listing(args.json))
        return EXIT_OK
    if args.model is None:
        raise NamxError("info needs MODEL (or --runtimes)")
    from .info import describe, render
    print(render(describe(_load(args.model)), args.json))
    return EXIT_OK


# ---- run ----------------------------------------------------------------------------------------

def _schedule(text: str, model) -> dict[int, str]:
    """`--schedule 0:3,4800:8` -> {sample: width label}; starts at 0, samples increasing."""
    from .widths import select

    changes: dict[int, str] = {}
    for pair in text.split(","):
        sample, sep, width = pair.strip().partition(":")
        if not sep or not sample.isdigit() or len(sample) > 15 or not width:
            raise NamxError(f"--schedule: {pair.strip()!r} is not SAMPLE:WIDTH (e.g. 0:3,4800:8)")
        if changes and int(sample) <= last:
            raise NamxError(f"--schedule: samples must increase (got {sample} after {last})")
        last = int(sample)
        changes[int(sample)] = select(model, width).label
    if 0 not in changes:
        raise NamxError("--schedule: the first change must be at sample 0")
    return changes


def cmd_run(args) -> int:
    from .audio import OUTPUT_FORMATS
    from .outputs import check_output_path
    from .runtimes.play import play_file
    from .widths import select

    check_block_size(args.block_size, "--block-size")
    model = _load(args.model)
    changes = _schedule(args.schedule, model) if args.schedule else {0: args.width}
    select(model, changes[0], slim=args.slim)  # a width the model lacks is the first thing to report
    check_output_path(args.output, args.force, OUTPUT_FORMATS)
    options = {"precision": args.precision} if args.runtime == "numpy" else {}
    nans = play_file(model, args.input, args.output, args.runtime, changes, slim=args.slim, block_size=args.block_size,
                     channel=args.channel, force=args.force, **options)
    if nans:  # the model carries them into every later sample
        print(f"namx: warning: {args.input}: {nans} NaN sample{'s' if nans > 1 else ''} in the input "
              "(the output will be NaN from there on)", file=sys.stderr)
    return EXIT_OK


def cmd_convert(args) -> int:
    from .converters import convert
    model = _load(args.model)
    if args.block_size is not None:
        check_block_size(args.block_size, "--block-size")
    paths = convert(args.target, model, output=args.output, width=args.width, block_size=args.block_size,
                    signatures=args.signatures, c_array=args.c_array, force=args.force)
    for path in paths:
        print(path)
    return EXIT_OK


def cmd_validate(args) -> int:
    """Exit 2 when any file has a problem."""
    from .spec import SPEC_VERSION
    from .validate import render, validate_file
    results = []
    for spec in args.models:
        path = bundled.path(spec) if spec in bundled.BUNDLED and not os.path.exists(spec) else spec
        results.append((spec, validate_file(path, source=spec)))
    text = render(results, SPEC_VERSION, args.json)
    if text:
        print(text)
    return EXIT_OK if all(r.valid for _, r in results) else EXIT_USAGE


def cmd_spec(args) -> int:
    from . import spec
    if args.path:
        print(spec.DOCUMENT)
    elif args.schema:
        print(spec.SCHEMA)
    else:
        print(f"A2 spec {spec.SPEC_VERSION}")
        print(f"  document   {spec.DOCUMENT}")
        print(f"  schema     {spec.SCHEMA}")
        print(f"  changelog  {spec.CHANGELOG}")
    return EXIT_OK


def cmd_signal(args) -> int:
    from .audio import write_audio
    from .signals import SIGNALS
    if not 1000 <= args.sample_rate <= 768000:
        raise NamxError(f"--sample-rate must be between 1000 and 768000 Hz (got {args.sample_rate:g})")
    write_audio(args.output, SIGNALS[args.name](args.sample_rate), args.sample_rate, force=args.force)
    return EXIT_OK


# ---- conform --------------------------------------------------------------------------------------

CONFORM_TOOLS = ("export-vectors", "check-vectors")


def _conform_tool(argv: list[str]) -> list[str]:
    """`conform export-vectors ...` names the parser `conform-export-vectors` (argparse cannot give
    `conform` both MODEL... and subcommands)."""
    if len(argv) >= 2 and argv[0] == "conform" and argv[1] in CONFORM_TOOLS:
        return [f"conform-{argv[1]}", *argv[2:]]
    return argv


def _conform_parsers(sub) -> None:
    def suite_options(p, runtimes=True):
        p.add_argument("--widths", metavar="W,...", help="widths to test (labels from 'namx info'); default: all")
        p.add_argument("--block-sizes", metavar="B,...",
                       help="block partitions: sizes, 'random' and/or '1+64' "
                            "(default 64,1+64,2048,random; --quick: 64,2048,random)")
        p.add_argument("--seconds", type=float, metavar="S",
                       help="length of each of the 10 program segments (default 0.1; --quick: 0.05)")
        p.add_argument("--quick", action="store_true",
                       help="a short run (CI, smoke tests): shorter program, fewer blocks")
        p.add_argument("--force", action="store_true", help="overwrite existing outputs")

    def runtime_options(p):
        p.add_argument("--runtime", action="append", metavar="R", dest="runtimes",
                       help="runtime to test; repeat for several. A namx or entry-point name, or an external command "
                            "'[NAME[@VERSION]=]cmd:PROGRAM {model} {input} {output} ...' (see conformance/README.md). "
                            "Default: every installed runtime")
        p.add_argument("--timeout", type=float, default=600.0, metavar="S",
                       help="seconds an external command may take per stream (default 600)")

    p = sub.add_parser("conform", help="the vendor conformance suite: test runtimes against the reference, report",
                       description="Test runtimes against namx's float64 reference (A2 spec §11). Also: "
                                   "'namx conform export-vectors DIR [MODEL]' and 'namx conform check-vectors DIR'.")
    p.add_argument("models", nargs="*", metavar="MODEL", help=f"models to test (default: '{bundled.EXAMPLE}')")
    runtime_options(p)
    suite_options(p)
    p.add_argument("--report", default="namx-conform-report", metavar="DIR",
                   help="folder for report.json, report.md, error.png, rtf.png (default ./namx-conform-report)")
    p.add_argument("--repeats", type=int, metavar="N",
                   help="timed repeats per speed measurement (default 5; --quick: 3; 0: no speed)")
    p.add_argument("--warmup", type=int, metavar="N", help="untimed streams before timing (default 1)")
    p.add_argument("--rtf-seconds", type=float, metavar="S", help="audio per timed stream (default 0.25; --quick: 0.2)")
    p.add_argument("--rtf-block-sizes", metavar="N,...", help="block sizes to time (default 64)")
    p.add_argument("--list-runtimes", action="store_true", help="list the runtimes installed here and exit")
    p.set_defaults(func=cmd_conform)

    p = sub.add_parser("conform-export-vectors", prog="namx conform export-vectors",
                       help="(namx conform export-vectors) write test vectors for a vendor's bench")
    p.add_argument("folder", metavar="DIR", help="folder to write (created; must be empty unless --force)")
    p.add_argument("model", nargs="?", default=bundled.EXAMPLE, metavar="MODEL",
                   help=f"model (default: '{bundled.EXAMPLE}')")
    suite_options(p)
    p.set_defaults(func=cmd_export_vectors)

    p = sub.add_parser("conform-check-vectors", prog="namx conform check-vectors",
                       help="(namx conform check-vectors) play exported vectors through runtimes")
    p.add_argument("folder", metavar="DIR", help="a folder written by 'namx conform export-vectors'")
    runtime_options(p)
    p.add_argument("--outputs", metavar="OUT", help="judge the files a C bench wrote into OUT "
                   "(examples/vendor/bench.c) instead of running a runtime")
    p.set_defaults(func=cmd_check_vectors)


def _csv(text: str | None) -> tuple[str, ...] | None:
    return None if text is None else tuple(v.strip() for v in text.split(",") if v.strip())


def _suite_settings(args):
    from dataclasses import replace

    from .conformance import QUICK, Settings
    s = QUICK if args.quick else Settings()
    given = {"widths": _csv(args.widths), "block_sizes": _csv(args.block_sizes), "seconds": args.seconds}
    for name in ("repeats", "warmup", "rtf_seconds"):
        given[name] = getattr(args, name, None)
    if getattr(args, "rtf_block_sizes", None) is not None:
        try:
            given["rtf_block_sizes"] = tuple(int(v) for v in _csv(args.rtf_block_sizes))
        except ValueError:
            raise NamxError(f"--rtf-block-sizes: expected whole numbers (got {args.rtf_block_sizes!r})") from None
    return replace(s, **{k: v for k, v in given.items() if v is not None}).check()


def _runtimes(args):
    from .conformance import installed_runtimes, resolve
    if args.timeout <= 0:
        raise NamxError(f"--timeout must be positive (got {args.timeout:g})")
    names, missing = (args.runtimes, {}) if args.runtimes else installed_runtimes()
    return [resolve(n, timeout=args.timeout) for n in names], missing


def cmd_conform(args) -> int:
    from .conformance import installed_runtimes, run, write_report
    from .conformance.report import check_folder, summary
    if args.list_runtimes:
        names, missing = installed_runtimes()
        for n in names:
            print(n)
        for n, why in missing.items():
            print(f"{n}: {why}", file=sys.stderr)
        return EXIT_OK
    settings = _suite_settings(args)
    check_folder(args.report, args.force)
    models = [_load(m) for m in (args.models or [bundled.EXAMPLE])]
    runtimes, missing = _runtimes(args)
    from tqdm import tqdm
    report = run(models, runtimes, settings, not_installed=missing, command=["namx", *args.argv],
                 progress=lambda total: tqdm(total=total, unit="stream", file=sys.stderr, leave=False,
                                             disable=not sys.stderr.isatty()),
                 log=None if sys.stderr.isatty() else lambda line: print(f"namx: {line}", file=sys.stderr, flush=True))
    paths = write_report(report, args.report, force=args.force)
    print(summary(report, paths))
    return EXIT_OK if report["passed"] else EXIT_FAILED


def cmd_export_vectors(args) -> int:
    from .conformance.vectors import export
    paths = export(_load(args.model), args.folder, _suite_settings(args), force=args.force)
    print(f"{args.folder}: {len(paths)} files (manifest: {paths[0]})")
    return EXIT_OK


def cmd_check_vectors(args) -> int:
    from .conformance.c_vectors import OutputsRuntime
    from .conformance.vectors import check, result_line
    runtimes = [OutputsRuntime(args.outputs)] if args.outputs else _runtimes(args)[0]
    ok = True
    for rt in runtimes:
        for r in check(args.folder, rt):
            ok &= r["passed"] is not False  # (None: not run)
            print(result_line(r))
    print("PASS" if ok else "FAIL")
    return EXIT_OK if ok else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
