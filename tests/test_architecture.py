"""The package's rooms import only downward: the import-linter contracts hold, and they catch a breach."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(src: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        capture_output=True,
        text=True,
        env=env,
        cwd=src,
        check=False,
    )


def _copy_of_the_package(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "svcpolicy", src / "svcpolicy", ignore=shutil.ignore_patterns("__pycache__"))
    return src


def test_the_package_keeps_its_layers_and_has_no_cycles(tmp_path: Path) -> None:
    result = _lint_imports(_copy_of_the_package(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 2 kept, 0 broken." in result.stdout


def test_an_upward_import_from_the_record_model_to_the_policy_fails_the_lint(tmp_path: Path) -> None:
    src = _copy_of_the_package(tmp_path)
    model = src / "svcpolicy" / "records" / "model.py"
    model.write_text(model.read_text(encoding="utf-8") + "\nimport svcpolicy.policy  # noqa\n", encoding="utf-8")
    result = _lint_imports(src)
    assert result.returncode != 0
    assert "svcpolicy.records.model -> svcpolicy.policy" in result.stdout


def test_a_cycle_between_two_modules_of_one_room_fails_the_lint(tmp_path: Path) -> None:
    src = _copy_of_the_package(tmp_path)
    nodes = src / "svcpolicy" / "expr" / "nodes.py"
    nodes.write_text(nodes.read_text(encoding="utf-8") + "\nimport svcpolicy.expr.lets  # noqa\n", encoding="utf-8")
    result = _lint_imports(src)
    assert result.returncode != 0
    assert "No cycles between the modules of a room BROKEN" in result.stdout
