"""Build the course site (Jupyter Book 1.x) from notebooks/ and course/chapters.yml, offline.

    python course/build.py                      # prepare, then build into course/_build/html
    python course/build.py --prepare-only       # only write the generated sources (below)
    python course/build.py --path-output DIR    # build into DIR/_build/html (the tests do this)

Generated at every run (git-ignored, see course/.gitignore), so every notebook added to notebooks/
appears in the book without editing anything here:

- ``course/_notebooks/<stem>.ipynb``: a copy of each ``notebooks/NN_*.ipynb`` (outputs and widget
  state dropped) with a "The paper" box under its title: the reference, year, and what changed
  after the paper, from ``course/chapters.yml``, plus a Binder link and where its exercises are;
- ``course/_toc.yml``: intro, then the registry's parts in order, chapters by notebook number;
- ``course/_generated/schedule.md``: the syllabus table, included by ``syllabus.md``.

The book is never executed here (``execute_notebooks: off``); tests/test_notebooks.py and
tests/test_browser.py run the notebooks. The build runs with a dead HTTP proxy, so anything that
tries to reach the network fails loudly instead of working only online. With ``--strict`` (the
default) every Sphinx warning (a missing page, a broken cross-reference) is an error.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import yaml

COURSE = Path(__file__).resolve().parent
ROOT = COURSE.parent
NOTEBOOKS = ROOT / "notebooks"
REGISTRY = COURSE / "chapters.yml"
GEN_NOTEBOOKS = COURSE / "_notebooks"
GEN_DIR = COURSE / "_generated"
TOC = COURSE / "_toc.yml"
EXERCISES = COURSE / "exercises" / "source"
REQUIRED_FIELDS = ("title", "authors", "part", "reference", "year", "url", "what_changed")
# nothing may reach the network while the book builds
OFFLINE_ENV = {k: "http://127.0.0.1:9" for k in ("http_proxy", "https_proxy", "HTTP_PROXY",
                                                "HTTPS_PROXY", "all_proxy", "ALL_PROXY")}


class RegistryError(RuntimeError):
    """course/chapters.yml is missing an entry or a field."""


def notebook_paths() -> list[Path]:
    """Every course notebook (``notebooks/NN_*.ipynb``), in number order."""
    return sorted(NOTEBOOKS.glob("[0-9]*.ipynb"))


def load_registry() -> dict:
    """The parsed chapter registry: ``{"parts": [...], "chapters": {stem: {...}}}``."""
    reg = yaml.safe_load(REGISTRY.read_text(encoding="utf-8"))
    parts, chapters = reg.get("parts") or [], reg.get("chapters") or {}
    for stem, entry in chapters.items():
        missing = [f for f in REQUIRED_FIELDS if not entry.get(f)]
        if missing:
            raise RegistryError(f"{REGISTRY.name}: {stem} lacks {', '.join(missing)}")
        if entry["part"] not in parts:
            raise RegistryError(f"{REGISTRY.name}: {stem} has part {entry['part']!r}, not one of {parts}")
    return {"parts": parts, "chapters": chapters}


def repository_url() -> str:
    """The project's GitHub URL (``[project.urls] Homepage`` in pyproject.toml)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return meta["project"]["urls"]["Homepage"].rstrip("/")


def binder_url(stem: str, repo: str | None = None) -> str:
    """mybinder.org link that opens ``notebooks/<stem>.ipynb`` in JupyterLab."""
    repo = repo or repository_url()
    owner_name = repo.split("github.com/", 1)[1]
    return f"https://mybinder.org/v2/gh/{owner_name}/HEAD?labpath=notebooks%2F{stem}.ipynb"


def paper_box(stem: str, entry: dict, repo: str) -> str:
    """The MyST block put under a chapter's title."""
    ex = EXERCISES / stem
    exercises = (f"exercises: `course/exercises/source/{stem}/` (see {{doc}}`../instructor`)"
                 if ex.is_dir() else "")
    run = f"[open it on Binder]({binder_url(stem, repo)}), or locally with `make lab`"
    return "\n".join([
        "````{admonition} The paper",
        ":class: tip nm-paper",
        "",
        f"{entry['reference'].strip()} <{entry['url']}>",
        "",
        f"**Year:** {entry['year']}",
        "",
        f"**What changed after this paper.** {entry['what_changed'].strip()}",
        "",
        f"**Run this notebook:** {run}." + (f" Its {exercises}." if exercises else ""),
        "````",
    ])


def chapter_notebook(path: Path, entry: dict, repo: str) -> nbformat.NotebookNode:
    """A copy of one course notebook for the book: no outputs, the paper box under the title."""
    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("widgets", None)  # widget state would make the page load JS from a CDN
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cell.metadata.pop("widgets", None)
    box = paper_box(path.stem, entry, repo)
    first = nb.cells[0] if nb.cells else None
    m = re.match(r"\s*(# [^\n]+)\n?", first.source) if first is not None and first.cell_type == "markdown" else None
    if m:
        first.source = f"{m.group(1)}\n\n{box}\n\n{first.source[m.end():].lstrip()}".rstrip() + "\n"
    else:  # no title: give the page one
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(f"# {entry['title']}\n\n{box}\n"))
    return nb


