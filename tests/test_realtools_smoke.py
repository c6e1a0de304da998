"""Smoke tests: the real promtool, amtool and vmalert accept good files and reject bad ones."""

from __future__ import annotations

from pathlib import Path

import pytest
import realtools

pytestmark = pytest.mark.realtools

GOOD_RULES = """\
groups:
  - name: smoke
    rules:
      - alert: TargetDown
        expr: up == 0
        for: 5m
        labels:
          severity: page
        annotations:
          summary: "{{ $labels.instance }} is down"
      - record: job:up:sum
        expr: sum by (job) (up)
"""

KEEP_FIRING_FOR_RULES = """\
groups:
  - name: smoke
    rules:
      - alert: TargetDown
        expr: up == 0
        keep_firing_for: 5m
"""

MISSPELT_KEEP_FIRING_FOR_RULES = KEEP_FIRING_FOR_RULES.replace("keep_firing_for", "keep_firing_fro")

GOOD_ALERTMANAGER = """\
route:
  receiver: default
  routes:
    - receiver: pager
      matchers: ['severity="page"']
receivers:
  - name: default
  - name: pager
"""

UNDEFINED_RECEIVER_ALERTMANAGER = """\
route:
  receiver: default
  routes:
    - receiver: nowhere
      matchers: ['severity="page"']
receivers:
  - name: default
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    """Write ``text`` to ``tmp_path / name`` and return the path."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", realtools.TOOLS)
def test_tool_is_an_absolute_executable(name: str) -> None:
    path = Path(realtools.tool(name))
    assert path.is_absolute()
    assert path.is_file()


def test_promtool_accepts_good_rules(tmp_path: Path) -> None:
    result = realtools.promtool_check_rules(write(tmp_path, "good.yml", GOOD_RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 2 rules found" in result.stdout


def test_promtool_rejects_misspelt_keep_firing_for(tmp_path: Path) -> None:
    bad = write(tmp_path, "bad.yml", MISSPELT_KEEP_FIRING_FOR_RULES)
    result = realtools.promtool_check_rules(bad)
    assert result.returncode != 0
    assert "keep_firing_fro" in result.stderr


def test_promtool_fails_when_any_file_is_bad(tmp_path: Path) -> None:
    good = write(tmp_path, "good.yml", GOOD_RULES)
    bad = write(tmp_path, "bad.yml", MISSPELT_KEEP_FIRING_FOR_RULES)
    assert realtools.promtool_check_rules(good, bad).returncode != 0


def test_amtool_accepts_minimal_config(tmp_path: Path) -> None:
    config = write(tmp_path, "alertmanager.yml", GOOD_ALERTMANAGER)
    result = realtools.amtool_check_config(config)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_amtool_rejects_undefined_receiver(tmp_path: Path) -> None:
    config = write(tmp_path, "alertmanager.yml", UNDEFINED_RECEIVER_ALERTMANAGER)
    result = realtools.amtool_check_config(config)
    assert result.returncode != 0
    assert 'undefined receiver "nowhere"' in result.stdout + result.stderr


def test_vmalert_dry_run_accepts_good_rules(tmp_path: Path) -> None:
    result = realtools.vmalert_dry_run(write(tmp_path, "good.yml", GOOD_RULES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_vmalert_dry_run_rejects_keep_firing_for(tmp_path: Path) -> None:
    good = write(tmp_path, "good.yml", GOOD_RULES)
    bad = write(tmp_path, "kff.yml", KEEP_FIRING_FOR_RULES)
    result = realtools.vmalert_dry_run(good, bad)
    assert result.returncode != 0
    assert "unknown fields in rule: keep_firing_for" in result.stderr


def test_vmalert_dry_run_refuses_missing_and_ambiguous_paths(tmp_path: Path) -> None:
    good = write(tmp_path, "good.yml", GOOD_RULES)
    with pytest.raises(FileNotFoundError):
        realtools.vmalert_dry_run(good, tmp_path / "missing.yml")
    with pytest.raises(ValueError):
        realtools.vmalert_dry_run(write(tmp_path, "a,b.yml", GOOD_RULES))
    with pytest.raises(ValueError):
        realtools.vmalert_dry_run()


def test_missing_tool_skips_locally_and_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(realtools, "_EXTRA_DIRS", ())
    monkeypatch.setenv("PATH", "")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="run scripts/install-tools"):
        realtools.tool("vmalert")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="vmalert is not installed"):
        realtools.tool("vmalert")
