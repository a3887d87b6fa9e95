"""Warm kernels: started ahead of a notebook, then shut down or kept and cleared."""

from __future__ import annotations

import subprocess
import sys

import nbformat
import pytest

from acctlib import render

# The first cell shows whether the report's libraries were imported before
# the notebook ran, and which names the notebook's namespace holds.
PROBE = """\
import sys
print("acctlib.charts" in sys.modules)
print(sorted(name for name in dir() if not name.startswith("_")))
"""


def _write_notebook(path, cells):
    """Write a notebook of ``cells`` for the project kernel to ``path``."""
    notebook = nbformat.v4.new_notebook(
        metadata={
            "kernelspec": {
                "name": render.KERNEL_NAME,
                "display_name": "acctlib",
                "language": "python",
            }
        }
    )
    notebook.cells = cells
    nbformat.write(notebook, path)
    return path


def _probe_notebook(folder):
    return _write_notebook(folder / "probe.ipynb", [nbformat.v4.new_code_cell(PROBE)])


def _run_probe(folder, cwd, *, keep_kernel=False, setup=""):
    source = _probe_notebook(folder)
    if setup:
        notebook = nbformat.read(source, as_version=4)
        notebook.cells.insert(0, nbformat.v4.new_code_cell(setup))
        nbformat.write(notebook, source)
    executed = render.execute_notebook(
        source,
        folder / "probe-out.ipynb",
        {},
        timeout=120,
        cwd=cwd,
        keep_kernel=keep_kernel,
    )
    cell = executed.cells[-1]
    return cell.execution_count, cell.outputs[0]["text"].splitlines()


@pytest.fixture(autouse=True)
def _no_leftover_kernels():
    yield
    render.shutdown_warm_kernels()


def test_warm_kernel_runs_next_notebook(tmp_path):
    render.start_warm_kernel(tmp_path, wait=True)

    count, lines = _run_probe(tmp_path, tmp_path)

    assert lines[0] == "True"
    assert count == 1
    assert render._warm_kernels == []


def test_warm_up_leaves_namespace_as_new(tmp_path):
    _, new_lines = _run_probe(tmp_path, tmp_path)
    render.start_warm_kernel(tmp_path, wait=True)

    _, warm_lines = _run_probe(tmp_path, tmp_path)

    assert new_lines[0] == "False"
    assert warm_lines[0] == "True"
    assert warm_lines[1] == new_lines[1]


def test_warm_kernel_of_other_folder_unused(tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    render.start_warm_kernel(other, wait=True)

    _, lines = _run_probe(tmp_path, tmp_path)

    assert lines[0] == "False"
    assert len(render._warm_kernels) == 1


@pytest.mark.parametrize("module", ["pandera", "statsmodels", "scipy.stats"])
def test_warm_up_skips_prepare_libraries(tmp_path, module):
    """A kernel imports no library that only intake and prepare use."""
    probe = f"{render.WARM_UP_SOURCE}\nimport sys\nprint({module!r} in sys.modules)"

    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )

    assert result.stdout.splitlines()[-1] == "False"


def test_kept_kernel_runs_next_notebook_as_new(tmp_path):
    first_count, first_lines = _run_probe(
        tmp_path, tmp_path, keep_kernel=True, setup="leftover = 1"
    )
    assert len(render._warm_kernels) == 1
    (kept,) = render._warm_kernels

    count, lines = _run_probe(tmp_path, tmp_path, keep_kernel=True)

    assert render._warm_kernels == [kept]
    assert first_count == 2
    assert "leftover" in first_lines[1]
    assert count == 1
    assert lines[0] == "True"
    assert "leftover" not in lines[1]


def test_kernel_of_failed_notebook_not_kept(tmp_path):
    source = _probe_notebook(tmp_path)
    notebook = nbformat.read(source, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell("raise ValueError('stop')"))
    nbformat.write(notebook, source)

    with pytest.raises(render.BuildError, match="ValueError: stop"):
        render.execute_notebook(
            source, tmp_path / "out.ipynb", {}, timeout=120, keep_kernel=True
        )

    assert render._warm_kernels == []


def test_executed_notebook_same_on_rerun(tmp_path):
    """The saved notebook has no random cell ID or object address."""
    parameters = nbformat.v4.new_code_cell("top = 1")
    parameters.metadata["tags"] = ["parameters"]
    cells = [parameters, nbformat.v4.new_code_cell("object()")]
    source = _write_notebook(tmp_path / "repeat.ipynb", cells)

    saved = []
    for run in ("first", "second"):
        output = tmp_path / f"{run}.ipynb"
        render.execute_notebook(source, output, {"top": 2}, timeout=120)
        saved.append(nbformat.read(output, as_version=4))

    injected = [cell["id"] for cell in saved[0].cells]
    assert render.INJECTED_TAG in injected
    assert [cell["id"] for cell in saved[1].cells] == injected
    texts = [nb.cells[-1].outputs[0]["data"]["text/plain"] for nb in saved]
    assert texts[0] == texts[1]
    assert texts[0].startswith("<object")
    assert "0x" not in texts[0]
