"""The analyst's loop: label queue → labels → retrain flow → reclassified corpus and new tables."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from policytrends.corpus.store import CorpusStore
from policytrends.models.encoder import encode_cached
from policytrends.models.labels import SEED_LABELS
from policytrends.models.queue import build_queue, label_studio_config, label_studio_tasks
from policytrends.models.registry import Registry
from policytrends.trends.outputs import THEME_TRENDS_MONTHLY

pytestmark = pytest.mark.slow
ENERGY = ("natural gas", "lng", "pipeline gas", "oil", "crude", "energy", "electricity", "power grid", "gas ",
          "fuel", "reactor", "renewable", "emissions", "coal")


def test_label_queue_picks_uncertain_and_diverse_passages(demo_corpus):
    store = CorpusStore(demo_corpus.db_url)
    model = Registry(demo_corpus.registry_dir).require_current()
    queue = build_queue(store, model, 25)
    assert len(queue) == 25 and queue["text"].is_unique
    assert [c for c in queue.columns if c.startswith("p_")] == [f"p_{t}" for t in model.themes]
    # More uncertain than the corpus at large.
    everything = build_queue(store, model, 10_000)
    assert queue["uncertainty"].mean() > everything["uncertainty"].mean()
    # No two picks are near-copies of each other.
    vectors = encode_cached(queue["text"].tolist(), [str(i) for i in queue["passage_id"]], None)
    sims = vectors @ vectors.T
    assert (sims[~np.eye(len(queue), dtype=bool)] < 0.95).all()
    # The labels column starts as the model's guess, for the analyst to correct.
    assert (queue["labels"] == queue["predicted_labels"]).all()

    tasks = label_studio_tasks(queue, model.themes)
    assert len(tasks) == 25 and tasks[0]["data"]["text"] == queue.loc[0, "text"]
    guess = tasks[0]["predictions"][0]["result"][0]["value"]["choices"]
    assert ";".join(guess) == queue.loc[0, "predicted_labels"]
    # The score Label Studio sorts by is the model's confidence, the reverse of the queue's uncertainty.
    scores = [t["predictions"][0]["score"] for t in tasks]
    assert scores == pytest.approx([1 - u for u in queue["uncertainty"]], abs=1e-4)
    most_uncertain = int(queue["uncertainty"].idxmax())
    assert scores[most_uncertain] == min(scores) and tasks[most_uncertain]["data"]["uncertainty"] == queue["uncertainty"].max()
    config = label_studio_config(model.themes)
    assert all(f'<Choice value="{t}"/>' in config for t in model.themes)


def test_label_studio_export_adds_a_fifth_theme_end_to_end(demo_corpus, prefect_harness, tmp_path):
    """Energy passages labelled in Label Studio: the retrain flow learns the theme, promotes
    the model, reclassifies the corpus and the trend tables gain energy rows."""
    from policytrends.flows.retrain import retrain

    store = CorpusStore(demo_corpus.db_url)
    old = Registry(demo_corpus.registry_dir).require_current()
    frame = build_queue(store, old, 10_000)  # every distinct passage, with the model's guess
    is_energy = frame["text"].str.lower().map(lambda t: sum(k in t for k in ENERGY) >= 2)
    energy = frame[is_energy & (frame["predicted_labels"] == "")].head(60)
    other = frame[~frame["text"].str.lower().map(lambda t: any(k in t for k in ENERGY))].head(60)
    assert len(energy) >= 20, "the demo corpus should hold enough energy passages"

    def task(text, choices, cancelled=False):
        return {"data": {"text": text}, "annotations": [{"was_cancelled": cancelled, "result": [
            {"from_name": "themes", "to_name": "text", "type": "choices", "value": {"choices": choices}}]}]}

    export = [task(t, ["energy"]) for t in energy["text"]]
    export += [task(t, [x for x in g.split(";") if x]) for t, g in zip(other["text"], other["predicted_labels"], strict=True)]
    export.append(task("A passage the analyst skipped.", ["energy"], cancelled=True))
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export))

    summary = retrain(labels_files=[str(SEED_LABELS), str(path)], new_themes=["energy"])
    assert summary["train"]["promoted"], summary["train"]["reason"]
    new = Registry(demo_corpus.registry_dir).require_current()
    assert new.version != old.version and "energy" in new.themes
    assert summary["classify"]["passages_classified"] == store.count("passages")

    table = pd.read_csv(demo_corpus.output(THEME_TRENDS_MONTHLY))
    assert set(table["model_version"]) == {new.version}
    energy_rows = table[table["theme"] == "energy"]
    assert set(energy_rows["source"]) >= {"ALL"} and energy_rows["theme_passages"].sum() > 0
