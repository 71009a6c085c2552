#!/usr/bin/env bash
# CI step: the package as a user installs it. Build the wheel, install it (not editable) into a
# fresh venv outside the checkout, and run the demo pipeline from an empty working directory:
# the state and the tables must land there, never in the install folder.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-python3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Installing prints pages of setuptools and index notices: keep them in a log, shown if a step fails.
quiet() { "$@" >>"$work/install.log" 2>&1 || { cat "$work/install.log"; echo "error: failed: $*"; exit 1; }; }

# The wheel is built from a copy of the tracked files, so the checkout gets no build/ folder.
mkdir "$work/src"
(cd "$repo" && git ls-files -z | tar --null -T - -cf -) | tar -xf - -C "$work/src"
"$python" -m venv "$work/venv"
bin="$work/venv/bin"
quiet "$bin/python" -m pip install --upgrade pip
quiet "$bin/python" -m pip wheel --no-deps --wheel-dir "$work/dist" "$work/src"
quiet "$bin/python" -m pip install -c "$repo/constraints.txt" torch==2.13.0
quiet "$bin/python" -m pip install -c "$repo/constraints.txt" "$work"/dist/policytrends-*.whl

mkdir "$work/analyst" && cd "$work/analyst"
"$bin/policytrends" --version
"$bin/policytrends" --help >/dev/null
"$bin/python" -m policytrends --help >/dev/null
"$bin/policytrends" config --example | grep -q "^# db_url = " || { echo "error: the settings example is not in the wheel"; exit 1; }
env -u POLICYTRENDS_HOME -u POLICYTRENDS_OUTPUTS -u POLICYTRENDS_SETTINGS -u POLICYTRENDS_DB_URL \
    HF_HUB_OFFLINE=1 "$bin/policytrends" run

site="$("$bin/python" -c 'import pathlib, policytrends; print(pathlib.Path(policytrends.__file__).parent)')"
case "$site" in "$repo"*) echo "error: policytrends was imported from the checkout ($site), not the wheel"; exit 1;; esac
test -s outputs/theme_trends_monthly.csv || { echo "error: no trend table in the working directory"; exit 1; }
test -s .policytrends/corpus.sqlite || { echo "error: no store in the working directory"; exit 1; }
written="$(find "$site" -newer "$work/dist" \( -name '*.sqlite' -o -name '*.csv' -o -name 'model.json' -o -name '.policytrends' \) | head -5)"
[ -z "$written" ] || { echo "error: the run wrote into the install folder: $written"; exit 1; }
echo "wheel: installed outside the checkout, ran the demo; state and tables in the working directory"
