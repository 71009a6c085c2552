"""The monthly trend table (trends/tables.py) and its CSV output (policytrends/files.py)."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest

from policytrends.files import neutralise_formulas, write_csv_atomic
from policytrends.trends.reading import PassagePredictions
from policytrends.trends.tables import ALL, MONTHLY_COLUMNS, document_stats, trend_table

THEMES = ("cyber", "nuclear")
PRED_COLUMNS = ["passage_id", "document_id", "source", "published", "theme", "probability", "label"]


def _pred() -> pd.DataFrame:
    """Hand-built predictions: one row per (passage, theme).

    source a: doc 10 (Jan 2020, passages 1-3), doc 11 (Mar 2020, passage 4)  -> Feb 2020 is a gap
    source b: doc 20 (Jan 2020, passages 5-6), doc 21 (undated, passage 7)
    """
    rows = []

    def add(pid, did, src, pub, labels, probs):
        for th in THEMES:
            rows.append(dict(passage_id=pid, document_id=did, source=src, published=pub, theme=th,
                             probability=probs[th], label=th in labels))

    add(1, 10, "a", date(2020, 1, 5), {"cyber"}, {"cyber": 0.9, "nuclear": 0.1})
    add(2, 10, "a", date(2020, 1, 5), {"cyber", "nuclear"}, {"cyber": 0.8, "nuclear": 0.7})
    add(3, 10, "a", date(2020, 1, 5), set(), {"cyber": 0.1, "nuclear": 0.2})
    add(4, 11, "a", date(2020, 3, 2), set(), {"cyber": 0.2, "nuclear": 0.3})
    add(5, 20, "b", date(2020, 1, 20), {"nuclear"}, {"cyber": 0.1, "nuclear": 0.6})
    add(6, 20, "b", date(2020, 1, 20), {"cyber"}, {"cyber": 0.7, "nuclear": 0.2})
    add(7, 21, "b", None, {"nuclear", "cyber"}, {"cyber": 0.9, "nuclear": 0.9})
    return pd.DataFrame(rows, columns=PRED_COLUMNS)


def build_monthly(pred: pd.DataFrame, model_version: str) -> pd.DataFrame:
    """The monthly table's original columns from one row per (passage, theme), as trends/build.py makes it."""
    if pred.empty:
        return pd.DataFrame(columns=MONTHLY_COLUMNS)
    pp = PassagePredictions.from_long(pred)
    docs = pred.drop_duplicates("document_id")[["document_id", "source", "published"]].assign(
        published=lambda d: pd.to_datetime(d["published"]), source=lambda d: d["source"].astype(str))
    table = trend_table(document_stats(pp, docs), pp.themes, "month", model_version)
    return table[MONTHLY_COLUMNS].reset_index(drop=True)


@pytest.fixture(scope="module")
def monthly() -> pd.DataFrame:
    return build_monthly(_pred(), "model-v7")


def _row(monthly: pd.DataFrame, period: str, source: str, theme: str) -> pd.Series:
    sel = monthly[(monthly["period"] == period) & (monthly["source"] == source) & (monthly["theme"] == theme)]
    assert len(sel) == 1, (period, source, theme)
    return sel.iloc[0]


def test_columns_and_model_version(monthly):
    assert list(monthly.columns) == MONTHLY_COLUMNS
    assert (monthly["model_version"] == "model-v7").all()
    assert set(monthly["theme"]) == set(THEMES)
    assert list(monthly.index) == list(range(len(monthly)))


def test_grid_rows(monthly):
    keys = set(zip(monthly["period"], monthly["source"], monthly["theme"], strict=True))
    expected = {(p, "a", t) for p in ("2020-01", "2020-02", "2020-03") for t in THEMES}
    expected |= {("2020-01", "b", t) for t in THEMES}  # b's only dated month
    expected |= {(p, ALL, t) for p in ("2020-01", "2020-02", "2020-03") for t in THEMES}
    assert keys == expected
    assert len(monthly) == len(expected)


