"""Read-only access to the corpus store for the trend tables, streamed in bounded chunks.

The store keeps one row per (passage text, model version, theme). Reading millions of those
through Python costs seconds, so predictions are kept in a columnar snapshot (Parquet, one row
per passage text with a probability and a label column per theme) beside the outputs. Each run
reads only the prediction rows added since the snapshot was written: predictions are never
updated in place (a text and a version are classified once), so rows past the snapshot's
high-water mark are exactly what is new. On SQLite the mark is the table's ``rowid``; other
databases have no such order and are read in full on every run.

Passages and documents are small per row and can change (a document updated upstream is cut
into new passages), so they are read afresh each time, in chunks, as integer arrays.

:class:`StoreReader` is the one place the trend outputs read the store: it hands out frames
and arrays, and everything downstream (tables, spikes, evidence, charts, report) only takes
those.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from policytrends.corpus.store import documents, passages, predictions
from policytrends.errors import PolicyTrendsError
from policytrends.files import write_atomic, write_json_atomic

log = logging.getLogger("policytrends.trends")
CHUNK = 100_000  # rows per fetch: bounds memory whatever the store's size
SNAPSHOT_FORMAT = 1


@dataclass
class PassagePredictions:
    """One row per classified passage: ids, and a (passages x themes) block of probabilities and labels."""

    passage_id: np.ndarray  # int64
    document_id: np.ndarray  # int64
    prob: np.ndarray  # float32, shape (n, len(themes))
    label: np.ndarray  # bool, shape (n, len(themes))
    themes: list[str]

    def __len__(self) -> int:
        return len(self.passage_id)

    @classmethod
    def from_long(cls, pred: pd.DataFrame, themes: list[str] | None = None) -> PassagePredictions:
        """From one row per (passage, theme): ``passage_id``, ``document_id``, ``theme``, ``probability``, ``label``."""
        themes = themes or sorted(str(t) for t in pred["theme"].unique())
        if pred.empty:
            return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, len(themes)), np.float32),
                       np.zeros((0, len(themes)), bool), themes)
        ids, codes = np.unique(pred["passage_id"].to_numpy(np.int64), return_inverse=True)
        col = pd.Index(themes).get_indexer(pred["theme"].astype(str))
        keep = col >= 0
        prob = np.full((len(ids), len(themes)), np.nan, np.float32)
        label = np.zeros((len(ids), len(themes)), bool)
        prob[codes[keep], col[keep]] = pred["probability"].to_numpy(np.float32)[keep]
        label[codes[keep], col[keep]] = pred["label"].astype(bool).to_numpy()[keep]
        doc = np.zeros(len(ids), np.int64)
        doc[codes] = pred["document_id"].to_numpy(np.int64)
        return cls(ids, doc, prob, label, themes)


def fetch_rows(conn, stmt, size: int = CHUNK) -> Iterator[list[tuple]]:
    """Rows of ``stmt`` in lists of ``size`` tuples, straight from the driver's cursor.

    SQLAlchemy's result rows cost about 1.6x more per row; here each row is used once.
    """
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    if compiled.positional:
        params = tuple(params[name] for name in compiled.positiontup)
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.execute(str(compiled), params)
        while rows := cursor.fetchmany(size):
            yield rows
    finally:
        cursor.close()


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while millions of row tuples come and go.

    Each fetched row is a tracked tuple, so collections run every few hundred rows and walk
    every live object: about 40% of a cold read. Rows form no cycles; reference counting
    frees them as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _is_sqlite(store) -> bool:
    return store.engine.dialect.name == "sqlite"


# --------------------------------------------------------------------------- the reader
class StoreReader:
    """The store as the trend tables need it: the documents frame, every passage with one
    version's predictions, the evidence's titles and texts, and the checks on versions."""

    def __init__(self, store):
        self.store = store

    # ----------------------------------------------------------------------- checks
    def passage_count(self) -> int:
        return self.store.count("passages")

    def has_predictions(self, version: str) -> bool:
        with self.store.engine.connect() as conn:
            stmt = sa.select(predictions.c.theme).where(predictions.c.model_version == version).limit(1)
            return conn.execute(stmt).first() is not None

    def versions_of_unclassified(self, version: str) -> dict[str, int]:
        """Other versions that classified the passages ``version`` has not, with passage counts."""
        done = sa.select(predictions.c.text_hash).where(predictions.c.model_version == version)
        stmt = (sa.select(predictions.c.model_version, sa.func.count(sa.distinct(passages.c.id)))
                .select_from(passages.join(predictions, predictions.c.text_hash == passages.c.text_hash))
                .where(passages.c.text_hash.not_in(done)).group_by(predictions.c.model_version))
        with self.store.engine.connect() as conn:
            return dict(conn.execute(stmt).all())

    # ----------------------------------------------------------------------- documents
    def documents(self) -> pd.DataFrame:
        """Every document: ``document_id``, ``source``, ``published`` (datetime64, NaT if unknown),
        ``first_seen_at`` and ``fetched_at`` (UTC, naive), ``passages`` (passages stored for it), and
        ``canonical_url`` (the document's stable key: ids depend on the order documents were stored in)."""
        names = ["document_id", "source", "published", "first_seen_at", "fetched_at", "canonical_url"]
        stmt = sa.select(documents.c.id, documents.c.source, documents.c.published, documents.c.first_seen_at,
                         documents.c.fetched_at, documents.c.canonical_url)
        counts = sa.select(passages.c.document_id, sa.func.count()).group_by(passages.c.document_id)
        with self.store.engine.connect() as conn, paused_gc():
            # Raw driver values: dates arrive as ISO strings from SQLite and as date objects from
            # PostgreSQL; pandas parses either, a column at a time.
            frame = pd.concat([pd.DataFrame(rows, columns=names) for rows in fetch_rows(conn, stmt)]
                              or [pd.DataFrame(columns=names)], ignore_index=True)
            per_doc = dict(row for rows in fetch_rows(conn, counts) for row in rows)
        frame["document_id"] = frame["document_id"].astype(np.int64)
        frame["source"] = frame["source"].astype(object).map(str)
        frame["published"] = _datetimes(frame["published"]).dt.normalize()
        for col in ("first_seen_at", "fetched_at"):
            frame[col] = _datetimes(frame[col])
        frame["passages"] = frame["document_id"].map(per_doc).fillna(0).astype(np.int64)
        return frame

    def document_details(self, ids) -> pd.DataFrame:
        """Title and URL of the given documents."""
        rows = self._by_ids(documents.c.id, [documents.c.id, documents.c.title, documents.c.url], ids)
        return pd.DataFrame(rows, columns=["document_id", "title", "url"]).astype({"document_id": np.int64})

    def passage_texts(self, ids) -> dict[int, str]:
        """Text of the given passages."""
        return dict(self._by_ids(passages.c.id, [passages.c.id, passages.c.text], ids))

    def _by_ids(self, key, columns, ids, batch: int = 900) -> list[tuple]:
        # 900 ids per query stays under SQLite's oldest limit on bound parameters (999).
        ids = sorted({int(i) for i in ids})
        out: list[tuple] = []
        with self.store.engine.connect() as conn, paused_gc():
            for start in range(0, len(ids), batch):
                for rows in fetch_rows(conn, sa.select(*columns).where(key.in_(ids[start : start + batch]))):
                    out.extend(rows)
        return out

    # ----------------------------------------------------------------------- predictions
    def predictions(self, version: str, themes: list[str], snapshot_dir: Path | None) -> tuple[PassagePredictions, int]:
        """Every stored passage with the version's predictions for it; also how many prediction rows
        were read from the store (the rest came from the snapshot in ``snapshot_dir``, if given).

        Raises :class:`PolicyTrendsError` when some passages lack predictions by ``version``: a table
        built from the others would silently leave them out, or mix in another version's labels.
        """
        snapshot = PredictionSnapshot(self.store, version, themes, snapshot_dir)
        hashes, prob, label = snapshot.load()
        found = self._passages_with_predictions(hashes)
        if found[3] and snapshot.used_cache:
            # Passages the snapshot does not know: if the store was rebuilt behind its back, a full
            # read puts it right before anything is refused.
            log.warning("the prediction snapshot misses %d passages: reading every prediction of %s again", found[3], version)
            snapshot = PredictionSnapshot(self.store, version, themes, snapshot_dir, trust_cache=False)
            hashes, prob, label = snapshot.load()
            found = self._passages_with_predictions(hashes)
        ids, docs, slots, missing = found
        if missing:
            total = missing + len(ids)
            others = self.versions_of_unclassified(version)
            by = f"; they were classified by {', '.join(f'{v} ({n})' for v, n in sorted(others.items()))} only" if others else ""
            raise PolicyTrendsError(
                f"{missing} of {total} passages have no predictions by model {version}{by}. A trend table never mixes model "
                f"versions, so none was written: classify them with {version} first (`policytrends run` does), then run "
                "`policytrends trends`")
        return PassagePredictions(ids, docs, prob[slots], label[slots], list(themes)), snapshot.rows_read

    def _passages_with_predictions(self, hashes: pd.Index) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """(passage ids, document ids, snapshot slots) of stored passages whose text has predictions,
        and how many passages have none."""
        ids, docs, slots = [], [], []
        missing = 0
        stmt = sa.select(passages.c.id, passages.c.document_id, passages.c.text_hash)
        with self.store.engine.connect() as conn, paused_gc():
            for rows in fetch_rows(conn, stmt):
                pid, did, h = zip(*rows, strict=True)
                slot = hashes.get_indexer(np.asarray(h, dtype=object))
                ok = slot >= 0
                missing += int((~ok).sum())
                ids.append(np.asarray(pid, np.int64)[ok])
                docs.append(np.asarray(did, np.int64)[ok])
                slots.append(slot[ok])
        empty = np.zeros(0, np.int64)
        return (np.concatenate(ids) if ids else empty, np.concatenate(docs) if docs else empty,
                np.concatenate(slots) if slots else empty, missing)


def _datetimes(values: pd.Series) -> pd.Series:
    """UTC, naive, datetime64[ns]; NaT where missing or unreadable."""
    parsed = pd.to_datetime(values, errors="coerce", utc=True, format="ISO8601")
    return parsed.dt.tz_localize(None).astype("datetime64[ns]")


# --------------------------------------------------------------------------- predictions
class PredictionSnapshot:
    """The predictions of one model version, one row per passage text, kept as Parquet.

    ``folder`` holds ``<version>.parquet`` and ``<version>.json`` (the high-water mark and
    how many store rows the snapshot holds). Snapshots of other versions are removed.
    """

    def __init__(self, store, version: str, themes: list[str], folder: Path | None, trust_cache: bool = True):
        self.store = store
        self.version = version
        self.themes = list(themes)
        self.folder = Path(folder) if folder else None
        self.trust_cache = trust_cache
        self.used_cache = False  # whether the last load() started from a snapshot on disk
        self.rows_read = 0  # prediction rows read from the store by the last load(): the incremental part

    @property
    def _paths(self) -> tuple[Path, Path] | None:
        if self.folder is None:
            return None
        return self.folder / f"{self.version}.parquet", self.folder / f"{self.version}.json"

    def _load_cached(self) -> tuple[pd.Index, np.ndarray, np.ndarray, dict] | None:
        paths = self._paths
        if (paths is None or not self.trust_cache or not _is_sqlite(self.store)
                or not (paths[0].exists() and paths[1].exists())):
            return None
        try:
            state = json.loads(paths[1].read_text(encoding="utf-8"))
            if (state.get("format") != SNAPSHOT_FORMAT or state.get("themes") != self.themes
                    or state.get("db_url") != self.store.url or not self._mark_holds(state)):
                return None
            table = pq.read_table(paths[0])
        except (OSError, ValueError, pa.ArrowException) as exc:
            log.warning("ignoring unreadable prediction snapshot %s: %s", paths[0], exc)
            return None
        hashes = pd.Index(table.column("text_hash").to_numpy(zero_copy_only=False).astype(object), dtype=object)
        prob = np.column_stack([table.column(f"p_{t}").to_numpy() for t in self.themes]).astype(np.float32) \
            if self.themes else np.zeros((len(hashes), 0), np.float32)
        label = np.column_stack([table.column(f"l_{t}").to_numpy() for t in self.themes]).astype(bool) \
            if self.themes else np.zeros((len(hashes), 0), bool)
        return hashes, prob, label, state

    def _mark_holds(self, state: dict) -> bool:
        """The row at the high-water mark is still the one the snapshot saw (the store was not replaced)."""
        mark = state.get("mark")
        if not mark:
            return state.get("rows", 0) == 0
        rowid = sa.literal_column("rowid")
        stmt = sa.select(predictions.c.text_hash, predictions.c.model_version, predictions.c.theme).where(rowid == mark["rowid"])
        with self.store.engine.connect() as conn:
            row = conn.execute(stmt).first()
        return row is not None and list(row) == mark.get("key")

    def load(self) -> tuple[pd.Index, np.ndarray, np.ndarray]:
        """(text hashes, probabilities, labels) of every stored prediction of the version."""
        cached = self._load_cached()
        self.used_cache = cached is not None
        if cached is None:
            cached = (pd.Index(np.array([], dtype=object), dtype=object), np.zeros((0, len(self.themes)), np.float32),
                      np.zeros((0, len(self.themes)), bool), {"rows": 0, "mark": None})
        hashes, prob, label, state = cached
        sqlite = _is_sqlite(self.store)
        # Themes come back as small integers: cheaper per row than a string each.
        theme_code = sa.case({t: j for j, t in enumerate(self.themes)}, value=predictions.c.theme, else_=-1)
        stmt = sa.select(predictions.c.text_hash, theme_code, predictions.c.probability, predictions.c.label).where(
            predictions.c.model_version == self.version)
        mark = None
        if sqlite:
            rowid = sa.literal_column("rowid")
            with self.store.engine.connect() as conn:
                top = conn.execute(sa.select(sa.func.max(rowid)).select_from(predictions)).scalar()
                if top is not None:
                    row = conn.execute(sa.select(predictions.c.text_hash, predictions.c.model_version, predictions.c.theme)
                                       .where(rowid == top)).first()
                    mark = {"rowid": int(top), "key": list(row)}
            # Rows added while this runs have higher rowids: the next run reads them.
            stmt = stmt.where(rowid <= (mark["rowid"] if mark else 0))
            if state["mark"]:
                stmt = stmt.where(rowid > state["mark"]["rowid"])

        # New rows become (hash, theme column, probability, label); a passage's themes may
        # straddle two chunks, so hashes get their slot only once everything is read: the
        # snapshot's hashes first (they keep their slots), then new ones in order of arrival.
        # The row order is only a speed-up: any order gives the same result.
        local_codes, local_uniques, theme_cols, probs, labels = [], [], [], [], []
        with self.store.engine.connect() as conn, paused_gc():
            for rows in fetch_rows(conn, stmt):
                columns = list(zip(*rows, strict=True))
                # A passage's themes are stored one after the other, so runs of equal hashes
                # stand for one passage; a hash seen in two runs is merged when slots are given.
                texts = np.asarray(columns[0], dtype=object)
                starts = np.flatnonzero(np.r_[True, texts[1:] != texts[:-1]])
                codes = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(texts)]))
                uniques = texts[starts]
                col = np.asarray(columns[1], dtype=np.int64)
                ok = col >= 0  # a theme the version does not list (cannot happen unless edited by hand)
                local_codes.append(codes[ok])
                local_uniques.append(uniques)
                theme_cols.append(col[ok])
                probs.append(np.asarray(columns[2], dtype=np.float32)[ok])
                labels.append(np.asarray(columns[3], dtype=bool)[ok])
        self.rows_read = int(sum(len(c) for c in local_codes))
        if not self.rows_read and len(hashes):
            return hashes, prob, label  # nothing new since the snapshot

        slot_of_unique, all_hashes = pd.factorize(np.concatenate([np.asarray(hashes, dtype=object), *local_uniques]))
        n = len(all_hashes)
        all_prob = np.full((n, len(self.themes)), np.nan, np.float32)
        all_label = np.zeros((n, len(self.themes)), bool)
        all_prob[: len(hashes)] = prob
        all_label[: len(hashes)] = label
        offset = len(hashes)
        for codes, uniques, col, p, lab in zip(local_codes, local_uniques, theme_cols, probs, labels, strict=True):
            slots = slot_of_unique[offset : offset + len(uniques)][codes]
            all_prob[slots, col] = p
            all_label[slots, col] = lab
            offset += len(uniques)
        all_hashes = pd.Index(np.asarray(all_hashes, dtype=object), dtype=object)
        if sqlite and self._paths is not None:
            self._save(all_hashes, all_prob, all_label, {"rows": state["rows"] + self.rows_read, "mark": mark or state["mark"]})
        return all_hashes, all_prob, all_label

    def _save(self, hashes: pd.Index, prob: np.ndarray, label: np.ndarray, state: dict) -> None:
        parquet, sidecar = self._paths
        parquet.parent.mkdir(parents=True, exist_ok=True)
        for old in parquet.parent.glob("*"):
            if old.stem != self.version and old.suffix in (".parquet", ".json"):
                old.unlink(missing_ok=True)
        columns = {"text_hash": pa.array(hashes.to_numpy(), pa.string())}
        for j, t in enumerate(self.themes):
            columns[f"p_{t}"] = pa.array(prob[:, j])
            columns[f"l_{t}"] = pa.array(label[:, j])
        write_atomic(parquet, lambda tmp: pq.write_table(pa.table(columns), tmp))
        write_json_atomic(sidecar, {"format": SNAPSHOT_FORMAT, "version": self.version, "themes": self.themes,
                                    "db_url": self.store.url, **state})
