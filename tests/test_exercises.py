"""Every nbgrader assignment in course/exercises/source/: solutions pass, the student release fails.

For each assignment folder (one per notebook, found automatically):
- its cells carry complete schema-v3 nbgrader metadata, with 2-3 graded exercises;
- the source notebook, with the reference solutions, runs and all its autograder test cells pass;
- ``nbgrader generate_assignment`` (the same command as ``make assignments``, into a temporary
  course root) makes a student version without solutions, and every autograder test cell FAILS on
  it, so a test that cannot fail is caught.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
COURSE_ROOT = ROOT / "course" / "exercises"
SOURCE = COURSE_ROOT / "source"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
ASSIGNMENTS = sorted(d for d in SOURCE.glob("*") if d.is_dir() and not d.name.startswith((".", "_")))
REQUIRED_KEYS = {"schema_version", "grade", "solution", "locked", "grade_id"}
EXERCISE_BUDGET_S = 20  # per exercise notebook, on 2 CPU cores (a warning, not a failure)
CELL_TIMEOUT_S = 180


def _notebooks(assignment: Path) -> list[Path]:
    return sorted(p for p in assignment.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _is_test_cell(cell) -> bool:
    """An autograder test cell: graded, code, not a solution."""
    m = _meta(cell)
    return cell.cell_type == "code" and m.get("grade") is True and m.get("solution") is False


def _is_graded(cell) -> bool:
    return _meta(cell).get("grade") is True


def _errors(cell) -> list[str]:
    return [f"{o.get('ename')}: {o.get('evalue')}" for o in cell.get("outputs", []) if o.output_type == "error"]


def _execute(path: Path) -> tuple[nbformat.NotebookNode, float]:
    """Run a notebook in its own folder, carrying on after errors (as nbgrader's autograder does)."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    t = time.time()
    NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb, time.time() - t


def _ids(p: Path) -> str:
    return p.name


def test_there_are_assignments():
    assert ASSIGNMENTS, f"no assignment folders in {SOURCE}"
    assert (COURSE_ROOT / "nbgrader_config.py").is_file()


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_has_exercises(nb):
    folder = SOURCE / nb.stem
    assert (folder / f"{nb.stem}.ipynb").is_file(), (
        f"{nb.name} has no exercises: expected {folder.relative_to(ROOT)}/{nb.stem}.ipynb")


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=_ids)
def test_metadata(assignment):
    stems = {p.stem for p in NOTEBOOKS}
    import yaml

    planned = set(yaml.safe_load((ROOT / "course" / "chapters.yml").read_text())["chapters"])
    assert assignment.name in stems | planned, (
        f"assignment {assignment.name!r} is named after no notebook (nor a planned one in course/chapters.yml)")
    notebooks = _notebooks(assignment)
    assert notebooks, f"{assignment.name}: no notebooks"
    seen: dict[str, str] = {}
    graded = 0
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        for i, cell in enumerate(nb.cells):
            where = f"{path.name} cell {i}"
            if cell.cell_type == "code":
                assert not cell.get("outputs"), f"{where}: commit exercises without outputs"
            m = _meta(cell)
            if not m:
                continue
            missing = REQUIRED_KEYS - set(m)
            assert not missing, f"{where}: nbgrader metadata lacks {sorted(missing)}"
            assert m["schema_version"] == 3, f"{where}: schema_version must be 3"
            gid = m["grade_id"]
            assert gid not in seen, f"{where}: grade_id {gid!r} also used in {seen[gid]}"
            seen[gid] = where
            if m["grade"]:
                assert isinstance(m.get("points"), (int, float)) and m["points"] > 0, (
                    f"{where}: grade cell {gid!r} needs points > 0")
                graded += 1
            if m["solution"] and cell.cell_type == "code":
                assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source, (
                    f"{where}: solution cell {gid!r} lacks ### BEGIN/END SOLUTION")
            if _is_test_cell(cell):
                assert m["locked"], f"{where}: test cell {gid!r} must be locked"
                assert "assert" in cell.source or "raise" in cell.source, f"{where}: test cell without checks"
    assert 2 <= graded <= 3, f"{assignment.name}: {graded} graded exercises; expected 2-3"


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=_ids)
def test_solutions_pass(assignment, tmp_path):
    work = tmp_path / assignment.name
    shutil.copytree(assignment, work, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    for path in _notebooks(work):
        nb, took = _execute(path)
        print(f"{assignment.name}/{path.name} with solutions: {took:.1f} s")
        failures = [f"cell {i} ({_meta(c).get('grade_id', 'no grade_id')}): {e}"
                    for i, c in enumerate(nb.cells) for e in _errors(c)]
        assert not failures, f"{path.name}: the reference solutions fail:\n" + "\n".join(failures)
        assert any(_is_test_cell(c) for c in nb.cells), f"{path.name}: no autograder test cells"
        if took > EXERCISE_BUDGET_S:
            warnings.warn(f"{path.name} took {took:.0f} s; keep exercises under {EXERCISE_BUDGET_S} s",
                          stacklevel=1)


@pytest.fixture(scope="session")
def release(tmp_path_factory):
    """Run ``nbgrader generate_assignment '*'`` (as ``make assignments`` does) in a copy of the course root."""
    root = tmp_path_factory.mktemp("nbgrader")
    shutil.copy(COURSE_ROOT / "nbgrader_config.py", root)
    shutil.copytree(SOURCE, root / "source", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", "*", "--force"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=600)
    return root / "release", proc


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=_ids)
def test_student_release_fails(assignment, release, tmp_path):
    release_dir, proc = release
    made = release_dir / assignment.name
    assert made.is_dir(), (f"nbgrader generate_assignment made no release of {assignment.name} "
                           f"(exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    work = tmp_path / assignment.name
    shutil.copytree(made, work)
    sources = {p.relative_to(assignment) for p in _notebooks(assignment)}
    released = {p.relative_to(work) for p in _notebooks(work)}
    assert sources == released, f"release has {sorted(released)}, source has {sorted(sources)}"
    for path in _notebooks(work):
        text = path.read_text()
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS"):
            assert marker not in text, f"{path.name}: the student release still contains {marker!r}"
        nb, took = _execute(path)
        print(f"{assignment.name}/{path.name} student release: {took:.1f} s")
        tests = [(i, c) for i, c in enumerate(nb.cells) if _is_test_cell(c)]
        assert tests, f"{path.name}: no autograder test cells in the release"
        passing = [f"cell {i} ({_meta(c)['grade_id']})" for i, c in tests if not _errors(c)]
        assert not passing, (
            f"{path.name}: these autograder tests PASS on the blank student version, so they cannot "
            f"catch a missing solution: {', '.join(passing)}")
