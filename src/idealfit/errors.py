"""The one exception type for mistakes a user can make (bad path, corrupt file, bad option).

The CLI prints its message as one line and exits with code 2; anything else is our bug and keeps
its traceback.
"""


class UserError(Exception):
    """A problem the user can fix: the message says what was wrong and how to fix it."""
