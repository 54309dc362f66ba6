"""The pre-commit hooks, driven by the real `pre-commit` tool in a temporary git repository, offline.

The project's `.pre-commit-config.yaml` points at a git repository holding this repository's
`.pre-commit-hooks.yaml` (this checkout itself when its HEAD has the same manifest, as in CI; otherwise a
one-commit copy), pinned by `rev:` as users pin it. The `-system` hooks run the svcpolicy installed beside
this interpreter, so no network is needed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO
from gatekit import ARTICLE_16, authorised, unauthorised, write_gate_pack, write_records

BIN = Path(sys.executable).parent
PRE_COMMIT = BIN / "pre-commit"
MANIFEST = REPO / ".pre-commit-hooks.yaml"


def test_git_and_pre_commit_are_installed_for_these_tests() -> None:
    """pre-commit is a dev dependency and git is on every machine: a missing one fails, never skips."""
    assert shutil.which("git") is not None
    assert PRE_COMMIT.exists(), f"{PRE_COMMIT} missing: `make test` installs the dev extra"


def environment(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        PRE_COMMIT_HOME=str(tmp_path / "pre-commit-cache"),
        PRE_COMMIT_COLOR="never",
        GIT_CONFIG_NOSYSTEM="1",
        HOME=str(tmp_path / "home"),
        PYTHONIOENCODING="utf-8",
    )
    (tmp_path / "home").mkdir(exist_ok=True)
    return env


def run(args: list[str | Path], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=300
    )


def git(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = run(["git", *args], cwd, env)
    assert result.returncode == 0, result.stderr
    return result


def init_repo(path: Path, env: dict[str, str]) -> None:
    path.mkdir(parents=True, exist_ok=True)
    git(path, env, "init", "-q", "-b", "main")
    git(path, env, "config", "user.name", "Compliance Bot")
    git(path, env, "config", "user.email", "compliance@example.com")
    git(path, env, "config", "commit.gpgsign", "false")


def hook_repository(tmp_path: Path, env: dict[str, str]) -> tuple[str, str]:
    """(repo, rev) for `.pre-commit-config.yaml`: this checkout if HEAD has the current manifest, else a copy."""
    head = run(["git", "show", "HEAD:.pre-commit-hooks.yaml"], REPO, env)
    if head.returncode == 0 and head.stdout == MANIFEST.read_text(encoding="utf-8"):
        return str(REPO), run(["git", "rev-parse", "HEAD"], REPO, env).stdout.strip()
    hooks = tmp_path / "hooks"
    init_repo(hooks, env)
    shutil.copy(MANIFEST, hooks / ".pre-commit-hooks.yaml")
    git(hooks, env, "add", ".pre-commit-hooks.yaml")
    git(hooks, env, "commit", "-q", "-m", "svcpolicy hooks")
    return str(hooks), git(hooks, env, "rev-parse", "HEAD").stdout.strip()


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    env = environment(tmp_path)
    repo, rev = hook_repository(tmp_path, env)
    root = tmp_path / "bank-data"
    init_repo(root, env)
    write_gate_pack(root / "compliance" / "pack")
    (root / "pyproject.toml").write_text(
        '[tool.svcpolicy]\npack = "compliance/pack"\nfail_on = "high"\n\n'
        '[tool.svcpolicy.records]\ninteraction = ["records/**/*.jsonl"]\n',
        encoding="utf-8",
    )
    (root / ".pre-commit-config.yaml").write_text(
        "repos:\n"
        f"  - repo: {repo}\n"
        f"    rev: {rev}\n"
        "    hooks:\n"
        "      - id: svcpolicy-check-system\n"
        "      - id: svcpolicy-packs-system\n",
        encoding="utf-8",
    )
    installed = run([PRE_COMMIT, "install"], root, env)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    git(root, env, "add", ".")
    first = run(["git", "commit", "-m", "pack and configuration"], root, env)
    assert first.returncode == 0, first.stdout + first.stderr  # the packs hook lints and tests the pack
    assert "svcpolicy lint + test (rule packs)" in first.stdout + first.stderr
    return root, env


def commit(root: Path, env: dict[str, str], message: str) -> subprocess.CompletedProcess[str]:
    git(root, env, "add", "-A")
    return run(["git", "commit", "-m", message], root, env)


def test_a_commit_with_a_violating_record_is_refused_with_the_article_shown(
    project: tuple[Path, dict[str, str]],
) -> None:
    root, env = project
    write_records(root / "records" / "2026-11" / "export.jsonl", authorised("R1"), unauthorised("R2"))
    result = commit(root, env, "November export")
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "svcpolicy check (service records)" in output and "Failed" in output
    assert "第十六条" in output and ARTICLE_16 in output
    assert "records/2026-11/export.jsonl:2 operations[0]  R2  [严重] SVC-016-unauthorized-operation" in output
    log = git(root, env, "log", "--oneline").stdout.splitlines()
    assert len(log) == 1  # nothing was committed


def test_a_compliant_commit_goes_through(project: tuple[Path, dict[str, str]]) -> None:
    root, env = project
    write_records(root / "records" / "2026-11" / "export.jsonl", authorised("R1"), authorised("R2"))
    result = commit(root, env, "November export")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "svcpolicy check (service records)" in result.stdout + result.stderr
    assert len(git(root, env, "log", "--oneline").stdout.splitlines()) == 2


def test_yaml_that_is_not_a_record_file_is_left_alone(project: tuple[Path, dict[str, str]]) -> None:
    root, env = project
    (root / "ci.yaml").write_text("stages: [test]\n", encoding="utf-8")
    result = commit(root, env, "CI settings")
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_broken_pack_is_refused_by_the_packs_hook(project: tuple[Path, dict[str, str]]) -> None:
    root, env = project
    pack = root / "compliance" / "pack" / "pack.yaml"
    pack.write_text(
        pack.read_text(encoding="utf-8").replace("op.affects_customer_rights", "op.afects_customer_rights"),
        encoding="utf-8",
    )
    result = commit(root, env, "typo")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "did you mean `affects_customer_rights`?" in output and "compliance/pack/pack.yaml:" in output


def test_the_hook_manifest_is_valid_for_pre_commit(tmp_path: Path) -> None:
    result = run([PRE_COMMIT, "validate-manifest", MANIFEST], REPO, environment(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
