"""The add-on's one user-facing error type."""


class UserError(Exception):
    """A problem the user can fix; the message is one line naming it and the fix."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))
