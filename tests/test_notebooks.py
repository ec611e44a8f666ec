"""The seminar notebooks: each runs top to bottom in a fresh kernel, shows pictures, and is committed clean.

Executing a notebook trains its small models for real, as a learner would (seconds each on a laptop CPU;
the whole file takes a minute or two). Outputs are never committed: the notebooks are the source, a
run is what a learner sees.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
CELL_TIMEOUT_S = 300

# notebook -> (at least this many pictures, text its printed output must contain)
EXPECTED = {
    "01_tensors": (3, ["shape: (2, 3)", "dy/dw = 3.0", "dL/dw from autograd: -18.0,  by hand: -18"]),
    "02_regression": (5, ["network (MLP): test RMSE", "linear regression: test RMSE", "target scaling"]),
    "03_image_classification": (5, ["test accuracy", "mistakes among 270 test images", "predicted"]),
    "04_regularization": (6, ["This run overfits", "early_stopping", "all"]),
    "05_cnn_explained": (7, ["[deck: -5, matches]", "feature maps equal: True", "pooled maps equal:  True",
                             "first row of the feature map: [-1.0, 1.0, 7.0]"]),
}

# notebook -> (a number its output prints, the least it may be): the models really learn (seeded runs)
LEARNED = {
    "03_image_classification": (r" test accuracy: ([\d.]+)%", 90.0),  # about 98%
    "05_cnn_explained": (r"test accuracy ([\d.]+)%", 90.0),  # about 98%
}

# Notebooks teach with idealfit's API; training loops and model classes belong in the library.
LIBRARY_CODE = re.compile(r"^\s*class\s|torch\.optim|\.step\(\)|zero_grad\(", re.MULTILINE)


def _ids(path: Path) -> str:
    return path.stem


def _code_cells(nb) -> list:
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def test_every_notebook_has_expectations_and_a_readme_line():
    assert [p.stem for p in NOTEBOOKS] == sorted(EXPECTED)
    readme = (NOTEBOOK_DIR / "README.md").read_text(encoding="utf-8")
    for path in NOTEBOOKS:
        assert path.name in readme, f"notebooks/README.md does not mention {path.name}"


def test_the_readmes_headless_command_runs_from_the_venv_and_fails_on_a_bad_cell(tmp_path):
    """notebooks/README.md's one-liner (`.venv/bin/jupyter execute NOTEBOOK`) works in the environment plain
    `make` creates (nbclient, not nbconvert: newcomer 3 found `jupyter nbconvert` missing there), run on
    two one-cell notebooks so it takes seconds: one that imports idealfit, one whose cell raises."""
    import subprocess
    import sys

    readme = (NOTEBOOK_DIR / "README.md").read_text(encoding="utf-8")
    command = re.search(r"^\.venv/bin/(jupyter execute) notebooks/01_tensors\.ipynb$", readme, re.MULTILINE)
    assert command, "notebooks/README.md lost its headless command"
    jupyter = Path(sys.executable).parent / "jupyter"  # the venv's bin/, as .venv/bin/jupyter in the README
    for name, code, status in (("ok", "import idealfit\nprint(idealfit.__version__)", 0), ("bad", "1 / 0", 1)):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, tmp_path / f"{name}.ipynb")
        done = subprocess.run([str(jupyter), *command.group(1).split()[1:], str(tmp_path / f"{name}.ipynb")],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == status, done.stderr
    assert "ZeroDivisionError" in done.stderr + done.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.ipynb", "ok.ipynb"]  # nothing written beside them


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_committed_without_outputs(path: Path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for i, cell in enumerate(_code_cells(nb)):
        assert cell.execution_count is None and cell.outputs == [], (
            f"{path.name}: code cell {i} has outputs; clear them before committing "
            "(Jupyter: Edit > Clear Outputs of All Cells)"
        )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_defines_no_library_code(path: Path):
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(_code_cells(nb)):
        found = LIBRARY_CODE.search(cell.source)
        assert found is None, f"{path.name}: code cell {i} has {found.group(0)!r}; use idealfit's API instead"


def _execute(path: Path, workdir: Path):
    """Run every cell in a fresh python3 kernel whose working directory is `workdir`; the executed notebook."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    # kernel_dirs=[]: only ipykernel's built-in "python3" spec, which starts sys.executable - this
    # environment - whatever kernel specs happen to be installed on the machine.
    km = KernelManager(kernel_name="python3", kernel_spec_manager=KernelSpecManager(kernel_dirs=[]))
    client = NotebookClient(nb, km=km, timeout=CELL_TIMEOUT_S, resources={"metadata": {"path": str(workdir)}})
    try:
        client.execute(cleanup_kc=True)  # raises CellExecutionError, with the cell and its traceback
    finally:
        if km.has_kernel:
            km.shutdown_kernel(now=True)
    return nb


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_runs_top_to_bottom(path: Path, tmp_path: Path, monkeypatch):
    # One thread: the models are tiny, and on a busy machine a second thread only spins
    # (measured on 2 shared cores: 0.02 s against 1.3 s per epoch).
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))  # no user profile or startup files
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the notebooks' tempfile.mkdtemp() run folders land here
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    nb = _execute(path, workdir)

    outputs = [out for cell in _code_cells(nb) for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    stderr = [out.text for out in outputs if out.output_type == "stream" and out.name == "stderr"]
    assert not stderr, f"{path.name} printed warnings or errors: {stderr}"
    min_images, phrases = EXPECTED[path.stem]
    images = [out for out in outputs if "image/png" in out.get("data", {})]
    assert len(images) >= min_images, f"{path.name} showed {len(images)} pictures, expected {min_images}+"
    text = "".join(out.text for out in outputs if out.output_type == "stream")
    for phrase in phrases:
        assert phrase in text, f"{path.name}: {phrase!r} not in its printed output"
    if path.stem in LEARNED:
        pattern, least = LEARNED[path.stem]
        found = re.search(pattern, text)
        assert found is not None and float(found.group(1)) >= least, f"{path.name}: {pattern} below {least}"
    assert not any(workdir.iterdir()), f"{path.name} wrote into its working directory; use a temporary folder"
