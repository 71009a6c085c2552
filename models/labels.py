"""Read labelled passages: CSV (``text``, ``labels`` joined by ``;``), JSONL, Label Studio JSON.

All readers return a DataFrame with columns ``text`` (str) and ``labels`` (list of theme
names, empty for no theme). Bad files raise :class:`LabelsError` naming the problem and the fix.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from policytrends.corpus.hashing import squeeze, text_hash
from policytrends.errors import PolicyTrendsError
from policytrends.models.encoder import MAX_CHARS, over_bound
from policytrends.settings import not_utf8

log = logging.getLogger("policytrends.labels")
MIN_POSITIVES = 10  # below this a theme cannot be learned or evaluated meaningfully
HELDOUT_FRACTION = 0.2
# Label files shipped with the code (text written for the project) are "seed" labels; every other
# file is an analyst's labels of real text, which training weighs more and validates on.
SEED_FOLDER = Path(__file__).resolve().parent / "seed"
SEED, ANALYST = "seed", "analyst"
# The seed labels: the first model is trained from them.
SEED_LABELS = SEED_FOLDER / "seed_labels.jsonl"
# The seed labels' figure on real labelled text, written by `bench/real_text.py --record`.
REAL_TEXT_RECORD = SEED_FOLDER / "real_text.json"


class LabelsError(PolicyTrendsError):
    pass


def check_utf8(path: Path) -> None:
    """Refuse a file that is not UTF-8 with the byte, its line and the fix (pandas names the byte only)."""
    try:
        path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LabelsError(f"{path} is not UTF-8 text ({not_utf8(exc)}; saved as Latin-1 or Windows-1252?): "
                          "save it as UTF-8 (in a spreadsheet: CSV UTF-8)") from None


def shown_columns(columns, limit: int = 8) -> str:
    """The first few column names, for a message: a JSON object read as a table can have thousands."""
    names = [str(c)[:40] for c in columns]
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return f"{names[:limit]}{more}"


def _split_labels(value) -> list[str]:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return []
    if isinstance(value, list):
        if not all(isinstance(v, str) for v in value):
            raise LabelsError(f"a 'labels' list holds something other than theme names: {str(value)[:80]} "
                              "(write theme names as strings, e.g. [\"cyber\", \"bmd\"])")
        return [v.strip().casefold() for v in value if v.strip()]
    if isinstance(value, dict):
        raise LabelsError(f"a 'labels' cell is a mapping: {str(value)[:80]} (write theme names joined by ';', or a list)")
    return [p.strip().casefold() for p in str(value).split(";") if p.strip()]


def _dicts(value, path: Path, what: str) -> list[dict]:
    """``value`` as a list of mappings, or a LabelsError saying which part of the export is malformed."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise LabelsError(f"{path}: not a Label Studio export: {what} should be a list of objects, got {str(value)[:80]} "
                          "(export the project again as JSON)")
    return value


def _is_task(value) -> bool:
    return isinstance(value, dict) and "data" in value


def _json_records(data, path: Path) -> list | dict:
    """A ``.json`` labels file as a list of Label Studio tasks or of ``{text, labels}`` records.

    Label Studio exports a list of tasks; its API and hand-made files also come as
    ``{"tasks": [...]}``, a dict of tasks keyed by id, or one task: all read as the list.
    """
    fix = ("export the project from Label Studio as JSON (a list of tasks), or write the labels as a list of "
           '{"text": ..., "labels": [...]} objects or as JSONL')
    if isinstance(data, list):
        return data
    if not isinstance(data, dict):
        kind = "string" if isinstance(data, str) else "null" if data is None else "true/false" if isinstance(data, bool) else "number"
        raise LabelsError(f"{path}: the file holds a JSON {kind}, not a list of labelled passages; {fix}")
    if isinstance(data.get("tasks"), list):
        return data["tasks"]
    if _is_task(data) or {"text", "labels"} <= data.keys() and not isinstance(data["text"], list):
        return [data]
    if data and all(_is_task(v) for v in data.values()):  # keyed by task id
        return list(data.values())
    if {"text", "labels"} <= data.keys():  # columns: {"text": [...], "labels": [...]}
        return data
    keys = ", ".join(repr(str(k)[:40]) for k in list(data)[:5]) + (f" and {len(data) - 5} more" if len(data) > 5 else "")
    raise LabelsError(f"{path}: a JSON object with keys {keys}, neither Label Studio tasks nor labelled passages; {fix}")


