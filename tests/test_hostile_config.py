"""Hostile input and bad luck in settings, label files, input files and output paths (issue 15, items 5-7).

Each case runs the CLI as a user does, in a subprocess bounded in time, and checks what the user
sees: exit code 1 and one `error:` line that names the problem and the fix, never a traceback.
Starting the CLI costs a few seconds of imports, so cases that need no model come first and
only the long-cell case waits for the session's trained model.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from policytrends.models.encoder import MAX_CHARS
from tests.helpers import TASK, label_studio_shapes, read_only_folder

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 120  # a case that hangs fails instead of holding the suite


def cli(settings, *args, env=None, timeout=TIMEOUT):
    base = {**os.environ, "POLICYTRENDS_HOME": str(settings.home), "POLICYTRENDS_OUTPUTS": str(settings.outputs_dir),
            "POLICYTRENDS_SETTINGS": "", "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "policytrends.cli", *args], capture_output=True, text=True,
                          env={**base, **(env or {})}, timeout=timeout, cwd=ROOT)


def one_error(proc) -> str:
    """The single `error:` line of a refused command (and no traceback)."""
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    return errors[0]


# --------------------------------------------------------------------------- item 7: settings
@pytest.mark.parametrize(("env", "file_bytes", "expected"), [
    ({}, b'schedule = "0 2 * * *"\n# r\xe9sum\xe9 of the team\'s settings\n',
     r"settings file .*policytrends\.toml is not UTF-8 text \(byte 0xe9 on line 2\): save it as UTF-8$"),
    ({"POLICYTRENDS_SCHEDULE": "0 0 31 2 *"}, None,
     r"schedule '0 0 31 2 \*' \(env POLICYTRENDS_SCHEDULE\) never fires .*e\.g\. '0 2 \* \* \*'"),
    ({"POLICYTRENDS_DB_URL": "mysql://analyst:secret@db.internal/policy"}, None,
     r"db_url 'mysql://analyst:\*\*\*@db\.internal/policy' .* names the database 'mysql': the corpus store runs on "
     r"SQLite or PostgreSQL only; set POLICYTRENDS_DB_URL"),
    ({"POLICYTRENDS_CRAWL_PROCESSES": "100000"}, None,
     r"crawl_processes '100000' \(env POLICYTRENDS_CRAWL_PROCESSES\) is not a whole number of at least 1 and at most 64"),
], ids=["latin1-settings", "cron-never-fires", "mysql-db-url", "100000-processes"])
def test_bad_settings_stop_config_with_one_line(settings, tmp_path, env, file_bytes, expected):
    if file_bytes is not None:
        path = tmp_path / "policytrends.toml"
        path.write_bytes(file_bytes)
        env = {**env, "POLICYTRENDS_SETTINGS": str(path)}
    line = one_error(cli(settings, "config", env=env))
    assert re.search(expected, line), line
    assert "secret" not in line


# --------------------------------------------------------------------------- item 7: label and input files
@pytest.mark.slow
def test_label_studio_dicts_are_read_as_tasks_or_refused_in_one_line(settings, tmp_path):
    from policytrends.models.labels import read_labels

    files = label_studio_shapes(tmp_path)
    assert read_labels(files["tasks.json"])["text"].tolist() == [TASK["data"]["text"]]
    assert len(read_labels(files["by-id.json"])) == 2
    assert read_labels(files["one-task.json"])["labels"].tolist() == [["cyber"]]
    # Through the CLI: a dict of 1,510 keys that is no export is named as such, not listed as columns.
    line = one_error(cli(settings, "train", "--labels", str(files["keyed-numbers.json"])))
    assert "neither Label Studio tasks nor labelled passages" in line and "and 1505 more" in line
    assert "passage-1000" not in line and len(line) < 500
    # An accepted shape goes on to the next check (too few examples), not to a pandas message.
    line = one_error(cli(settings, "train", "--labels", str(files["tasks.json"])))
    assert "fewer than 10 positive examples: {'cyber': 1}" in line, line


@pytest.mark.slow
def test_latin1_files_name_the_line_and_say_save_as_utf8(settings, tmp_path):
    latin = tmp_path / "labels.csv"
    latin.write_bytes("text,labels\nThe grid was hacked.,cyber\nLa d\xe9fense antimissile,bmd\n".encode("latin-1"))
    line = one_error(cli(settings, "train", "--labels", str(latin)))
    assert "byte 0xe9 on line 3" in line and "save it as UTF-8" in line, line
    # classify's input too, and before it looks for a model (there is none in this state folder).
    line = one_error(cli(settings, "classify", str(latin), "-o", str(tmp_path / "tagged.csv")))
    assert "byte 0xe9 on line 3" in line and "save it as UTF-8" in line, line


# --------------------------------------------------------------------------- item 6: output paths
@pytest.mark.slow
def test_unwritable_outputs_are_refused_before_any_work(settings, tmp_path):
    passages = tmp_path / "passages.csv"
    pd.DataFrame({"text": ["Intruders planted malware in the regional power grid."]}).to_csv(passages, index=False)
    a_file = tmp_path / "report.txt"
    a_file.write_text("an analyst's notes", encoding="utf-8")
    # No model in this state folder: an output error (not "no current model") shows the check comes first.
    line = one_error(cli(settings, "classify", str(passages), "-o", str(a_file / "tagged.csv")))
    assert f"{a_file} is a file where a folder should be" in line and "give -o a path" in line, line
    line = one_error(cli(settings, "label-queue", "-o", str(a_file / "queue")))
    assert f"{a_file} is a file where a folder should be" in line, line
    line = one_error(cli(settings, "trends", env={"POLICYTRENDS_OUTPUTS": str(a_file / "outputs")}))
    assert f"cannot create the outputs folder {a_file / 'outputs'}: a file is in the way" in line, line
    with read_only_folder(tmp_path / "locked") as locked:
        line = one_error(cli(settings, "classify", str(passages), "-o", str(locked / "tagged.csv")))
        assert f"cannot write in {locked}" in line, line
        line = one_error(cli(settings, "trends", env={"POLICYTRENDS_OUTPUTS": str(locked)}))
        assert f"outputs folder {locked}: cannot write in {locked}" in line and "POLICYTRENDS_OUTPUTS" in line, line
        assert list(locked.iterdir()) == []  # the probe leaves nothing behind


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    from policytrends.files import write_atomic

    path = tmp_path / "tagged.csv"
    path.write_text("the previous output\n", encoding="utf-8")

    def fails_halfway(tmp: Path) -> None:
        tmp.write_text("half a ta", encoding="utf-8")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        write_atomic(path, fails_halfway)
    assert path.read_text(encoding="utf-8") == "the previous output\n"
    assert [p.name for p in tmp_path.iterdir()] == ["tagged.csv"]
    write_atomic(path, lambda tmp: tmp.write_text("new\n", encoding="utf-8"))
    assert path.read_text(encoding="utf-8") == "new\n"


# --------------------------------------------------------------------------- item 5: a multi-megabyte cell
@pytest.mark.slow
def test_a_multi_megabyte_cell_is_classified_from_its_bounded_start(trained, tmp_path):
    huge = "The ministry published its spring forecast after a weak winter for exporters. " * 60_000  # ~4.7 MB
    cyber = "State-backed hackers planted malware in water utilities and power grids across the region."
    passages = tmp_path / "passages.csv"
    pd.DataFrame({"id": [1, 2], "text": [cyber, huge]}).to_csv(passages, index=False)
    out = tmp_path / "tagged.jsonl"
    # Unbounded, this cell alone took minutes (a 1 MB cell 107 s); bounded, the run is the CLI's start-up and the model.
    proc = cli(trained, "classify", str(passages), "-o", str(out), timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert f"1 passage(s) longer than {MAX_CHARS:,} characters" in proc.stderr
    tagged = pd.read_json(out, lines=True)
    assert tagged["text"].str.len().tolist() == [len(cyber), len(huge)]  # the output keeps the input whole
    assert "cyber" in tagged.loc[0, "labels"]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
