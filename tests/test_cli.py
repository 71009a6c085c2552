"""The policytrends command as a user runs it: exit codes, one-line errors, outputs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_cli(settings, *args, check_rc=None):
    env = {**os.environ, "POLICYTRENDS_HOME": str(settings.home), "POLICYTRENDS_OUTPUTS": str(settings.outputs_dir)}
    proc = subprocess.run([sys.executable, "-m", "policytrends.cli", *args], capture_output=True, text=True, env=env, timeout=600)
    if check_rc is not None:
        assert proc.returncode == check_rc, proc.stderr
    return proc


@pytest.mark.parametrize("command", ["run", "crawl", "classify", "train", "retrain", "evaluate", "trends", "models", "label-queue", "sources",
                                     "serve", "import", "backfill"])
def test_every_command_has_help(settings, command):
    proc = run_cli(settings, command, "--help", check_rc=0)
    assert "usage: policytrends" in proc.stdout


def _error_line(proc) -> str:
    lines = [line for line in proc.stderr.strip().splitlines() if line.startswith("error:")]
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.mark.slow
def test_classify_csv_writes_a_probability_column_per_theme(trained, tmp_path):
    inp = tmp_path / "passages.csv"
    pd.DataFrame({
        "id": [1, 2, 3],
        "text": [
            "Russia's suspension of New START leaves no verified limits on deployed strategic warheads, "
            "and both sides now plan their nuclear forces against worst-case assumptions.",
            "State-backed hackers planted malware in water utilities and power grids, a cyber campaign "
            "meant to give Beijing options to disrupt infrastructure in a crisis.",
            "=HYPERLINK(\"x\") Grain exports recovered after the corridor reopened, easing food prices, "
            "though freight insurance costs remain high.",
        ],
    }).to_csv(inp, index=False)
    out = tmp_path / "tagged.csv"
    proc = run_cli(trained, "classify", str(inp), "-o", str(out), check_rc=0)
    assert "tagged 3 passages" in proc.stdout
    df = pd.read_csv(out, keep_default_na=False)
    assert [c for c in df.columns if c.startswith("p_")] == ["p_bmd", "p_counterterrorism", "p_cyber", "p_deterrence"]
    assert df["id"].tolist() == [1, 2, 3]
    assert "deterrence" in df.loc[0, "labels"].split(";")
    assert "cyber" in df.loc[1, "labels"].split(";")
    assert df.loc[2, "labels"] == ""
    assert df.loc[2, "text"].startswith("'=HYPERLINK")  # a spreadsheet will not run it


@pytest.mark.slow
def test_classify_without_text_column_names_the_columns(trained, tmp_path):
    inp = tmp_path / "bad.csv"
    inp.write_text("body,id\nsome passage,1\n")
    proc = run_cli(trained, "classify", str(inp), "-o", str(tmp_path / "o.csv"), check_rc=1)
    assert _error_line(proc) == (
        f"error: {inp} has no 'text' column; found columns ['body', 'id'] (rename the passage column to 'text')"
    )
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.slow
def test_classify_before_any_model_says_how_to_get_one(settings, tmp_path):
    inp = tmp_path / "in.csv"
    inp.write_text("text\nhello\n")
    proc = run_cli(settings, "classify", str(inp), "-o", str(tmp_path / "o.csv"), check_rc=1)
    assert "no trained model" in _error_line(proc)


def test_crawl_with_unparseable_sources_file(settings, tmp_path):
    bad = tmp_path / "sources.yaml"
    bad.write_text("sources:\n  - name: x\n    discovery: [unclosed\n")
    proc = run_cli(settings, "crawl", "--sources", str(bad), check_rc=1)
    assert "is not valid YAML at line" in _error_line(proc)


@pytest.mark.slow
def test_trends_on_an_empty_store(trained):
    proc = run_cli(trained, "trends", check_rc=1)
    assert "holds no passages yet" in _error_line(proc)


@pytest.mark.slow
def test_trends_rebuilds_the_tables_and_says_where(demo_corpus):
    from policytrends.trends.outputs import THEME_SPIKES, THEME_TRENDS_MONTHLY, TRENDS_REPORT

    monthly = demo_corpus.output(THEME_TRENDS_MONTHLY)
    monthly.unlink()
    out = run_cli(demo_corpus, "trends", check_rc=0).stdout
    rows = len(pd.read_csv(monthly))
    assert f"{monthly}: {rows} rows" in out
    assert str(demo_corpus.output(THEME_SPIKES)) in out and str(demo_corpus.output(TRENDS_REPORT)) in out


@pytest.mark.slow
def test_models_lists_the_current_version(trained):
    proc = run_cli(trained, "models", check_rc=0)
    assert proc.stdout.startswith("* v") and "macro-F1" in proc.stdout


@pytest.mark.slow
def test_evaluate_prints_table_and_json(trained, tmp_path):
    labels = tmp_path / "labels.csv"
    pd.DataFrame({
        "text": ["Interceptors of the Aegis system defended the fleet against ballistic missiles fired by the Houthis."] * 1
        + ["The central bank raised rates to cool inflation in the housing market."],
        "labels": ["bmd", ""],
    }).to_csv(labels, index=False)
    proc = run_cli(trained, "evaluate", "--labels", str(labels), "--json", check_rc=0)
    import json

    metrics = json.loads(proc.stdout)
    assert metrics["passages"] == 2 and set(metrics["per_theme"]) == {"bmd", "counterterrorism", "cyber", "deterrence"}
    assert metrics["per_theme"]["bmd"]["support"] == 1


@pytest.mark.slow
def test_evaluate_heldout_beside_the_baselines(trained):
    """What the README's model table shows: the held-out split, the model beside both baselines."""
    import json

    from policytrends.models.registry import Registry

    model = Registry(trained.registry_dir).require_current()
    proc = run_cli(trained, "evaluate", "--heldout", "--baselines", "--json", check_rc=0)
    metrics = json.loads(proc.stdout)
    recorded = model.info["metrics"]
    assert metrics["passages"] == recorded["heldout"]["passages"] == len(model.heldout())
    assert metrics["macro_f1"] == recorded["heldout"]["macro_f1"]
    for name in ("keyword", "tfidf_logreg"):  # rebuilt from the training labels: the same numbers as at training
        assert metrics["baselines"][name]["macro_f1"] == recorded["baselines"][name]["macro_f1"]
    table = run_cli(trained, "evaluate", "--heldout", "--baselines", check_rc=0).stdout
    assert "this model" in table and "TF-IDF+LR" in table and "macro-F1" in table
    assert "needs labelled passages" in _error_line(run_cli(trained, "evaluate", check_rc=1))


