"""Packaging: the wheel carries the bundled rules, cases and examples, and
the installed package finds them without a checkout."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        pytest.fail(f"building the wheel failed:\n{result.stdout}\n{result.stderr}")
    (path,) = out.glob("imt_tutor-*.whl")
    return path


def test_wheel_contains_bundled_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "imt_tutor/_bundled/rules/vocabulary.yaml" in names
    rule_files = {p.name for p in (ROOT / "rules").glob("*.yaml")}
    assert {f"imt_tutor/_bundled/rules/{n}" for n in rule_files} <= names
    case_files = {p.name for p in (ROOT / "cases").glob("*.yaml")}
    assert {f"imt_tutor/_bundled/cases/{n}" for n in case_files} <= names
    assert "imt_tutor/_bundled/examples/lung-mass.yaml" in names


def test_unpacked_wheel_finds_its_own_rules(wheel, tmp_path):
    zipfile.ZipFile(wheel).extractall(tmp_path)
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from imt_tutor.files import rules_dir, cases_dir;"
        "from imt_tutor.rulebase import load_rulebase;"
        "print(rules_dir()); print(cases_dir()); print(len(load_rulebase(rules_dir()).rules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert result.returncode == 0, result.stderr
    rules, cases, count = result.stdout.split()
    assert Path(rules) == tmp_path / "imt_tutor" / "_bundled" / "rules"
    assert Path(cases) == tmp_path / "imt_tutor" / "_bundled" / "cases"
    assert int(count) >= 30


def test_python_dash_m_runs_the_cli():
    result = subprocess.run(
        [sys.executable, "-m", "imt_tutor", "--version"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "engine:" in result.stdout and "TEACHING AID ONLY" in result.stdout
