"""The vendor conformance suite: test signals, tolerances, runtime adapters and reports."""
