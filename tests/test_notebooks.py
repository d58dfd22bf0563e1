"""Every notebook in notebooks/ runs top to bottom with SMOKE=True (papermill), and is committed clean."""

import json
import time
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
SMOKE_BUDGET_S = 60


def _cells(nb_path):
    return json.loads(nb_path.read_text())["cells"]


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found"
    assert (ROOT / "notebooks" / "00_tour.ipynb") in NOTEBOOKS


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_has_parameters_cell(nb):
    cells = _cells(nb)
    params = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1, f"{nb.name}: needs exactly one cell tagged 'parameters'"
    src = "".join(params[0]["source"])
    assert "SMOKE = False" in src, f"{nb.name}: the parameters cell must say SMOKE = False"
    assert not any(c.get("outputs") for c in cells if c["cell_type"] == "code"), (
        f"{nb.name}: commit notebooks without outputs"
    )


@pytest.mark.notebook
@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_smoke_run(nb, artifacts):
    import papermill as pm

    out = artifacts / "notebooks" / nb.name
    out.parent.mkdir(parents=True, exist_ok=True)
    t = time.time()
    pm.execute_notebook(
        str(nb), str(out), parameters={"SMOKE": True}, cwd=str(nb.parent), kernel_name="python3",
        progress_bar=False, execution_timeout=180,
    )
    took = time.time() - t
    print(f"{nb.name}: {took:.1f} s")
    # not a timing test (machines are noisy): a loud hint when a smoke run grows too big for CI
    if took > SMOKE_BUDGET_S:
        warnings.warn(f"{nb.name} took {took:.0f} s with SMOKE=True; keep smoke runs under {SMOKE_BUDGET_S} s",
                      stacklevel=1)


@pytest.mark.notebook
def test_theano_appendix_skips_cleanly_without_the_legacy_extra(monkeypatch, tmp_path):
    """A user without the legacy extra: notebook 90 says how to install it and runs to the end."""
    import papermill as pm

    monkeypatch.setenv("NOMYSTICISM_LEGACY", "0")  # legacy.available() -> False in the kernel too
    nb = ROOT / "notebooks" / "90_appendix_2015_theano.ipynb"
    out = tmp_path / nb.name
    pm.execute_notebook(str(nb), str(out), parameters={"SMOKE": True}, cwd=str(nb.parent),
                        kernel_name="python3", progress_bar=False, execution_timeout=120)
    text = "".join("".join(o.get("text", "")) for c in json.loads(out.read_text())["cells"]
                   for o in c.get("outputs", []))
    assert "legacy extra is not installed" in text
    assert 'pip install -e ".[legacy]"' in text or "[legacy]" in text
    assert "theano-pymc 1.1.2" not in text  # nothing of Theano ran
