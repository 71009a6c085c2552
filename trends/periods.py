"""Calendar periods as integer codes: ISO weeks (Monday to Sunday), months and years.

Codes make grouping and gap-filling plain integer work; labels and bounds are derived from
them only for the rows written out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FREQS = ("week", "month", "year")
_MONDAY = np.datetime64("1970-01-05", "D")  # the first Monday of the epoch: week code 0


def codes(published: pd.Series, freq: str) -> np.ndarray:
    """Period code of each date (datetime64 values, no NaT)."""
    days = published.to_numpy("datetime64[D]")
    if freq == "week":
        return ((days - _MONDAY).astype(np.int64)) // 7
    months = days.astype("datetime64[M]").astype(np.int64)  # months since 1970-01
    if freq == "month":
        return months
    if freq == "year":
        return months // 12
    raise ValueError(f"unknown period {freq!r}; use one of {FREQS}")


def start(code, freq: str) -> np.ndarray:
    """First day of each period (datetime64[D])."""
    code = np.asarray(code, dtype=np.int64)
    if freq == "week":
        return _MONDAY + code * 7
    if freq == "month":
        return code.astype("datetime64[M]").astype("datetime64[D]")
    return (code * 12).astype("datetime64[M]").astype("datetime64[D]")


def end_exclusive(code, freq: str) -> np.ndarray:
    """First day after each period."""
    return start(np.asarray(code, dtype=np.int64) + 1, freq)


def labels(code, freq: str) -> list[str]:
    """``YYYY-Www`` (ISO week), ``YYYY-MM`` or ``YYYY``."""
    code = np.asarray(code, dtype=np.int64)
    if freq == "month":
        return [f"{1970 + c // 12:04d}-{c % 12 + 1:02d}" for c in code]
    if freq == "year":
        return [f"{1970 + c:04d}" for c in code]
    out = []
    for day in start(code, freq).astype(object):  # datetime.date
        year, week, _ = day.isocalendar()
        out.append(f"{year:04d}-W{week:02d}")
    return out


def iso(days) -> list[str]:
    """ISO dates of datetime64[D] values."""
    return [str(d) for d in np.asarray(days, dtype="datetime64[D]")]
