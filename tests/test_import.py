"""`policytrends import FILE`: articles from JSONL or CSV into the store, idempotently, bad rows named."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from datetime import date

import pytest
import sqlalchemy as sa

from policytrends.corpus.importer import import_file
from policytrends.corpus.store import CorpusStore, documents

ARTICLES = [
    {"url": "https://www.example.org/analysis/deterrence-after-inf/?utm_source=feed", "source": "exampletank",
     "date": "2019-08-02", "title": "Deterrence after the INF Treaty",
     "text": "The end of the INF Treaty changes the deterrence debate in Europe.\n\n"
             "Allies must decide how to answer new ground-launched missiles without an arms race.",
     "authors": ["A. Analyst", "B. Scholar"]},
    {"url": "https://example.org/analysis/ransomware-hospitals", "source": "exampletank", "date": "March 4, 2021",
     "title": "Ransomware against hospitals", "text": "Ransomware gangs hit hospitals; cyber defence needs funding.",
     "authors": "C. Writer"},
    {"url": "https://other.example/notes/undated", "source": "othertank", "date": "", "title": "A note without a date",
     "text": "Counterterrorism cooperation in the Sahel after the withdrawal."},
]


def _write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def _write_csv(path, rows):
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["url", "source", "date", "title", "text", "authors"])
        writer.writeheader()
        for r in rows:
            writer.writerow({**r, "authors": ";".join(r["authors"]) if isinstance(r.get("authors"), list) else r.get("authors", "")})


def _cli(settings, *args):
    env = {**os.environ, "POLICYTRENDS_HOME": str(settings.home), "POLICYTRENDS_OUTPUTS": str(settings.outputs_dir)}
    return subprocess.run([sys.executable, "-m", "policytrends.cli", "import", *args], capture_output=True, text=True,
                          env=env, timeout=300)


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_import_round_trip_and_a_second_import_adds_nothing(settings, tmp_path, fmt):
    path = tmp_path / f"articles.{fmt}"
    (_write_jsonl if fmt == "jsonl" else _write_csv)(path, ARTICLES)
    store = CorpusStore(settings.db_url)
    first = import_file(path, store)
    assert (first.rows, first.new, first.updated, first.unchanged, first.rejected) == (3, 3, 0, 0, [])
    assert (first.first_date, first.last_date) == (date(2019, 8, 2), date(2021, 3, 4))
    with store.engine.connect() as conn:
        rows = {r.canonical_url: r for r in conn.execute(sa.select(documents))}
    doc = rows["https://example.org/analysis/deterrence-after-inf"]  # canonical: no www., tracking, trailing slash
    assert doc.source == "exampletank" and doc.title == "Deterrence after the INF Treaty"
    assert doc.published == date(2019, 8, 2) and json.loads(doc.authors) == ["A. Analyst", "B. Scholar"]
    assert doc.body == ARTICLES[0]["text"] and doc.extraction_method == "import"
    assert rows["https://example.org/analysis/ransomware-hospitals"].published == date(2021, 3, 4)
    assert json.loads(rows["https://example.org/analysis/ransomware-hospitals"].authors) == ["C. Writer"]
    assert rows["https://other.example/notes/undated"].published is None

    again = import_file(path, store)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 3)
    assert store.count("documents") == 3

    changed = [dict(ARTICLES[0], text=ARTICLES[0]["text"] + "\n\nA corrected closing paragraph."), *ARTICLES[1:]]
    (_write_jsonl if fmt == "jsonl" else _write_csv)(path, changed)
    third = import_file(path, store)
    assert (third.new, third.updated, third.unchanged) == (0, 1, 2)
    assert store.count("documents") == 3


@pytest.mark.slow
def test_import_cli_segments_and_says_what_next(settings, tmp_path):
    path = tmp_path / "articles.jsonl"
    _write_jsonl(path, ARTICLES)
    proc = _cli(settings, str(path))
    assert proc.returncode == 0, proc.stderr
    assert "3 rows, 3 new, 0 updated, 0 unchanged, 0 duplicates of stored text, 0 rejected" in proc.stdout
    assert "policytrends backfill --since 2019-08-02 --until 2021-03-04" in proc.stdout
    assert CorpusStore(settings.db_url).count("passages") >= 3
    proc = _cli(settings, str(path))
    assert "3 rows, 0 new, 0 updated, 3 unchanged" in proc.stdout
    assert "backfill" not in proc.stdout


@pytest.mark.slow
def test_bad_rows_are_named_and_the_others_imported(settings, tmp_path):
    path = tmp_path / "articles.jsonl"
    good = ARTICLES[0]
    lines = [
        json.dumps(good),
        json.dumps({**ARTICLES[1], "url": ""}),
        json.dumps({**ARTICLES[1], "text": "   "}),
        json.dumps({**ARTICLES[1], "date": "next tuesday"}),
        json.dumps({**ARTICLES[1], "date": "2091-01-01"}),
        "{not json",
        json.dumps({**ARTICLES[2], "source": None}),
        json.dumps({**ARTICLES[1], "text": "The same ransomware text under another URL, twice.",
                    "url": "https://example.org/a/one"}),
        json.dumps({**ARTICLES[1], "text": "The same ransomware text under another URL, twice.",
                    "url": "https://example.org/a/two"}),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    proc = _cli(settings, str(path))
    assert proc.returncode == 1
    rejected = [line for line in proc.stderr.splitlines() if line.startswith("rejected: ")]
    assert rejected == [
        "rejected: row 2: column 'url' is empty; every article needs its URL (it identifies the document)",
        "rejected: row 3: column 'text' is empty; give the article's text",
        "rejected: row 4: column 'date': 'next tuesday' is not a date; write it as YYYY-MM-DD (or leave it empty if unknown)",
        "rejected: row 5: column 'date': '2091-01-01' is before 1990 or in the future; correct it or leave it empty",
        "rejected: row 6: not valid JSON (Expecting property name enclosed in double quotes at column 2); write one JSON object per line",
        "rejected: row 7: column 'source' is empty; name the think tank (the short id used in the trend tables)",
    ]
    assert [line for line in proc.stderr.splitlines() if line.startswith("error:")] == [
        "error: 6 of 9 rows rejected (listed above); the other rows were imported"]
    assert "9 rows, 2 new, 0 updated, 0 unchanged, 1 duplicates of stored text, 6 rejected" in proc.stdout
    assert CorpusStore(settings.db_url).count("documents") == 2


@pytest.mark.slow
def test_unknown_format_and_missing_columns_are_one_line_errors(settings, tmp_path):
    xlsx = tmp_path / "articles.xlsx"
    xlsx.write_bytes(b"PK\x03\x04")
    proc = _cli(settings, str(xlsx))
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith(f"error: {xlsx}: unknown format '.xlsx'; give a .jsonl or .csv file")
    bad = tmp_path / "articles.csv"
    bad.write_text("link,source,body\nhttps://example.org/a,x,text\n", encoding="utf-8")
    proc = _cli(settings, str(bad))
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        f"error: {bad}: no column 'url', 'text'; found columns ['link', 'source', 'body'] "
        "(the file needs url, source, date, title, text; authors optional)")
