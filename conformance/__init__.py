"""The vendor conformance suite (spec §11): test signals, tolerances, runtime adapters and reports.

    from namx.conformance import QUICK, Settings, resolve, run, write_report
    report = run([namx.load("amp.nam")], [resolve("onnxruntime"), resolve("cmd:./runner {model} {input} {output}")])
    write_report(report, "report-folder")

Runtimes plug in as namx registry names, entry points of the group ENTRY_POINT_GROUP
("namx.runtimes"; the object is a namx.runtimes.base.Streamer subclass), external commands
(`cmd:TEMPLATE`), or StreamerRuntime(name, streamer_class) from Python. See conformance/README.md.
"""
from .adapters import (ENTRY_POINT_GROUP, CommandRuntime, Error, Runtime, Skipped, StreamerRuntime, installed_runtimes,
                       resolve)
from .report import validate as validate_report
from .report import write as write_report
from .suite import QUICK, REPORT_SCHEMA_VERSION, Settings, run

__all__ = ["ENTRY_POINT_GROUP", "CommandRuntime", "Error", "Skipped", "Runtime", "StreamerRuntime",
           "installed_runtimes", "resolve", "validate_report", "write_report", "QUICK", "REPORT_SCHEMA_VERSION",
           "Settings", "run"]
