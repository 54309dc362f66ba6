"""examples/audit.ipynb runs top to bottom in a real Jupyter kernel, and shows what it says it shows.

The kernel is this interpreter (a kernel spec written to a temporary JUPYTER_PATH), so the test needs no
registered kernel and nothing outside the virtual environment; Jupyter's own directories are temporary too.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import REPO

NOTEBOOK = REPO / "examples" / "audit.ipynb"
KERNEL = "svcpolicy-test"
read_notebook: Callable[..., Any] = nbformat.read  # nbformat has no type annotations


@pytest.fixture
def kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    spec = tmp_path / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "svcpolicy test kernel",
                "language": "python",
            }
        ),
        encoding="utf-8",
    )
    for name, folder in (
        ("JUPYTER_PATH", "jupyter"),
        ("JUPYTER_DATA_DIR", "jupyter-data"),
        ("JUPYTER_RUNTIME_DIR", "jupyter-runtime"),
        ("JUPYTER_CONFIG_DIR", "jupyter-config"),
        ("IPYTHONDIR", "ipython"),
    ):
        monkeypatch.setenv(name, str(tmp_path / folder))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    return KERNEL


def outputs(cell: Any) -> list[dict[str, Any]]:
    """What a cell displayed (its value and displays; streams such as warnings left out)."""
    return [o for o in cell.get("outputs", []) if o["output_type"] in ("execute_result", "display_data")]


def outputs_text(cells: dict[str, Any], starts: str) -> str:
    """What the cell whose source starts so printed."""
    cell = next(c for source, c in cells.items() if source.startswith(starts))
    return "".join(o["text"] for o in cell.get("outputs", []) if o["output_type"] == "stream")


def test_the_notebook_is_stored_without_outputs() -> None:
    notebook = read_notebook(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


def test_the_audit_notebook_runs_in_a_jupyter_kernel_without_errors(kernel: str, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(REPO / "examples" / "records.jsonl", work / "records.jsonl")
    notebook = read_notebook(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook,
        kernel_name=kernel,
        timeout=120,
        startup_timeout=60,
        resources={"metadata": {"path": str(work)}},
    )
    client.execute()  # raises CellExecutionError, naming the cell, on any error

    cells = {c.source: c for c in notebook.cells if c.cell_type == "code"}
    errors = [o for c in cells.values() for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert errors == []

    shown = outputs(cells["report"])[0]["data"]
    assert "text/html" in shown and "第十六条" in shown["text/html"]  # the summary, articles by name

    by_article = next(c for source, c in cells.items() if source.startswith("report.by_article()"))
    assert "svc-rules/16" in outputs(by_article)[0]["data"]["text/html"]

    charts = [c for source, c in cells.items() if source.startswith("report.plot_")]
    assert len(charts) == 3
    for chart in charts:
        images = [o for o in outputs(chart) if "image/png" in o.get("data", {})]
        assert len(images) == 1  # each chart shown once

    trend = outputs(cells['report.over_time("M")'])[0]["data"]["text/plain"]
    assert "2026-11" in trend and "2026-02" in trend  # quiet months are rows too

    assert sorted(p.name for p in work.iterdir()) == ["records.jsonl"]  # nothing written beside the notebook
    written = Path(outputs_text(cells, "out = Path(").split(":", 1)[0])
    assert written.is_dir() and REPO / "examples" not in written.parents
    page = (written / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and "C880102" not in page and "C8***02" in page
    assert (written / "report.xlsx").stat().st_size > 0
    shutil.rmtree(written)

    by_branch = outputs(cells['report.by("branch_id")'])[0]["data"]["text/plain"]
    assert "checked" in by_branch and "violation_rate" in by_branch
