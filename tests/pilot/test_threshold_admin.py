"""Changing a threshold is an audited admin action; the file keeps its comments."""
from __future__ import annotations

import shutil
from datetime import date

import pytest

from core.__main__ import main
from core.governance import audit
from core.governance.users import Role, create_user
from core.pilot.threshold_admin import rewrite_value, set_threshold, threshold_history
from core.pilot.verdict import THRESHOLDS_PATH, load_thresholds
from core.store import db


@pytest.fixture
def setup(tmp_path):
    path = tmp_path / "thresholds.toml"
    shutil.copy(THRESHOLDS_PATH, path)
    w = db.BoardWriter(db.board_path(tmp_path))
    create_user(w, "boss", "secret-pw", Role.ADMIN)
    create_user(w, "onc", "secret-pw", Role.ONCOLOGIST)
    yield path, w
    w.close()


def test_rewrite_changes_only_the_value_version_and_amended_on():
    text = THRESHOLDS_PATH.read_text()
    new = rewrite_value(text, "override", 0.25, date(2025, 9, 1))
    old_lines, new_lines = text.splitlines(), new.splitlines()
    changed = [(a, b) for a, b in zip(old_lines, new_lines) if a != b]
    assert len(new_lines) == len(old_lines) + 1 and 'amended_on = "2025-09-01"' in new_lines
    cfg = {t["id"]: t["value"] for t in __import__("tomllib").loads(new)["threshold"]}
    assert cfg["override"] == 0.25 and cfg["acceptance"] == 0.70
    assert "# Pilot go/no-go thresholds" in new and "# median case-ready" in new  # comments kept
    assert any(a.startswith("version") for a, _ in changed)
    again = rewrite_value(new, "override", 0.3, date(2025, 9, 2))  # amended_on replaced, not duplicated
    assert again.count("amended_on") == 1 and "version = 3" in again


def test_set_threshold_rewrites_and_audits(setup):
    path, w = setup
    before = load_thresholds(path)
    ch = set_threshold(w, "acceptance", 0.65, "boss", reason="steering committee 2025-09-01", path=path,
                       today=date(2025, 9, 1))
    after = load_thresholds(path)
    assert next(t.value for t in after.thresholds if t.id == "acceptance") == 0.65
    assert (ch.old, ch.new, ch.sha256_before, ch.sha256_after) == (0.7, 0.65, before.sha256, after.sha256)
    assert after.meta["version"] == before.meta["version"] + 1 and after.meta["amended_on"] == "2025-09-01"
    hist = threshold_history(w)
    assert len(hist) == 1 and hist[0]["actor"] == "boss" and hist[0]["old"] == 0.7 and hist[0]["new"] == 0.65
    assert hist[0]["sha256_after"] == after.sha256
    assert audit.verify(w.read()).ok


@pytest.mark.parametrize("tid,value,actor,exc,msg", [
    ("acceptance", 0.6, "onc", PermissionError, "admin permission"),
    ("acceptance", 0.6, "nobody", PermissionError, "not a user"),
    ("nonsense", 0.6, "boss", KeyError, "nonsense"),
    ("acceptance", 1.5, "boss", ValueError, "between 0 and 1"),
    ("acceptance", float("nan"), "boss", ValueError, "between 0 and 1"),
])
def test_refused_changes_leave_file_and_log_untouched(setup, tid, value, actor, exc, msg):
    path, w = setup
    before = path.read_bytes()
    with pytest.raises(exc, match=msg):
        set_threshold(w, tid, value, actor, path=path)
    assert path.read_bytes() == before and threshold_history(w) == []


def test_cli_set_threshold_and_report(setup, tmp_path, monkeypatch, capsys):
    path, w = setup
    w.close()  # the CLI opens the board store itself (as when the app is stopped)
    monkeypatch.setenv("TB_STORE_DIR", str(tmp_path))
    rc = main(["pilot", "set-threshold", "override", "0.22", "--actor", "boss", "--reason", "test",
               "--thresholds", str(path)])
    assert rc == 0 and "override (override_rate): 0.2 -> 0.22" in capsys.readouterr().out
    assert main(["pilot", "set-threshold", "override", "0.3", "--actor", "onc", "--thresholds", str(path)]) == 2
    assert "not changed" in capsys.readouterr().out
