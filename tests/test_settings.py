"""Settings: environment over settings file over defaults; bad values get one-line errors; `policytrends config`."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

import pytest

from policytrends.cli import main
from policytrends.errors import PolicyTrendsError
from policytrends.settings import DEFAULT_SCHEDULE, KEYS, SETTINGS_EXAMPLE, Settings, read_settings_file


@pytest.fixture
def clean_env(monkeypatch):
    for key in KEYS.values():
        monkeypatch.delenv(key.env, raising=False)
    monkeypatch.setenv("POLICYTRENDS_SETTINGS", "")
    return monkeypatch


def _file(tmp_path, text: str, monkeypatch):
    path = tmp_path / "conf" / "policytrends.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    monkeypatch.setenv("POLICYTRENDS_SETTINGS", str(path))
    return path


def test_defaults_are_in_the_working_directory_never_the_install_folder(clean_env, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = Settings()
    assert s.home == tmp_path / ".policytrends" and s.outputs_dir == tmp_path / "outputs"
    assert s.db_url == f"sqlite:///{s.home / 'corpus.sqlite'}"
    assert (s.schedule, s.timezone) == (DEFAULT_SCHEDULE, "UTC") == ("0 2 * * *", "UTC")
    assert s.sources_file is None and s.settings_file is None
    assert set(s.origins.values()) <= {"default", "default (corpus.sqlite in home)", "default (registry/ in home)"}


def test_environment_wins_over_file_which_wins_over_defaults(clean_env, tmp_path):
    path = _file(tmp_path, 'home = "state"\nschedule = "30 3 * * 1-5"\ntimezone = "Europe/Berlin"\n'
                           'sources = "../my_sources.yaml"\ndb_url = "postgresql+psycopg://u:pw@db/pt"\n', clean_env)
    clean_env.setenv("POLICYTRENDS_SCHEDULE", "15 4 * * *")
    s = Settings()
    assert s.home == tmp_path / "conf" / "state"  # relative to the settings file
    assert s.sources_file == tmp_path / "my_sources.yaml"
    assert s.registry_dir == tmp_path / "conf" / "state" / "registry"
    assert s.db_url == "postgresql+psycopg://u:pw@db/pt"
    assert (s.schedule, s.timezone) == ("15 4 * * *", "Europe/Berlin")
    assert s.origins["schedule"] == "env POLICYTRENDS_SCHEDULE"
    assert s.origins["timezone"] == s.origins["home"] == f"file {path}"
    assert s.origins["outputs"] == "default"
    assert s.next_run(datetime(2026, 11, 28, 12, 0, tzinfo=UTC)).isoformat() == "2026-11-29T04:15:00+01:00"


@pytest.mark.parametrize("text, message", [
    ('db_uri = "sqlite:///x"\n', r"unknown key 'db_uri' \(did you mean 'db_url'\?\); the known keys are db_url, home, sources, "
                                 r"schedule, timezone, registry, outputs"),
    ("home = 3\n", "home must be a string"),
    ('home = "unclosed\n', "is not valid TOML"),
    ('schedule = "0 2 * *"\n', r"schedule '0 2 \* \*' \(file .*\) has 4 fields, not 5; .*POLICYTRENDS_SCHEDULE"),
    ('schedule = "0 25 * * *"\n', r"schedule '0 25 \* \* \*' .* is not a valid cron expression"),
    ('schedule = "H 2 * * *"\n', "hashed or random field"),
    ('timezone = "Europe/Berln"\n', r"timezone 'Europe/Berln' .* not a known time zone \(did you mean 'Europe/Berlin'\?\).*POLICYTRENDS_TIMEZONE"),
    ('schedule = "0 0 30 2 *"\n', r"schedule '0 0 30 2 \*' \(file .*\) never fires \(no matching date in the next 5 years"),
    ('db_url = "oracle://u:pw@h/db"\n', r"db_url 'oracle://u:\*\*\*@h/db' \(file .*\) names the database 'oracle'"),
    ('db_url = "not a url"\n', r"db_url 'not a url' \(file .*\) is not a database URL; set POLICYTRENDS_DB_URL"),
    ('crawl_processes = "65"\n', r"crawl_processes '65' \(file .*\) is not a whole number of at least 1 and at most 64"),
    ('classify_workers = "\u00b2"\n', r"classify_workers '\u00b2' \(file .*\) is not a whole number"),
])
def test_bad_settings_file_gives_one_line_error(clean_env, tmp_path, text, message):
    _file(tmp_path, text, clean_env)
    with pytest.raises(PolicyTrendsError, match=message) as err:
        Settings()
    assert "\n" not in str(err.value)


def test_bad_cron_in_environment_names_the_variable(clean_env):
    clean_env.setenv("POLICYTRENDS_SCHEDULE", "every night")
    with pytest.raises(PolicyTrendsError, match=r"schedule 'every night' \(env POLICYTRENDS_SCHEDULE\) has 2 fields"):
        Settings()


def test_example_file_documents_every_key_and_is_valid():
    data = read_settings_file(SETTINGS_EXAMPLE)
    text = SETTINGS_EXAMPLE.read_text()
    for key in KEYS.values():
        assert f"{key.name} =" in text and key.env in text, key.name
    assert set(data) <= set(KEYS)


def test_config_command_prints_values_and_origins(clean_env, tmp_path, capsys):
    path = _file(tmp_path, 'db_url = "postgresql+psycopg://team:hunter2@db.internal:5432/policytrends"\n', clean_env)
    clean_env.setenv("POLICYTRENDS_HOME", str(tmp_path / "state"))
    clean_env.setenv("POLICYTRENDS_OUTPUTS", str(tmp_path / "out"))
    assert main(["config", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["settings_file"] == str(path)
    s = out["settings"]
    assert s["db_url"] == {"value": "postgresql+psycopg://team:***@db.internal:5432/policytrends",
                           "origin": f"file {path}", "env": "POLICYTRENDS_DB_URL"}
    assert s["home"]["origin"] == "env POLICYTRENDS_HOME" and s["home"]["value"] == str(tmp_path / "state")
    assert s["schedule"] == {"value": "0 2 * * *", "origin": "default", "env": "POLICYTRENDS_SCHEDULE"}

    assert main(["config"]) == 0
    text = capsys.readouterr().out
    assert "hunter2" not in text
    assert f"settings file: {path}" in text
    assert "next scheduled run: " in text and " UTC" in text


def test_missing_settings_file_is_an_error(clean_env, tmp_path, capsys):
    assert main(["--settings", str(tmp_path / "nope.toml"), "config"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: settings file ") and "does not exist" in err and "\n" not in err


def test_rare_but_real_values_are_accepted(clean_env, tmp_path):
    _file(tmp_path, 'schedule = "0 3 29 2 *"\ndb_url = "postgres://u:pw@db/pt"\ncrawl_processes = "64"\n', clean_env)
    s = Settings()  # 29 February comes every four years; postgres:// is the store's old spelling
    assert (s.schedule, s.crawl_processes) == ("0 3 29 2 *", 64)
    assert s.next_run().strftime("%m-%d %H:%M") == "02-29 03:00"


def test_settings_file_not_utf8(clean_env, tmp_path):
    path = _file(tmp_path, "", clean_env)
    path.write_bytes('home = "state"\n'.encode("utf-16"))
    with pytest.raises(PolicyTrendsError, match=r"is not UTF-8 text \(byte 0xff on line 1\): save it as UTF-8$"):
        Settings()


def test_output_checks_name_the_path_and_write_nothing(tmp_path):
    from policytrends.files import check_writable

    check_writable(tmp_path / "new" / "deeper" / "out.csv", "output", "fix")  # missing folders are created later
    check_writable(tmp_path, "output folder", "fix", folder=True)
    with pytest.raises(PolicyTrendsError, match=rf"^output {tmp_path} is a folder, not a file; give another$"):
        check_writable(tmp_path, "output", "give another")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(PolicyTrendsError, match=r"notes\.txt is a file where a folder should be"):
        check_writable(tmp_path / "notes.txt" / "out.csv", "output", "fix")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_ensure_dirs_names_the_setting_when_a_file_is_in_the_way(clean_env, tmp_path):
    (tmp_path / "outputs").write_text("not a folder")
    clean_env.setenv("POLICYTRENDS_HOME", str(tmp_path / "state"))
    clean_env.setenv("POLICYTRENDS_OUTPUTS", str(tmp_path / "outputs"))
    with pytest.raises(PolicyTrendsError, match=r"cannot create the outputs folder .*: a file is in the way; set POLICYTRENDS_OUTPUTS"):
        Settings().ensure_dirs()


@pytest.mark.parametrize("text, missing, extra", [
    ('db_url = "postgresql+psycopg://u:pw@127.0.0.1/db"\n', "psycopg", "postgres"),
    ('classify_workers = "2"\n', "prefect_dask", "dask"),
    ('dask_address = "tcp://127.0.0.1:8786"\n', "prefect_dask", "dask"),
])
def test_a_setting_whose_optional_part_is_missing_names_the_extra_to_install(clean_env, tmp_path, text, missing, extra):
    _file(tmp_path, text, clean_env)
    Settings()  # installed here: accepted
    clean_env.setitem(sys.modules, missing, None)  # how the import system marks a package as absent
    with pytest.raises(PolicyTrendsError, match=rf"needs the optional package '{missing}'.*pip install 'policytrends\[{extra}\]'") as err:
        Settings()
    assert "\n" not in str(err.value) and "pw" not in str(err.value)


def test_the_settings_file_in_the_working_directory_is_read(clean_env, tmp_path, monkeypatch):
    monkeypatch.delenv("POLICYTRENDS_SETTINGS")
    (tmp_path / "policytrends.toml").write_text('outputs = "tables"\n')
    monkeypatch.chdir(tmp_path)
    s = Settings()
    assert s.settings_file == tmp_path / "policytrends.toml" and s.outputs_dir == tmp_path / "tables"


def test_config_example_prints_the_documented_settings_file_that_ships_with_the_package(clean_env, tmp_path, capsys,
                                                                                          monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["config", "--example"]) == 0
    assert list(tmp_path.iterdir()) == []  # reading the settings creates no state folder here
    printed = capsys.readouterr().out
    assert printed == SETTINGS_EXAMPLE.read_text()
    (tmp_path / "policytrends.toml").write_text(printed)
    assert set(read_settings_file(tmp_path / "policytrends.toml")) <= set(KEYS)  # what it prints is a valid settings file
