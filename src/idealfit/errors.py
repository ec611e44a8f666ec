"""The one exception type for mistakes a user can make (bad path, corrupt file, bad option).

The CLI prints its message as one line and exits with code 2; anything else is our bug and keeps
its traceback.
"""


class UserError(Exception):
    """A problem the user can fix: the message says what was wrong and how to fix it."""


class UnreadableFile(UserError):
    """An input file that cannot be decoded (a corrupt image or WAV file); `path` names it, so a command that
    can leave such files out (`predict --skip-unreadable`) can say so in its own words."""

    def __init__(self, message: str, *, path) -> None:
        super().__init__(message)
        self.path = path
