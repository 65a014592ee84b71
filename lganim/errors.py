"""The one error type users see. Its message is a single line that says what to do.

The CLI prints it and exits 2; the app turns it into `gr.Error` in one place. Anything else that
escapes is a bug in lganim, not a bad input.
"""


class LganimError(Exception):
    """A bad input or a missing resource, explained in one line."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))
