"""The one error type whose text is meant for the user.

Core functions raise `UserError` with one plain sentence when the *input* is the user's fault or the
world is in the way (an empty text, a missing [MASK], a Hub that cannot be reached). The UI shows
that sentence as it is. Every other exception is a bug or a developer's misuse: the UI logs it with
its traceback and shows one generic sentence with an error id instead.
"""


class UserError(Exception):
    """A sentence for the user: what went wrong with their input and what to do instead.

    Not a ValueError: a bug's ValueError must never pass as a sentence for the user, so every handler catches
    UserError by name."""
