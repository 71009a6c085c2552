"""The trend tables, built from one row per classified passage and one row per document.

Everything is computed from integer period codes and per-document sums, so a million
passages aggregate in well under a second; only the rows written out get labels.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from policytrends.corpus.hashing import squeeze
from policytrends.trends import periods as P
from policytrends.trends.prevalence import ErrorRates, corrected_prevalence
from policytrends.trends.reading import PassagePredictions

ALL = "ALL"

# The monthly table's original columns: the contract analysts and scripts rely on.
MONTHLY_COLUMNS = [
    "period", "source", "theme", "passages", "documents", "theme_passages", "theme_documents",
    "share", "doc_share", "mean_probability", "model_version",
]
# Added by the error-corrected version of the table, after the original ones.
TREND_COLUMNS = MONTHLY_COLUMNS + ["prevalence", "prevalence_low", "prevalence_high", "complete", "period_start", "period_end",
                                   "error_rates_from"]
COOCCURRENCE_COLUMNS = [
    "year", "theme_a", "theme_b", "passages", "passages_a", "passages_b", "passages_both", "passage_jaccard",
    "documents", "documents_a", "documents_b", "documents_both", "document_jaccard", "model_version",
]
EVIDENCE_COLUMNS = [
    "granularity", "period", "source", "theme", "rank", "probability", "document_source", "title", "published",
    "url", "text", "passage_id", "document_id", "model_version",
]
COVERAGE_COLUMNS = [
    "period", "period_start", "period_end", "source", "documents", "passages", "first_published", "last_published",
    "source_first_published", "source_last_published", "first_crawled", "last_crawled", "complete",
]
TEXT_LIMIT = 300  # characters of passage text in the evidence table


def _order_sources(sources) -> dict:
    return {s: (s == ALL, s) for s in sources}


def _ratio(num, den) -> np.ndarray:
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


# --------------------------------------------------------------------------- per document
def document_stats(pp: PassagePredictions, docs: pd.DataFrame) -> pd.DataFrame:
    """One row per document with classified passages: ``source``, ``published``, ``n`` passages,
    and per theme ``k<j>`` tagged passages and ``s<j>`` summed probability (j = theme position)."""
    ids, codes = np.unique(pp.document_id, return_inverse=True)
    out = {"document_id": ids, "n": np.bincount(codes, minlength=len(ids)).astype(np.int64)}
    prob = np.nan_to_num(pp.prob.astype(np.float64))
    for j in range(len(pp.themes)):
        out[f"k{j}"] = np.bincount(codes, weights=pp.label[:, j], minlength=len(ids)).astype(np.int64)
        out[f"s{j}"] = np.bincount(codes, weights=prob[:, j], minlength=len(ids))
    frame = pd.DataFrame(out)
    meta = docs.set_index("document_id")[["source", "published"]]
    return frame.join(meta, on="document_id")


# --------------------------------------------------------------------------- trend tables
def trend_table(stats: pd.DataFrame, themes: list[str], freq: str, model_version: str,
                rates: dict[str, ErrorRates] | None = None, cutoffs: dict[str, datetime] | None = None) -> pd.DataFrame:
    """One row per (period, source and ``ALL``, theme) with counts, shares, corrected prevalence
    and whether the period is complete.

    Each source has a row for every period from its first to its last dated document (``ALL``
    from the first to the last of any source), so a period without documents is visible as a
    gap (``passages`` 0, empty shares). ``cutoffs`` gives, per source, the moment up to which
    its periods are known in full (its last crawl); without it ``complete`` is left empty.
    """
    dated = stats[stats["published"].notna()]
    if dated.empty or not themes:
        return pd.DataFrame(columns=TREND_COLUMNS)
    T = len(themes)
    sums = {"n": "sum", "documents": "sum"}
    frame = dated.assign(period=P.codes(dated["published"], freq), documents=1)
    for j in range(T):
        frame[f"d{j}"] = (frame[f"k{j}"] > 0).astype(np.int64)
        sums.update({f"k{j}": "sum", f"s{j}": "sum", f"d{j}": "sum"})
    per_source = frame.groupby(["period", "source"], sort=False).agg(sums)
    everything = frame.groupby("period", sort=False).agg(sums)
    everything["source"] = ALL
    volume = pd.concat([per_source.reset_index(), everything.reset_index()], ignore_index=True)

    span = volume.groupby("source")["period"].agg(["min", "max"])
    grid = pd.concat([pd.DataFrame({"period": np.arange(lo, hi + 1), "source": src}) for src, (lo, hi) in span.iterrows()],
                     ignore_index=True)
    wide = grid.merge(volume, on=["period", "source"], how="left").fillna(0)
    wide["n"] = wide["n"].astype(np.int64)
    wide["documents"] = wide["documents"].astype(np.int64)
    wide = wide.sort_values(["period", "source"], key=lambda c: c.map(_order_sources(c.unique())) if c.name == "source" else c,
                            kind="stable").reset_index(drop=True)

    period_label = dict(zip(wide["period"].unique(), P.labels(wide["period"].unique(), freq), strict=True))
    labels = wide["period"].map(period_label)
    first = P.start(wide["period"].to_numpy(), freq)
    after = P.end_exclusive(wide["period"].to_numpy(), freq)
    complete = _complete(wide, after, cutoffs)
    parts = []
    for j, theme in enumerate(themes):
        k, n = wide[f"k{j}"].to_numpy(np.int64), wide["n"].to_numpy(np.int64)
        theme_rates = (rates or {}).get(theme)
        prev, low, high = corrected_prevalence(k, n, theme_rates)
        parts.append(pd.DataFrame({
            "period": labels, "source": wide["source"], "theme": theme, "passages": n,
            "documents": wide["documents"], "theme_passages": k, "theme_documents": wide[f"d{j}"].astype(np.int64),
            "share": _ratio(k, n).round(4), "doc_share": _ratio(wide[f"d{j}"], wide["documents"]).round(4),
            "mean_probability": _ratio(wide[f"s{j}"], n).round(4), "model_version": model_version,
            "prevalence": prev.round(4), "prevalence_low": low.round(4), "prevalence_high": high.round(4),
            "complete": complete, "period_start": P.iso(first), "period_end": P.iso(after - 1),
            "error_rates_from": theme_rates.source if theme_rates else "",
            "_order": np.arange(len(wide)),
        }))
    out = pd.concat(parts, ignore_index=True).sort_values(["_order", "theme"], kind="stable")
    return out[TREND_COLUMNS].reset_index(drop=True)


def _complete(wide: pd.DataFrame, after: np.ndarray, cutoffs: dict[str, datetime] | None) -> pd.Series:
    """A period is complete once it has ended and its source was crawled after it ended. ``ALL``
    is complete once every source is."""
    if cutoffs is None:
        return pd.Series(pd.NA, index=wide.index, dtype="boolean")
    sources = [s for s in wide["source"].unique() if s != ALL]
    known = {s: np.datetime64(cutoffs[s], "s") if cutoffs.get(s) is not None else np.datetime64("NaT", "s") for s in sources}
    finite = [v for v in known.values() if not np.isnat(v)]
    known[ALL] = min(finite) if len(finite) == len(known) and finite else np.datetime64("NaT", "s")
    cutoff = wide["source"].map(known).to_numpy("datetime64[s]")
    return pd.Series(after.astype("datetime64[s]") <= cutoff, index=wide.index, dtype="boolean")


def crawl_cutoffs(docs: pd.DataFrame, now: datetime) -> dict[str, datetime]:
    """Per source, the moment up to which its periods are complete: its last crawl, never later than now."""
    last = docs.groupby("source")["fetched_at"].max()
    now = pd.Timestamp(now).tz_localize(None) if pd.Timestamp(now).tzinfo is None else pd.Timestamp(now).tz_convert(None)
    return {s: (min(t, now) if pd.notna(t) else now).to_pydatetime() for s, t in last.items()}


# --------------------------------------------------------------------------- co-occurrence
def cooccurrence(pp: PassagePredictions, stats: pd.DataFrame, docs: pd.DataFrame, model_version: str) -> pd.DataFrame:
    """Per year of publication and pair of themes: passages and documents tagged with each and with both."""
    themes = pp.themes
    if len(themes) < 2:
        return pd.DataFrame(columns=COOCCURRENCE_COLUMNS)
    published = docs.set_index("document_id")["published"]
    year_of_doc = pd.Series(P.codes(published.dropna(), "year"), index=published.dropna().index)
    passage_year = pd.Series(pp.document_id).map(year_of_doc)
    dated = passage_year.notna().to_numpy()
    if not dated.any():
        return pd.DataFrame(columns=COOCCURRENCE_COLUMNS)
    bits = (pp.label[dated].astype(np.int64) << np.arange(len(themes), dtype=np.int64)).sum(axis=1)
    passage_masks = pd.DataFrame({"year": passage_year[dated].astype(np.int64).to_numpy(), "mask": bits}).value_counts()

    doc_dated = stats[stats["published"].notna()]
    doc_bits = sum((doc_dated[f"k{j}"].to_numpy() > 0).astype(np.int64) << j for j in range(len(themes)))
    doc_masks = pd.DataFrame({"year": P.codes(doc_dated["published"], "year"), "mask": doc_bits}).value_counts()

    years = np.arange(min(passage_masks.index.get_level_values(0)), max(passage_masks.index.get_level_values(0)) + 1)
    rows = []
    for year in years:
        pm = _masks_of(passage_masks, year)
        dm = _masks_of(doc_masks, year)
        for a in range(len(themes)):
            for b in range(a + 1, len(themes)):
                pa_, pb, pboth = _pair_counts(pm, a, b)
                da, db, dboth = _pair_counts(dm, a, b)
                rows.append((f"{1970 + year:04d}", themes[a], themes[b], int(sum(pm.values())), pa_, pb, pboth,
                             _ratio(pboth, pa_ + pb - pboth).round(4).item(), int(sum(dm.values())), da, db, dboth,
                             _ratio(dboth, da + db - dboth).round(4).item(), model_version))
    return pd.DataFrame(rows, columns=COOCCURRENCE_COLUMNS)


def _masks_of(counts: pd.Series, year: int) -> dict[int, int]:
    try:
        sub = counts.xs(year, level="year")
    except KeyError:
        return {}
    return {int(m): int(c) for m, c in sub.items()}


def _pair_counts(masks: dict[int, int], a: int, b: int) -> tuple[int, int, int]:
    ca = sum(c for m, c in masks.items() if m >> a & 1)
    cb = sum(c for m, c in masks.items() if m >> b & 1)
    both = sum(c for m, c in masks.items() if m >> a & 1 and m >> b & 1)
    return ca, cb, both


# --------------------------------------------------------------------------- evidence
def evidence_candidates(pp: PassagePredictions, docs: pd.DataFrame, top: int = 3,
                        freqs: tuple[str, ...] = ("week", "month")) -> pd.DataFrame:
    """The ``top`` tagged passages by probability for each (granularity, period, source and ALL,
    theme): ids and probabilities only; texts and titles are looked up for these rows alone.
    Ties (the same passage text in two documents has the same probability) go to the document
    whose canonical URL sorts first, then to the earlier passage in it: ids depend on the order
    in which a crawl happened to store documents, so they cannot break ties on their own."""
    meta = docs.set_index("document_id")
    pos = meta.index.get_indexer(pp.document_id)
    if "canonical_url" in meta:
        doc_rank = pd.factorize(meta["canonical_url"].to_numpy(object), sort=True)[0][pos]
    else:  # frames built by hand without URLs: ids are all there is
        doc_rank = np.zeros(len(pp), np.int64)
    source_code, source_names = pd.factorize(meta["source"].to_numpy(object))
    passage_source = source_code[pos]
    published = meta["published"].to_numpy("datetime64[ns]")[pos]
    dated = ~np.isnat(published)
    period = {f: np.zeros(len(pp), np.int64) for f in freqs}
    for f in freqs:
        period[f][dated] = P.codes(pd.Series(published[dated]), f)
    parts = []
    for j, theme in enumerate(pp.themes):
        idx = np.flatnonzero(pp.label[:, j] & dated)
        if not len(idx):
            continue
        prob = pp.prob[idx, j].astype(np.float64)
        # Within a document, passage ids follow positions (a document's passages are written together, in order).
        best_first = np.lexsort((pp.passage_id[idx], doc_rank[idx], -prob))  # once per theme; each grouping below keeps this order
        for freq in freqs:
            code = period[freq][idx]
            for scope in ("source", ALL):
                group = code * len(source_names) + passage_source[idx] if scope == "source" else code
                order = best_first[np.argsort(group[best_first], kind="stable")]
                g = group[order]
                first = np.r_[True, g[1:] != g[:-1]]
                rank = np.arange(len(g)) - np.maximum.accumulate(np.where(first, np.arange(len(g)), 0)) + 1
                keep = order[rank <= top]
                parts.append(pd.DataFrame({
                    "granularity": freq, "code": code[keep],
                    "source": source_names[passage_source[idx][keep]] if scope == "source" else ALL,
                    "theme": theme, "rank": rank[rank <= top], "probability": prob[keep],
                    "document_source": source_names[passage_source[idx][keep]],
                    "passage_id": pp.passage_id[idx][keep], "document_id": pp.document_id[idx][keep],
                }))
    if not parts:
        return pd.DataFrame(columns=["granularity", "code", "source", "theme", "rank", "probability", "document_source",
                                     "passage_id", "document_id"])
    return pd.concat(parts, ignore_index=True)


def evidence_table(cand: pd.DataFrame, docs: pd.DataFrame, details: pd.DataFrame, texts: dict[int, str],
                   model_version: str) -> pd.DataFrame:
    """Evidence rows from :func:`evidence_candidates` plus titles, URLs and texts."""
    if cand.empty:
        return pd.DataFrame(columns=EVIDENCE_COLUMNS)
    out = cand.merge(details, on="document_id", how="left")
    published = docs.set_index("document_id")["published"]
    out["published"] = out["document_id"].map(published).dt.strftime("%Y-%m-%d")
    labels = {}
    for freq, codes in out.groupby("granularity")["code"]:
        uniq = codes.unique()
        labels.update({(freq, c): lab for c, lab in zip(uniq, P.labels(uniq, freq), strict=True)})
    out["period"] = [labels[(g, c)] for g, c in zip(out["granularity"], out["code"], strict=True)]
    out["text"] = out["passage_id"].map(lambda i: cut(texts.get(int(i), "")))
    out["probability"] = out["probability"].round(4)
    out["model_version"] = model_version
    order = _order_sources(out["source"].unique())
    out = out.sort_values(["granularity", "code", "source", "theme", "rank"],
                          key=lambda c: c.map(order) if c.name == "source" else c, kind="stable")
    return out[EVIDENCE_COLUMNS].reset_index(drop=True)


def cut(text: str, limit: int = TEXT_LIMIT) -> str:
    """``text`` in at most ``limit`` characters, an ellipsis marking a cut."""
    text = squeeze(str(text))
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# --------------------------------------------------------------------------- coverage
def coverage_table(docs: pd.DataFrame, cutoffs: dict[str, datetime]) -> pd.DataFrame:
    """Documents and passages stored per source and month (all of them, classified or not), with
    the first and last publication and crawl dates. Documents without a date get a row with an
    empty period."""
    if docs.empty:
        return pd.DataFrame(columns=COVERAGE_COLUMNS)
    freq = "month"
    dated = docs[docs["published"].notna()].assign(period=lambda d: P.codes(d["published"], freq))
    per_source = docs.groupby("source").agg(first_crawled=("first_seen_at", "min"), last_crawled=("fetched_at", "max"),
                                            source_first_published=("published", "min"),
                                            source_last_published=("published", "max"))
    both = pd.concat([dated, dated.assign(source=ALL)], ignore_index=True)
    rows = []
    if not both.empty:
        volume = both.groupby(["period", "source"]).agg(documents=("document_id", "size"), passages=("passages", "sum"),
                                                        first_published=("published", "min"),
                                                        last_published=("published", "max")).reset_index()
        span = volume.groupby("source")["period"].agg(["min", "max"])
        grid = pd.concat([pd.DataFrame({"period": np.arange(lo, hi + 1), "source": s}) for s, (lo, hi) in span.iterrows()],
                         ignore_index=True)
        table = grid.merge(volume, on=["period", "source"], how="left")
        table[["documents", "passages"]] = table[["documents", "passages"]].fillna(0).astype(np.int64)
        after = P.end_exclusive(table["period"].to_numpy(), freq)
        table["complete"] = _complete(table, after, cutoffs).to_numpy()
        table["period_start"] = P.iso(P.start(table["period"].to_numpy(), freq))
        table["period_end"] = P.iso(after - 1)
        table["_code"] = table["period"]
        table["period"] = P.labels(table["period"].to_numpy(), freq)
        rows.append(table)
    undated = docs[docs["published"].isna()]
    if not undated.empty:
        u = undated.groupby("source").agg(documents=("document_id", "size"), passages=("passages", "sum")).reset_index()
        u = pd.concat([u, pd.DataFrame({"source": [ALL], "documents": [u["documents"].sum()], "passages": [u["passages"].sum()]})],
                      ignore_index=True)
        rows.append(u.assign(period="", period_start="", period_end="", _code=np.iinfo(np.int64).max, complete=pd.NA))
    out = pd.concat(rows, ignore_index=True)
    everything = per_source.agg({"first_crawled": "min", "last_crawled": "max", "source_first_published": "min",
                                 "source_last_published": "max"})
    per_source.loc[ALL] = everything
    out = out.join(per_source, on="source")
    for col in ("first_published", "last_published", "source_first_published", "source_last_published"):
        out[col] = pd.to_datetime(out[col]).dt.strftime("%Y-%m-%d") if col in out else ""
    for col in ("first_crawled", "last_crawled"):
        out[col] = pd.to_datetime(out[col]).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    out["complete"] = out["complete"].astype("boolean")
    order = _order_sources(out["source"].unique())
    out = out.sort_values(["_code", "source"], key=lambda c: c.map(order) if c.name == "source" else c, kind="stable")
    return out[COVERAGE_COLUMNS].reset_index(drop=True)