def test_sorted_with_all_last_in_each_period(monthly):
    assert list(monthly["period"]) == sorted(monthly["period"])
    jan = monthly[monthly["period"] == "2020-01"]
    assert list(jan["source"]) == ["a", "a", "b", "b", ALL, ALL]
    assert list(jan["theme"]) == ["cyber", "nuclear"] * 3


def test_passages_and_documents_counted_once_not_per_theme(monthly):
    for theme in THEMES:
        r = _row(monthly, "2020-01", "a", theme)
        assert (r["passages"], r["documents"]) == (3, 1)
        r = _row(monthly, "2020-01", "b", theme)
        assert (r["passages"], r["documents"]) == (2, 1)
        r = _row(monthly, "2020-03", "a", theme)
        assert (r["passages"], r["documents"]) == (1, 1)


def test_theme_counts_and_shares(monthly):
    r = _row(monthly, "2020-01", "a", "cyber")
    assert (r["theme_passages"], r["theme_documents"]) == (2, 1)
    assert r["share"] == pytest.approx(0.6667)
    assert r["doc_share"] == 1.0
    assert r["mean_probability"] == pytest.approx(0.6)  # (0.9 + 0.8 + 0.1) / 3

    r = _row(monthly, "2020-01", "a", "nuclear")
    assert (r["theme_passages"], r["share"]) == (1, pytest.approx(0.3333))
    assert r["mean_probability"] == pytest.approx(0.3333)

    r = _row(monthly, "2020-03", "a", "cyber")
    assert (r["theme_passages"], r["theme_documents"], r["share"], r["doc_share"]) == (0, 0, 0.0, 0.0)

    r = _row(monthly, "2020-01", "b", "nuclear")
    assert (r["theme_passages"], r["share"]) == (1, 0.5)


def test_all_rows_equal_sum_over_sources(monthly):
    per_source = monthly[monthly["source"] != ALL]
    summed = per_source.groupby(["period", "theme"])[["passages", "documents", "theme_passages", "theme_documents"]].sum()
    all_rows = monthly[monthly["source"] == ALL].set_index(["period", "theme"])[summed.columns]
    pd.testing.assert_frame_equal(all_rows.sort_index(), summed.sort_index(), check_dtype=False)

    r = _row(monthly, "2020-01", ALL, "cyber")
    assert (r["passages"], r["documents"], r["theme_passages"], r["theme_documents"]) == (5, 2, 3, 2)
    assert r["share"] == 0.6
    assert r["doc_share"] == 1.0
    assert r["mean_probability"] == pytest.approx(0.52)  # (0.9 + 0.8 + 0.1 + 0.1 + 0.7) / 5


def test_month_gap_has_zero_passages_and_empty_share(monthly):
    for source in ("a", ALL):
        for theme in THEMES:
            r = _row(monthly, "2020-02", source, theme)
            assert (r["passages"], r["documents"], r["theme_passages"], r["theme_documents"]) == (0, 0, 0, 0)
            assert math.isnan(r["share"]) and math.isnan(r["doc_share"]) and math.isnan(r["mean_probability"])


def test_undated_documents_excluded(monthly):
    # passage 7 (undated, tagged with both themes) must not be counted anywhere
    assert monthly[monthly["source"] == "b"]["passages"].max() == 2
    assert monthly[monthly["source"] == ALL]["passages"].sum() == 2 * 6  # six dated passages, two themes
    total_tagged = monthly[monthly["source"] == ALL]["theme_passages"].sum()
    assert total_tagged == 5  # 1:c, 2:c+n, 5:n, 6:c


def test_count_columns_are_integers(monthly):
    for col in ("passages", "documents", "theme_passages", "theme_documents"):
        assert pd.api.types.is_integer_dtype(monthly[col]), col


def test_label_as_integers_and_datetime_published():
    pred = _pred()
    pred["label"] = pred["label"].astype(int)
    pred["published"] = pd.to_datetime(pred["published"])
    out = build_monthly(pred, "v")
    pd.testing.assert_frame_equal(out.drop(columns="model_version"), build_monthly(_pred(), "v").drop(columns="model_version"))


