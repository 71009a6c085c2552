"""Writing files that others read: atomically, and with spreadsheet formulas defused.

Every layer (the store's helpers, models, trends, the CLI) writes through these, so a reader,
or a crash mid-write, sees the old file or the new one, never half of one; and a CSV cell that
starts like a formula (``=``, ``+``, ``-``, ``@``) opens in a spreadsheet as text, not as code.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from policytrends.errors import PolicyTrendsError

if TYPE_CHECKING:
    import pandas as pd

# What a spreadsheet reads as the start of a formula (tab and carriage return too: some strip them first).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def write_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """``write(tmp_path)`` to a temporary file beside ``path``, then rename it over ``path``.

    The temporary name keeps the final suffix (a chart's format is read from it) and carries
    the process id, so two processes writing the same file never share a temporary file; a
    failed write leaves no temporary file behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: Path, text: str) -> None:
    write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json_atomic(path: Path, data: object) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False, default=str))


def write_csv_atomic(df: pd.DataFrame, path: Path) -> None:
    """The table as UTF-8 CSV with formulas defused, written atomically."""
    write_atomic(path, lambda tmp: neutralise_formulas(df).to_csv(tmp, index=False, encoding="utf-8", lineterminator="\n"))


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells a spreadsheet would run as a formula start with a quote."""
    import pandas as pd

    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            try:  # vectorised for text columns (tens of thousands of passages in the evidence table)
                risky = out[col].str.startswith(FORMULA_START, na=False).astype(bool)
            except AttributeError:  # an object column holding other things too: cell by cell
                out[col] = out[col].map(lambda v: "'" + v if isinstance(v, str) and v.startswith(FORMULA_START) else v)
                continue
            if risky.any():
                out[col] = out[col].astype(object)
                out.loc[risky, col] = "'" + out.loc[risky, col].astype(str)
    return out


def restore_formulas(values: pd.Series) -> pd.Series:
    """Undo :func:`neutralise_formulas` on text read back from one of our CSVs.

    A passage from the label queue that starts with ``-`` is written as ``'-...``; when the
    analyst's labelled copy comes back to ``train``, the passage must be the stored text again,
    or it would not match its embedding, its hash or the held-out split.
    """
    starts = "".join(re.escape(c) for c in FORMULA_START)
    return values.str.replace(f"^'(?=[{starts}])", "", n=1, regex=True)


def check_writable(path: Path, what: str, fix: str, folder: bool = False) -> None:
    """Refuse, before any work, an output file (or, with ``folder``, an output folder) that cannot be written.

    Missing folders on the way are fine if the nearest existing one is a folder we can write
    in. The probe writes and removes a temporary file there, as the atomic write will: permission
    bits say nothing for root, a read-only mount or a full disk.
    """
    path = Path(path).absolute()
    if path.exists() and not folder and path.is_dir():
        raise PolicyTrendsError(f"{what} {path} is a folder, not a file; {fix}")
    # The folder the file (or the folder's probe) will be written in: the nearest existing one.
    where = path if folder else path.parent
    while not where.exists():
        if where.is_symlink():
            raise PolicyTrendsError(f"{what} {path}: {where} is a broken symbolic link; {fix}")
        where = where.parent
    if not where.is_dir():
        raise PolicyTrendsError(f"{what} {path}: {where} is a file where a folder should be; {fix}")
    try:
        fd, probe = tempfile.mkstemp(prefix=".policytrends-probe-", dir=where)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise PolicyTrendsError(f"{what} {path}: cannot write in {where} ({exc.strerror}); {fix}") from None