def _schedule(registry: dict, present: set[str]) -> str:
    rows = ["| # | Chapter | Authors | Year |", "|---|---|---|---|"]
    for part in registry["parts"]:
        for stem, e in registry["chapters"].items():
            if e["part"] != part:
                continue
            num = stem.split("_", 1)[0]
            title = f"{{doc}}`{e['title']} <_notebooks/{stem}>`" if stem in present else f"{e['title']} (in preparation)"
            rows.append(f"| {num} | {title} | {e['authors']} | {e['year']} |")
    return "\n".join(rows) + "\n"


def prepare(verbose: bool = True) -> list[str]:
    """Write _notebooks/, _toc.yml and _generated/ from notebooks/ and the registry; returns the stems."""
    registry = load_registry()
    paths = notebook_paths()
    unknown = [p.stem for p in paths if p.stem not in registry["chapters"]]
    if unknown:
        raise RegistryError(f"notebooks without an entry in course/chapters.yml: {', '.join(unknown)}")
    repo = repository_url()
    shutil.rmtree(GEN_NOTEBOOKS, ignore_errors=True)
    GEN_NOTEBOOKS.mkdir()
    # things notebooks may refer to by relative path (figures/ ...), except run outputs
    for extra in NOTEBOOKS.iterdir():
        if extra.is_dir() and extra.name not in ("_outputs", ".ipynb_checkpoints"):
            shutil.copytree(extra, GEN_NOTEBOOKS / extra.name,
                            ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints"))
    for p in paths:
        nbformat.write(chapter_notebook(p, registry["chapters"][p.stem], repo), GEN_NOTEBOOKS / p.name)
    stems = [p.stem for p in paths]
    parts = [{"caption": "Start here", "chapters": [{"file": "syllabus"}]}]  # then the part's notebooks
    for part in registry["parts"]:
        chapters = [{"file": f"_notebooks/{s}"} for s in stems if registry["chapters"][s]["part"] == part]
        if not chapters:
            continue
        if part == parts[0]["caption"]:
            parts[0]["chapters"] += chapters
        else:
            parts.append({"caption": part, "chapters": chapters})
    parts.append({"caption": "For instructors", "chapters": [{"file": "instructor"}]})
    toc = {"format": "jb-book", "root": "intro", "parts": parts}
    TOC.write_text("# Generated by course/build.py from notebooks/ and chapters.yml; do not edit.\n"
                   + yaml.safe_dump(toc, sort_keys=False), encoding="utf-8")
    GEN_DIR.mkdir(exist_ok=True)
    (GEN_DIR / "schedule.md").write_text(_schedule(registry, set(stems)), encoding="utf-8")
    if verbose:
        print(f"course/build.py: {len(stems)} chapters: {', '.join(stems)}")
    return stems


def jupyter_book() -> list[str]:
    exe = Path(sys.executable).parent / "jupyter-book"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "jupyter_book"]


def build(path_output: Path | None = None, strict: bool = True) -> subprocess.CompletedProcess:
    """Prepare, then ``jupyter-book build course`` offline; returns the finished process (output captured)."""
    prepare()
    cmd = [*jupyter_book(), "build", str(COURSE), "--builder", "html"]
    if strict:
        cmd += ["--warningiserror", "--keep-going"]
    if path_output is not None:
        cmd += ["--path-output", str(path_output)]
    env = {**os.environ, **OFFLINE_ENV, "no_proxy": "", "NO_PROXY": ""}
    return subprocess.run(cmd, env=env, capture_output=True, text=True)


def warnings_in(log: str) -> list[str]:
    """Sphinx's WARNING/ERROR lines in a build log."""
    return [ln for ln in log.splitlines() if "WARNING" in ln or re.search(r"\bERROR\b", ln)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--prepare-only", action="store_true", help="write the generated sources and stop")
    ap.add_argument("--path-output", type=Path, default=None, help="build into DIR/_build/html")
    ap.add_argument("--no-strict", action="store_true", help="do not turn warnings into errors")
    args = ap.parse_args(argv)
    if args.prepare_only:
        prepare()
        return 0
    proc = build(args.path_output, strict=not args.no_strict)
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    warns = warnings_in(proc.stdout + proc.stderr)
    if proc.returncode != 0 or (warns and not args.no_strict):
        print(f"\ncourse/build.py: build FAILED ({len(warns)} warnings/errors):", file=sys.stderr)
        for w in warns:
            print("  " + w, file=sys.stderr)
        return proc.returncode or 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
