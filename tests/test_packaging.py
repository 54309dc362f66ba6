"""A non-editable install carries the bundled packs inside the wheel."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import REPO


def test_a_regular_install_finds_the_bundled_pack_inside_the_package(tmp_path: Path) -> None:
    source = tmp_path / "src-copy"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(".venv", ".git", "bench", "*.pyc", "__pycache__"))
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    shutil.rmtree(source)
    probe = (
        "import svcpolicy, pathlib; "
        "p = svcpolicy.bundled_pack_path(); "
        f"assert pathlib.Path(svcpolicy.__file__).is_relative_to(pathlib.Path(r'{target}')), svcpolicy.__file__; "
        "assert '_bundled_packs' in str(p), p; "
        "print(len(svcpolicy.load_policy().programs))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(target)},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= 5