def _label_studio(data: list, path: Path) -> pd.DataFrame:
    rows = []
    for task in _dicts(data, path, "the file"):
        fields = task.get("data") or {}
        if not isinstance(fields, dict):
            raise LabelsError(f"{path}: a Label Studio task's data is not an object: {str(fields)[:80]} (export the project as JSON)")
        text = fields.get("text")
        # Cancelled (skipped) annotations say nothing about the passage: not a "no theme" label.
        annotations = [a for a in _dicts(task.get("annotations"), path, "annotations") if not a.get("was_cancelled")]
        if annotations and not isinstance(text, str):
            raise LabelsError(f"{path}: a Label Studio task has no data.text (export the project with a 'text' field)")
        if annotations:
            results = [res for ann in annotations for res in _dicts(ann.get("result"), path, "annotation results")]
            values = [res.get("value") or {} for res in results]
            if not all(isinstance(v, dict) for v in values):
                raise LabelsError(f"{path}: an annotation result's value is not an object (export the project as JSON)")
            choices = [c for v in values for c in (v.get("choices") or [])]
            rows.append({"text": text, "labels": choices})
    return pd.DataFrame(rows, columns=["text", "labels"])


def read_labels(path: str | Path) -> pd.DataFrame:
    """Read a labels file in any supported format and validate it."""
    path = Path(path)
    if not path.exists():
        raise LabelsError(f"labels file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".jsonl", ".ndjson", ".json"):
        check_utf8(path)
    try:
        if suffix == ".csv":
            df = pd.read_csv(path, dtype=str, keep_default_na=False)
            if "text" in df.columns:  # a label-queue CSV: its formula guard is not part of the passage
                from policytrends.files import restore_formulas

                df["text"] = restore_formulas(df["text"])
        elif suffix in (".jsonl", ".ndjson"):
            df = pd.read_json(path, lines=True, dtype=False)
        elif suffix == ".json":
            data = _json_records(json.loads(path.read_text(encoding="utf-8")), path)
            if isinstance(data, list) and data and _is_task(data[0]):
                df = _label_studio(data, path)
            elif isinstance(data, dict):
                df = _json_columns(data, path)
            else:
                if not all(isinstance(r, dict) for r in data):
                    raise LabelsError(f"{path}: a JSON list of labelled passages holds something other than objects: "
                                      f"{str(next(r for r in data if not isinstance(r, dict)))[:80]} "
                                      '(write each passage as {"text": ..., "labels": [...]})')
                df = pd.DataFrame(data)
        else:
            raise LabelsError(f"{path}: unknown labels format {suffix!r} (use .csv, .jsonl or a Label Studio .json export)")
    except (ValueError, json.JSONDecodeError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        if isinstance(exc, LabelsError):
            raise
        raise LabelsError(f"{path}: cannot be read as {suffix.lstrip('.')}: {str(exc).splitlines()[0]}") from None
    out = validate_labels(df, str(path))
    long = over_bound(out["text"])
    if long:  # training reads only the bounded text (models/encoder.py): say so rather than take minutes
        log.warning("%s: %d passage(s) longer than %s characters: the model learns from their first %s only",
                    path, long, f"{MAX_CHARS:,}", f"{MAX_CHARS:,}")
    return out


def _json_columns(data: dict, path: Path) -> pd.DataFrame:
    text, labels = data["text"], data["labels"]
    if not isinstance(text, list) or not isinstance(labels, list) or len(text) != len(labels):
        raise LabelsError(f"{path}: 'text' and 'labels' should be lists of the same length, one item per passage "
                          '(or write a list of {"text": ..., "labels": [...]} objects)')
    return pd.DataFrame({"text": text, "labels": labels})


def read_label_files(paths) -> pd.DataFrame:
    """Several label files as one set. A passage in more than one file takes the labels of the
    last file that has it: later files correct earlier ones (seed labels first, corrections after)."""
    return read_training_labels(paths)[0].drop(columns="origin")


def origin_of(path: Path) -> str:
    """``SEED`` for a label file shipped in ``models/seed/``, ``ANALYST`` for any other."""
    return SEED if Path(path).resolve().parent == SEED_FOLDER else ANALYST


def read_training_labels(paths) -> tuple[pd.DataFrame, int]:
    """Several label files as one set with an ``origin`` column (``seed`` or ``analyst``), and
    how many seed labels an analyst's file overrode.

    A passage in more than one file takes the labels (and origin) of the last file that has it.
    An analyst's passage that repeats a seed passage with other labels overrides it, whatever
    the order: the analyst's reading of the codebook wins over text written for the project.
    """
    paths = [Path(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
    frames = [read_labels(p).assign(origin=origin_of(p)) for p in paths]
    merged = pd.concat(frames, ignore_index=True)
    # Analysts' rows after the seed rows, so that they are the ones kept.
    merged = merged.iloc[np.argsort((merged["origin"] == ANALYST).to_numpy(), kind="stable")].reset_index(drop=True)
    key = merged["text"].map(squeeze)
    labels = merged["labels"].map(tuple)
    last = ~key.duplicated(keep="last")
    kept = dict(zip(key[last], labels[last], strict=True))
    kept_origin = dict(zip(key[last], merged["origin"][last], strict=True))
    seed_rows = merged["origin"] == SEED
    overridden = {k for k, lab in zip(key[seed_rows], labels[seed_rows], strict=True)
                  if kept_origin[k] == ANALYST and kept[k] != lab}
    return merged.loc[last].reset_index(drop=True), len(overridden)


def validate_labels(df: pd.DataFrame, where: str = "labels") -> pd.DataFrame:
    if df.empty:
        raise LabelsError(f"{where}: the file holds no labelled passages")
    missing = [c for c in ("text", "labels") if c not in df.columns]
    if missing:
        raise LabelsError(
            f"{where}: missing column(s) {missing}; found {shown_columns(df.columns)} "
            "(expected 'text' and 'labels', themes joined by ';')"
        )
    odd = df["text"].map(lambda v: isinstance(v, (dict, list, bool)))
    if odd.any():
        raise LabelsError(f"{where}: a 'text' cell is not text: {str(df['text'][odd].iloc[0])[:80]} (each passage must be a string)")
    text = df["text"].map(lambda v: "" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v).strip())
    out = pd.DataFrame({"text": text, "labels": df["labels"].map(_split_labels)})
    out = out[out["text"] != ""]
    if out.empty:
        raise LabelsError(f"{where}: every 'text' cell is empty")
    key = out["text"].map(squeeze)
    conflicts = out.assign(k=key, l=out["labels"].map(lambda x: tuple(sorted(set(x))))).groupby("k")["l"].nunique()
    bad = conflicts[conflicts > 1]
    if len(bad):
        sample = bad.index[0][:80]
        raise LabelsError(
            f"{where}: {len(bad)} passage(s) appear more than once with different labels, e.g. {sample!r}... "
            "(keep one row per passage)"
        )
    out = out.loc[~key.duplicated()].reset_index(drop=True)
    out["labels"] = out["labels"].map(lambda x: sorted(set(x)))
    return out


def themes_of(df: pd.DataFrame) -> list[str]:
    return sorted({t for labels in df["labels"] for t in labels})


def check_taxonomy(df: pd.DataFrame, known: list[str] | None, new_themes=(), where: str = "labels") -> None:
    """Refuse theme names outside the ``known`` taxonomy unless asked for in ``new_themes``.

    Names are case-folded when read, so ``Cyber`` is ``cyber``. A name a letter or two away from
    a known theme is a typo until proven otherwise; a genuinely new theme has to be asked for.
    """
    if known is None:
        return
    import difflib

    new_themes = {t.casefold() for t in new_themes}
    unknown = sorted(set(themes_of(df)) - set(known) - new_themes)
    for name in unknown:
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
        if close:
            raise LabelsError(f"{where}: theme {name!r} is not in the taxonomy ({', '.join(known)}): did you mean {close[0]!r}? "
                              "(correct the file; to add it as a new theme anyway, pass --new-theme " + name + ")")
    if unknown:
        raise LabelsError(f"{where}: theme(s) {', '.join(map(repr, unknown))} not in the taxonomy ({', '.join(known)}): "
                          f"to add a theme, pass --new-theme {unknown[0]} (once per new theme); otherwise correct the file")


def check_positives(df: pd.DataFrame, themes: list[str], where: str = "labels") -> None:
    counts = {t: int(df["labels"].map(lambda x, t=t: t in x).sum()) for t in themes}
    few = {t: n for t, n in counts.items() if n < MIN_POSITIVES}
    if few:
        raise LabelsError(
            f"{where}: theme(s) with fewer than {MIN_POSITIVES} positive examples: {few} "
            "(label more passages for them, or drop them from the file)"
        )


def label_matrix(df: pd.DataFrame, themes: list[str]):
    # reshape: no rows must still be (0, themes), or stacking it under other rows fails
    return np.array([[t in labels for t in themes] for labels in df["labels"]], dtype=np.int8).reshape(len(df), len(themes))


def is_heldout(text: str) -> bool:
    """Deterministic held-out split by text hash: the same passage is always on the same side."""
    return int(text_hash(text)[:8], 16) / 2**32 < HELDOUT_FRACTION


def split(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    mask = df["text"].map(is_heldout)
    return df[~mask].reset_index(drop=True), df[mask].reset_index(drop=True)


def data_hash(df: pd.DataFrame) -> str:
    h = hashlib.sha256()
    for text, labels in sorted(zip(df["text"], df["labels"].map(";".join), strict=True)):
        h.update(text.encode("utf-8") + b"\x00" + labels.encode("utf-8") + b"\x01")
    return h.hexdigest()
