"""models/labels.py: reading labelled passages in CSV, JSONL and Label Studio formats."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from policytrends.errors import PolicyTrendsError
from policytrends.models.labels import (
    HELDOUT_FRACTION,
    MIN_POSITIVES,
    LabelsError,
    check_positives,
    data_hash,
    is_heldout,
    label_matrix,
    read_labels,
    split,
    themes_of,
    validate_labels,
)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _jsonl(tmp_path: Path, rows: list[dict], name: str = "labels.jsonl") -> Path:
    return _write(tmp_path, name, "".join(json.dumps(r) + "\n" for r in rows))


def _as_records(df: pd.DataFrame) -> list[tuple[str, list[str]]]:
    return list(zip(df["text"], df["labels"], strict=True))


# --------------------------------------------------------------------------- formats
def test_csv(tmp_path):
    path = _write(
        tmp_path,
        "labels.csv",
        'text,labels\n'
        'The navy ordered two new frigates.,naval\n'
        '"Talks on warheads resumed, officials said.",nuclear; arms_control\n'
        'The weather was mild this spring.,\n'
        '  Padded text stays trimmed.  ,cyber;;\n',
    )
    df = read_labels(path)
    assert list(df.columns) == ["text", "labels"]
    assert _as_records(df) == [
        ("The navy ordered two new frigates.", ["naval"]),
        ("Talks on warheads resumed, officials said.", ["arms_control", "nuclear"]),
        ("The weather was mild this spring.", []),
        ("Padded text stays trimmed.", ["cyber"]),
    ]


def test_csv_extra_columns_ignored_and_literal_na_kept(tmp_path):
    path = _write(tmp_path, "labels.csv", "id,text,labels,notes\n1,NA,cyber,x\n2,Second passage.,,y\n")
    df = read_labels(path)
    assert list(df.columns) == ["text", "labels"]
    assert _as_records(df) == [("NA", ["cyber"]), ("Second passage.", [])]


def test_csv_rows_with_empty_text_dropped(tmp_path):
    path = _write(tmp_path, "labels.csv", "text,labels\n,cyber\n   ,naval\nKept passage.,naval\n")
    assert _as_records(read_labels(path)) == [("Kept passage.", ["naval"])]


def test_csv_all_text_empty(tmp_path):
    path = _write(tmp_path, "labels.csv", "text,labels\n,cyber\n  ,naval\n")
    with pytest.raises(LabelsError, match="every 'text' cell is empty"):
        read_labels(path)


def test_jsonl(tmp_path):
    path = _jsonl(tmp_path, [
        {"text": "Drone strikes were discussed.", "labels": ["drones", "counterterrorism"]},
        {"text": "A quiet budget hearing.", "labels": []},
        {"text": "Labels may be a string too.", "labels": "cyber;nuclear"},
        {"text": "Null labels mean none.", "labels": None},
    ])
    df = read_labels(path)
    assert _as_records(df) == [
        ("Drone strikes were discussed.", ["counterterrorism", "drones"]),
        ("A quiet budget hearing.", []),
        ("Labels may be a string too.", ["cyber", "nuclear"]),
        ("Null labels mean none.", []),
    ]


def test_ndjson_extension(tmp_path):
    path = _jsonl(tmp_path, [{"text": "One passage.", "labels": ["a"]}], name="labels.NDJSON")
    assert _as_records(read_labels(path)) == [("One passage.", ["a"])]


def test_plain_json_list_of_records(tmp_path):
    path = _write(tmp_path, "labels.json", json.dumps([{"text": "A record.", "labels": ["x", "x", "y"]}]))
    assert _as_records(read_labels(path)) == [("A record.", ["x", "y"])]


def test_label_studio_export(tmp_path):
    tasks = [
        {   # two annotators: their choices are combined, the cancelled annotation is ignored
            "id": 1,
            "data": {"text": "Cyber attacks hit the grid."},
            "annotations": [
                {"was_cancelled": False, "result": [{"type": "choices", "value": {"choices": ["cyber"]}}]},
                {"was_cancelled": True, "result": [{"type": "choices", "value": {"choices": ["nuclear"]}}]},
                {"result": [{"value": {"choices": ["infrastructure"]}}]},
            ],
        },
        {   # annotated with no theme ticked
            "id": 2,
            "data": {"text": "A routine press briefing."},
            "annotations": [{"result": []}],
        },
        {"id": 3, "data": {"text": "Not annotated yet."}, "annotations": []},
        {"id": 4, "data": {"text": "No annotations key at all."}},
        {   # results without choices (e.g. a text area) contribute nothing
            "id": 5,
            "data": {"text": "Missile tests continued."},
            "annotations": [{"result": [{"value": {"text": ["comment"]}}, {"value": {"choices": ["missiles"]}}]}],
        },
    ]
    df = read_labels(_write(tmp_path, "export.json", json.dumps(tasks)))
    assert _as_records(df) == [
        ("Cyber attacks hit the grid.", ["cyber", "infrastructure"]),
        ("A routine press briefing.", []),
        ("Missile tests continued.", ["missiles"]),
    ]


def test_label_studio_task_without_text(tmp_path):
    tasks = [{"data": {"body": "wrong field"}, "annotations": [{"result": []}]}]
    with pytest.raises(LabelsError, match=r"a Label Studio task has no data\.text \(export the project with a 'text' field\)"):
        read_labels(_write(tmp_path, "export.json", json.dumps(tasks)))


def test_label_studio_task_with_only_cancelled_annotation_skipped(tmp_path):
    tasks = [
        {"data": {"text": "Skipped by the annotator."},
         "annotations": [{"was_cancelled": True, "result": [{"value": {"choices": ["nuclear"]}}]}]},
        {"data": {"text": "Really labelled."}, "annotations": [{"result": [{"value": {"choices": ["cyber"]}}]}]},
    ]
    df = read_labels(_write(tmp_path, "export.json", json.dumps(tasks)))
    assert _as_records(df) == [("Really labelled.", ["cyber"])]


# --------------------------------------------------------------------------- errors
def test_missing_file(tmp_path):
    with pytest.raises(LabelsError, match=r"labels file .*nothere\.csv does not exist"):
        read_labels(tmp_path / "nothere.csv")


def test_labels_error_is_policytrends_error():
    assert issubclass(LabelsError, PolicyTrendsError)


@pytest.mark.parametrize("name", ["labels.txt", "labels.xlsx", "labels"])
def test_unknown_extension(tmp_path, name):
    path = _write(tmp_path, name, "text,labels\nA,b\n")
    suffix = Path(name).suffix
    with pytest.raises(LabelsError, match=rf"unknown labels format '{suffix}' \(use \.csv, \.jsonl or a Label Studio \.json export\)"):
        read_labels(path)


def test_empty_csv_file(tmp_path):
    with pytest.raises(LabelsError, match=r"empty\.csv: cannot be read as csv: No columns to parse"):
        read_labels(_write(tmp_path, "empty.csv", ""))


@pytest.mark.parametrize(
    ("name", "text"),
    [("header.csv", "text,labels\n"), ("empty.jsonl", ""), ("empty.json", "[]")],
)
def test_file_without_rows(tmp_path, name, text):
    with pytest.raises(LabelsError, match="the file holds no labelled passages"):
        read_labels(_write(tmp_path, name, text))


def test_empty_json_file(tmp_path):
    with pytest.raises(LabelsError, match=r"empty\.json: cannot be read as json"):
        read_labels(_write(tmp_path, "empty.json", ""))


def test_broken_jsonl(tmp_path):
    with pytest.raises(LabelsError, match=r"cannot be read as jsonl"):
        read_labels(_write(tmp_path, "bad.jsonl", '{"text": "ok", "labels": []}\n{"text": broken\n'))


def test_missing_text_column_lists_columns(tmp_path):
    path = _write(tmp_path, "labels.csv", "passage,labels\nSomething.,cyber\n")
    with pytest.raises(LabelsError, match=r"missing column\(s\) \['text'\]; found \['passage', 'labels'\]"):
        read_labels(path)


def test_missing_labels_column(tmp_path):
    path = _jsonl(tmp_path, [{"text": "A passage.", "themes": ["cyber"]}])
    with pytest.raises(LabelsError, match=r"missing column\(s\) \['labels'\]; found \['text', 'themes'\] \(expected 'text' and 'labels'"):
        read_labels(path)


def test_conflicting_duplicates(tmp_path):
    path = _jsonl(tmp_path, [
        {"text": "The same passage twice.", "labels": ["cyber"]},
        {"text": "Another passage.", "labels": []},
        {"text": "The  same passage   twice.", "labels": ["nuclear"]},
    ])
    with pytest.raises(LabelsError, match=r"1 passage\(s\) appear more than once with different labels, e\.g\. 'The same passage twice\.'"):
        read_labels(path)


def test_exact_duplicates_collapsed(tmp_path):
    path = _jsonl(tmp_path, [
        {"text": "Repeated passage.", "labels": ["nuclear", "cyber"]},
        {"text": "Other passage.", "labels": []},
        {"text": "Repeated   passage.", "labels": ["cyber", "nuclear", "cyber"]},
        {"text": "Other passage.", "labels": []},
    ])
    df = read_labels(path)
    assert _as_records(df) == [("Repeated passage.", ["cyber", "nuclear"]), ("Other passage.", [])]
    assert list(df.index) == [0, 1]


def test_check_positives():
    rows = [{"text": f"p{i}", "labels": ["cyber"] if i < MIN_POSITIVES else ["nuclear"]} for i in range(MIN_POSITIVES + 3)]
    df = validate_labels(pd.DataFrame(rows))
    check_positives(df, ["cyber"])  # exactly MIN_POSITIVES is enough
    with pytest.raises(LabelsError, match=r"theme\(s\) with fewer than 10 positive examples: \{'nuclear': 3\}"):
        check_positives(df, ["cyber", "nuclear"], where="seed.jsonl")
    with pytest.raises(LabelsError, match=r"^seed\.jsonl: .*\{'space': 0\}"):
        check_positives(df, ["space"], where="seed.jsonl")


def test_themes_and_matrix():
    df = validate_labels(pd.DataFrame({"text": ["a", "b", "c"], "labels": ["y;x", "", "x"]}))
    themes = themes_of(df)
    assert themes == ["x", "y"]
    assert label_matrix(df, themes).tolist() == [[1, 1], [0, 0], [1, 0]]
    # No rows is still one column per theme: training stacks it under the analysts' other rows.
    assert label_matrix(df.iloc[:0], themes).shape == (0, 2)


# --------------------------------------------------------------------------- split and hash
def _synthetic(n: int = 500) -> pd.DataFrame:
    rows = [{"text": f"Synthetic passage number {i} about topic {i % 7}.", "labels": [f"t{i % 3}"]} for i in range(n)]
    return validate_labels(pd.DataFrame(rows))


def test_split_deterministic_and_about_20_percent():
    df = _synthetic()
    train1, held1 = split(df)
    train2, held2 = split(df.sample(frac=1, random_state=3).reset_index(drop=True))
    assert len(train1) + len(held1) == 500
    assert 0.14 < len(held1) / 500 < 0.26
    assert abs(len(held1) / 500 - HELDOUT_FRACTION) < 0.06
    assert set(held1["text"]) == set(held2["text"])
    assert set(train1["text"]).isdisjoint(held1["text"])
    assert list(held1.index) == list(range(len(held1)))


def test_is_heldout_whitespace_insensitive():
    texts = [f"Passage {i} with some words" for i in range(200)]
    assert [is_heldout(t) for t in texts] == [is_heldout("  " + t.replace(" ", "\n")) for t in texts]
    assert any(is_heldout(t) for t in texts) and not all(is_heldout(t) for t in texts)


def test_data_hash_order_independent():
    df = _synthetic(50)
    shuffled = df.sample(frac=1, random_state=7).reset_index(drop=True)
    assert data_hash(df) == data_hash(shuffled)
    changed = df.copy()
    changed.at[0, "labels"] = ["something_else"]
    assert data_hash(changed) != data_hash(df)
    fewer = df.iloc[1:].reset_index(drop=True)
    assert data_hash(fewer) != data_hash(df)


def test_jsonl_null_text(tmp_path):
    path = _jsonl(tmp_path, [{"text": None, "labels": []}, {"text": "Fine.", "labels": ["a"]}])
    try:
        df = read_labels(path)
    except LabelsError:
        return
    assert _as_records(df) == [("Fine.", ["a"])]


def test_label_queue_csv_fed_back_gives_the_stored_passages(tmp_path):
    """The queue's CSV guards cells a spreadsheet would run as formulas with a quote; reading the
    analyst's labelled copy back must give the passages exactly as stored, not the quoted text."""
    from policytrends.files import neutralise_formulas

    texts = ["- Interceptor stocks fell short of the plan.", "=SUM(A1) is not a passage a model should see",
             "@channel posts spread the recruiter's call", "'Quoted' phrasing opens this one.", "Plain text."]
    labelled = pd.DataFrame({"text": texts, "labels": ["bmd", "", "counterterrorism", "", ""]})
    path = tmp_path / "label_queue.csv"
    written = neutralise_formulas(labelled)
    assert written["text"].str.startswith("'").sum() == 4  # three guarded, one genuinely quoted
    written.to_csv(path, index=False)
    assert read_labels(path)["text"].tolist() == texts
