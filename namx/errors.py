"""namx's error type: every problem a user can fix is a NamxError with a one-line message."""


class NamxError(Exception):
    """A user-facing error. The CLI prints str(error) on one line and exits with code 2."""


class ModelError(NamxError):
    """A .nam file that cannot be loaded: names the file and, where known, the JSON path."""

    def __init__(self, source: str, problem: str, path: str = ""):
        self.source, self.problem, self.path = source, problem, path
        where = f"{source}: {path}: " if path else f"{source}: "
        super().__init__(where + problem)


class WidthError(NamxError):
    """A width (or slim value) the model does not offer."""