def test_empty_input():
    out = build_monthly(pd.DataFrame(columns=PRED_COLUMNS), "v1")
    assert out.empty
    assert list(out.columns) == MONTHLY_COLUMNS


def test_only_undated_input():
    pred = _pred()
    pred["published"] = None
    out = build_monthly(pred, "v1")
    assert out.empty
    assert list(out.columns) == MONTHLY_COLUMNS


# --------------------------------------------------------------------------- CSV output
@pytest.mark.parametrize("value", ["=SUM(A1:A9)", "+1", "-cmd", "@import", "\tlead", "\rlead"])
def test_neutralise_formulas_prefixes(value):
    out = neutralise_formulas(pd.DataFrame({"title": [value]}))
    assert out["title"].iloc[0] == "'" + value


def test_neutralise_formulas_leaves_other_cells():
    df = pd.DataFrame({
        "title": ["Plain title", "a=b", " =leading space", "", None, "2020-01"],
        "n": [-1, 2, 3, 4, 5, 6],
        "x": [-0.5, 1.0, 2.0, 3.0, 4.0, 5.0],
    })
    out = neutralise_formulas(df)
    assert out["title"].tolist()[:4] == ["Plain title", "a=b", " =leading space", ""]
    assert out["title"].iloc[4] is None or pd.isna(out["title"].iloc[4])
    assert out["n"].tolist() == [-1, 2, 3, 4, 5, 6]
    assert out["x"].tolist() == [-0.5, 1.0, 2.0, 3.0, 4.0, 5.0]
    # the input frame is not modified
    assert df["title"].iloc[0] == "Plain title"


def test_neutralise_formulas_does_not_modify_input():
    df = pd.DataFrame({"title": ["=evil()"]})
    neutralise_formulas(df)
    assert df["title"].iloc[0] == "=evil()"


def test_write_csv_atomic_round_trip(tmp_path):
    titles = [
        "Deterrence, alliances, and budgets",
        'The "new" arms race',
        "Line one\nline two",
        "Comma, \"quote\" and\nnewline together",
        "Café – ünïcode “quotes”",
    ]
    df = pd.DataFrame({"title": titles, "share": [0.1, 0.25, None, 1.0, 0.0], "n": [1, 2, 3, 4, 5]})
    path = tmp_path / "out" / "nested" / "monthly.csv"
    write_csv_atomic(df, path)
    assert path.exists()
    back = pd.read_csv(path)
    assert back["title"].tolist() == titles
    assert back["n"].tolist() == [1, 2, 3, 4, 5]
    assert back["share"].iloc[1] == 0.25 and math.isnan(back["share"].iloc[2])
    assert sorted(p.name for p in path.parent.iterdir()) == ["monthly.csv"]


def test_write_csv_atomic_neutralises_and_replaces(tmp_path):
    path = tmp_path / "monthly.csv"
    path.write_text("old content\n", encoding="utf-8")
    write_csv_atomic(pd.DataFrame({"title": ["=HYPERLINK(\"x\")", "ok"]}), path)
    back = pd.read_csv(path)
    assert back["title"].tolist() == ["'=HYPERLINK(\"x\")", "ok"]
    assert "old content" not in path.read_text(encoding="utf-8")
    assert not (tmp_path / ".monthly.csv.tmp").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["monthly.csv"]


def test_monthly_table_round_trips_through_csv(tmp_path, monthly):
    path = tmp_path / "monthly.csv"
    write_csv_atomic(monthly, path)
    back = pd.read_csv(path, dtype={"period": str})
    assert list(back.columns) == MONTHLY_COLUMNS
    assert len(back) == len(monthly)
    assert back["period"].tolist() == monthly["period"].tolist()
    assert back["passages"].tolist() == monthly["passages"].tolist()
    assert back["share"].isna().tolist() == monthly["share"].isna().tolist()
