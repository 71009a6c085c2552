"""Articles from a file into the store, without crawling: ``policytrends import FILE``.

The file is JSONL (one JSON object per line) or CSV with the columns ``url``, ``source``,
``date``, ``title`` and ``text`` (``authors`` optional: a JSON list, or names joined by ``;``).
Each row goes through the same idempotent path as a crawled page: its URL is canonicalised,
its title and text hashed, and the document upserted by canonical URL, so importing the same
file twice adds nothing, and a row whose text changed updates the stored document (its
passages are cut again). The same text under another URL of the same source is a duplicate,
as in a crawl.

A bad row (no url or text, a date that does not parse) is rejected with its row number and
column; the other rows are imported.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from policytrends.corpus.hashing import content_hash, squeeze
from policytrends.errors import PolicyTrendsError

REQUIRED = ("url", "source", "text")
COLUMNS = ("url", "source", "date", "title", "text", "authors")
FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}


@dataclass
class ImportReport:
    """What an import did: documents new, updated, unchanged, duplicates, and the rejected rows."""

    file: str
    rows: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    rejected: list[str] = field(default_factory=list)  # one message per row, naming the row and column
    first_date: date | None = None
    last_date: date | None = None

    def as_dict(self) -> dict:
        return {"file": self.file, "rows": self.rows, "new": self.new, "updated": self.updated, "unchanged": self.unchanged,
                "duplicates": self.duplicates, "rejected": len(self.rejected), "rejections": self.rejected,
                "first_date": self.first_date, "last_date": self.last_date}


class RowError(ValueError):
    """One row cannot be imported; the message names its column and the fix."""


def _rows(path: Path) -> Iterator[tuple[int, dict | None, str | None]]:
    """(row number, fields, error) for each row; row numbers count data rows from 1."""
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise PolicyTrendsError(f"{path}: unknown format {path.suffix or '(no extension)'!r}; give a .jsonl or .csv file "
                                f"with the columns {', '.join(COLUMNS[:5])} (authors optional)")
    try:
        if kind == "csv":
            with path.open(newline="", encoding="utf-8-sig") as f:
                reader = csv.DictReader(f)
                missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
                if missing:
                    raise PolicyTrendsError(
                        f"{path}: no column {', '.join(repr(c) for c in missing)}; found columns {list(reader.fieldnames or [])} "
                        f"(the file needs {', '.join(COLUMNS[:5])}; authors optional)")
                for n, row in enumerate(reader, start=1):
                    yield n, row, None
            return
        with path.open(encoding="utf-8-sig") as f:
            n = 0
            for line in f:
                if not line.strip():
                    continue
                n += 1
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    yield n, None, f"row {n}: not valid JSON ({exc.msg} at column {exc.colno}); write one JSON object per line"
                    continue
                if not isinstance(obj, dict):
                    yield n, None, f"row {n}: a JSON {type(obj).__name__}, not an object with the columns {', '.join(COLUMNS[:5])}"
                    continue
                yield n, obj, None
    except FileNotFoundError:
        raise PolicyTrendsError(f"input file {path} does not exist") from None
    except UnicodeDecodeError as exc:
        raise PolicyTrendsError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8") from None


def _text(row: dict, column: str) -> str:
    value = row.get(column)
    if value is None:
        return ""
    if not isinstance(value, str | int | float):
        raise RowError(f"column {column!r}: expected text, got a JSON {type(value).__name__}")
    return str(value).strip()


def _date(raw: str) -> date | None:
    """ISO dates and date-times first, then the formats the crawler reads; None if empty."""
    from policytrends.corpus.dates import parse_date, plausible

    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00")).date() if "T" in raw else date.fromisoformat(raw)
    except ValueError:
        parsed = parse_date(raw)
        if parsed is None:
            raise RowError(f"column 'date': {raw!r} is not a date; write it as YYYY-MM-DD (or leave it empty if unknown)") from None
    if plausible(parsed) is None:
        raise RowError(f"column 'date': {raw!r} is before 1990 or in the future; correct it or leave it empty")
    return parsed


def _authors(value) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return [str(a).strip() for a in value if str(a).strip()]
    if isinstance(value, str):
        return [a.strip() for a in value.split(";") if a.strip()]
    raise RowError(f"column 'authors': expected a list of names or names joined by ';', got a JSON {type(value).__name__}")


def document_from_row(row: dict):
    """The :class:`corpus.store.Document` for one row, or :class:`RowError` naming the bad column."""
    from policytrends.corpus.store import Document
    from policytrends.corpus.urls import canonicalize_url

    url = _text(row, "url")
    if not url:
        raise RowError("column 'url' is empty; every article needs its URL (it identifies the document)")
    if not url.lower().startswith(("http://", "https://")):
        raise RowError(f"column 'url': {url[:80]!r} is not an http(s) URL")
    source = _text(row, "source")
    if not source:
        raise RowError("column 'source' is empty; name the think tank (the short id used in the trend tables)")
    body = _text(row, "text").replace("\r\n", "\n").replace("\r", "\n")
    if not body:
        raise RowError("column 'text' is empty; give the article's text")
    title = squeeze(_text(row, "title"))
    return Document(
        url=url, canonical_url=canonicalize_url(url), source=source, title=title, authors=_authors(row.get("authors")),
        published=_date(_text(row, "date")), body=body, content_hash=content_hash(title, body),
        content_type="text/plain", extraction_method="import",
    )


def import_file(path: Path | str, store) -> ImportReport:
    """Upsert every good row of ``path`` into ``store``; bad rows are listed in the report, not stored."""
    path = Path(path)
    report = ImportReport(file=str(path))
    for n, row, error in _rows(path):
        report.rows += 1
        if error:
            report.rejected.append(error)
            continue
        try:
            doc = document_from_row(row)
        except RowError as exc:
            report.rejected.append(f"row {n}: {exc}")
            continue
        owner = store.content_hash_owner(doc.source, doc.content_hash)
        if owner and owner != doc.canonical_url:
            report.duplicates += 1  # the same text is stored under another URL of this source
            continue
        outcome = store.upsert_document(doc)
        setattr(report, outcome, getattr(report, outcome) + 1)
        if doc.published:
            report.first_date = min(report.first_date or doc.published, doc.published)
            report.last_date = max(report.last_date or doc.published, doc.published)
    if report.rows == 0:
        raise PolicyTrendsError(f"{path} holds no rows; nothing to import")
    return report
