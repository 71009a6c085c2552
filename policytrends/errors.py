"""Errors that reach the user as one line: what went wrong and how to fix it."""


class PolicyTrendsError(Exception):
    """A problem the user can fix (bad input, missing model, unreachable site).

    The CLI prints ``str(error)`` on one line and exits non-zero; nothing stored is touched.
    """
