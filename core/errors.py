"""User-facing errors.

Every problem a user can cause (a bad file, a wrong option, a broken weights file)
is raised as :class:`PainterError` with one line that names the problem and the fix,
so the CLI and the Blender add-on can show it verbatim instead of a traceback.
"""


class PainterError(Exception):
    """A problem with the user's input or environment, with a one-line explanation."""

    def __init__(self, message: str) -> None:
        # One line only: callers print it in a status bar or as a CLI error.
        super().__init__(" ".join(str(message).split()))
