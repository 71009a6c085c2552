"""Errors that reach the user as one line: what went wrong and how to fix it."""


class PolicyTrendsError(Exception):
    """A problem the user can fix (bad input, missing model, unreachable site).

    The CLI prints ``str(error)`` on one line and exits non-zero; nothing stored is touched.
    """


def require_extra(module: str, extra: str, needed_for: str) -> None:
    """Refuse, before any work, a setting whose optional part is not installed, naming the install command."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise PolicyTrendsError(
            f"{needed_for} needs the optional package {module!r}, which is not installed: "
            f"pip install 'policytrends[{extra}]' (the repository's make setup installs it)")
