"""The one family of errors a user can cause: a URL, a file, a setting, a dataset. ``str(e)`` says
what is wrong and how to fix it; ``kind`` (where set) lets a page word it in its own language.
Anything else that escapes to a page or the command line is a bug, and its test says so
(tests/test_fuzz.py).
"""


class GateLabError(ValueError):
    """Something about the user's input; the message is for the user."""
    kind = "other"