def test_sources_check_validates_without_crawling(settings, tmp_path):
    proc = run_cli(settings, "sources", "check", str(ROOT / "crawlers/sources/thinktanks.yaml"), check_rc=0)
    assert "13 source(s), valid" in proc.stdout
    assert "warontherocks" in proc.stdout
    bad = tmp_path / "s.yaml"
    bad.write_text("sources:\n  - name: x\n    discovery: {rss: ['https://example.org/feed']}\n    article_patterns: ['/a/']\n")
    proc = run_cli(settings, "sources", "check", str(bad), check_rc=1)
    assert _error_line(proc) == (
        f"error: {bad}: source 'x': unknown discovery kind(s) ['rss'] (use ('sitemap', 'feed', 'listing'))"
    )


def test_shipped_real_sources_never_point_at_this_machine():
    from policytrends.crawlers.sources import load_sources

    sources = load_sources(ROOT / "crawlers/sources/thinktanks.yaml")
    assert len(sources) >= 10
    for s in sources:
        assert all(url.startswith("https://") for _, url in s.start_urls()), s.name
        assert not any(d.startswith(("127.", "localhost")) for d in s.allowed_domains), s.name


def test_python_m_policytrends_is_the_command_line_and_names_its_version(tmp_path):
    from policytrends import __version__

    out = subprocess.run([sys.executable, "-m", "policytrends", "--version"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"policytrends {__version__}"
    assert list(tmp_path.iterdir()) == []  # asking for the version writes no state
