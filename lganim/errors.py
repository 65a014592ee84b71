"""The one error type users see. Its message is a single line that says what to do.

The CLI prints it and exits 2; the app turns it into `gr.Error` in one place. Anything else that
escapes is a bug in lganim, not a bad input.
"""


class LganimError(Exception):
    """A bad input or a missing resource, explained in one line.

    where: a path on this machine the message leaves out on purpose (the message may reach web users); the CLI
    adds it to its line (`full_message`).
    """

    def __init__(self, message: str, *, where: str | None = None):
        super().__init__(" ".join(str(message).split()))
        self.where = where

    def full_message(self) -> str:
        """The message with the local path it leaves out, for a user of this machine (the CLI, doctor's report)."""
        if self.where is None:
            return str(self)
        return f"{str(self).rstrip('.')} (on this machine: {self.where})."
