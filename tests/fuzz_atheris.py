"""Coverage-guided fuzzing of the .nam loader with atheris (a longer run than tests/test_fuzz.py).

    pip install atheris            # in the dev extra
    mkdir -p /tmp/nam-corpus && find ../shared/models -name '*.nam' -exec cp {} /tmp/nam-corpus/ \\;
    python tests/fuzz_atheris.py /tmp/nam-corpus -atheris_runs=200000 -timeout=10 -rss_limit_mb=4096

Every input must end in a Model (which is then sized at every width, as `namx info` does) or in
namx's own error with a one-line message; anything else is a crash, which atheris reports with the
input saved as crash-<hash>. libFuzzer's -timeout and -rss_limit_mb turn a hang or unbounded
memory into a reported failure too. tests/test_fuzz.py runs this harness briefly in CI.
"""
import sys

import atheris

with atheris.instrument_imports():
    from namx.info import describe
    from namx.errors import NamxError
    from namx.loader import loads


def one_input(data: bytes) -> None:
    try:
        model = loads(data, "fuzz.nam")
    except NamxError as e:
        if not str(e) or "\n" in str(e):
            raise AssertionError(f"not a one-line error: {str(e)!r}") from None
        return
    describe(model)


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
