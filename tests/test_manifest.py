"""The run manifest is written atomically: a failed write leaves the previous manifest whole."""

from __future__ import annotations

import json

import pytest

from policytrends.manifest import write_manifest


class _Unprintable:
    def __str__(self):
        raise RuntimeError("cannot serialise")


def test_a_failed_write_keeps_the_previous_manifest(tmp_path):
    path = tmp_path / "run_manifest.json"
    write_manifest(path, {"run_id": "first", "sources": {"a": {"documents_new": 1}}})
    with pytest.raises(RuntimeError):
        write_manifest(path, {"run_id": "second", "broken": _Unprintable()})
    assert json.loads(path.read_text())["run_id"] == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run_manifest.json"]
