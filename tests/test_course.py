"""The course site: the chapter registry covers every notebook, and the book builds offline without warnings."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "course"))
import build as course  # noqa: E402  (course/build.py)

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
# the course plan (CONTRIBUTING.md / the issues): every one needs a registry entry, notebook or not yet
PLANNED = [
    "00_tour", "01_zeiler_fergus_2013_deconvnet", "02_simonyan_2014_saliency_class_models",
    "03_springenberg_2015_guided_backprop", "04_mordvintsev_2015_deepdream",
    "05_gatys_2015_style_transfer", "06_ulyanov_2016_texture_networks",
    "07_johnson_2016_perceptual_losses", "08_video_stylization", "09_radford_2015_dcgan",
    "10_mirza_2014_conditional_gan", "11_zhu_2017_cyclegan", "12_zhang_2016_colorization",
    "13_levin_2004_zhang_2017_color_hints", "14_old_film_restoration", "15_video_colorization_hints",
    "16_deepanon_anonymization", "17_music_mood_map", "90_appendix_2015_theano",
]
MATHJAX_CDN = "https://cdn.jsdelivr.net/npm/mathjax@"


@pytest.fixture(scope="module")
def registry():
    return course.load_registry()


def test_registry_has_every_planned_chapter(registry):
    missing = [s for s in PLANNED if s not in registry["chapters"]]
    assert not missing, f"course/chapters.yml lacks {missing}"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_has_a_registry_entry(nb, registry):
    entry = registry["chapters"].get(nb.stem)
    assert entry is not None, f"add {nb.stem} to course/chapters.yml (reference, year, what_changed ...)"
    for field in course.REQUIRED_FIELDS:
        assert entry.get(field), f"{nb.stem}: {field} is empty"
    assert isinstance(entry["year"], int) and 2000 <= entry["year"] <= 2030, entry["year"]  # Levin 2004
    assert entry["url"].startswith("https://"), entry["url"]
    assert len(entry["what_changed"].split()) >= 25, f"{nb.stem}: 'what_changed' is too short to say much"
    assert str(entry["year"]) in entry["reference"] or re.search(r"\(\d{4}\)", entry["reference"])
    # the year in the notebook's name (NN_author_YYYY_topic) is the year of the paper
    m = re.search(r"_((?:19|20)\d\d)_", nb.stem)
    if m:
        assert entry["year"] == int(m[1]), f"{nb.stem}: registry says {entry['year']}, the name says {m[1]}"


def test_registry_parts(registry):
    assert registry["parts"][0] == "Start here"
    used = {e["part"] for e in registry["chapters"].values()}
    assert used <= set(registry["parts"])


def test_generated_toc_has_every_notebook_once():
    stems = course.prepare(verbose=False)
    assert stems == [p.stem for p in NOTEBOOKS]
    toc = yaml.safe_load(course.TOC.read_text())
    assert toc["format"] == "jb-book" and toc["root"] == "intro"
    files = [c["file"] for part in toc["parts"] for c in part["chapters"]]
    for nb in NOTEBOOKS:
        assert files.count(f"_notebooks/{nb.stem}") == 1, f"{nb.stem} not in _toc.yml exactly once"
        assert (course.GEN_NOTEBOOKS / nb.name).is_file()
    for page in ("syllabus", "instructor"):
        assert page in files and (course.COURSE / f"{page}.md").is_file()
    chapters = [f.split("/", 1)[1] for f in files if f.startswith("_notebooks/")]
    assert chapters == sorted(chapters, key=lambda s: (course.load_registry()["parts"].index(
        course.load_registry()["chapters"][s]["part"]), s)), "chapters out of part/number order"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_page_carries_the_paper(nb, registry):
    entry = registry["chapters"][nb.stem]
    page = course.chapter_notebook(nb, entry, course.repository_url())
    first = page.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# "), "the page starts with its title"
    for text in ("The paper", " ".join(entry["reference"].split())[:60], f"**Year:** {entry['year']}",
                 "What changed after this paper", f"labpath=notebooks%2F{nb.stem}.ipynb"):
        assert text in " ".join(first.source.split()) or text in first.source, f"{nb.stem}: box lacks {text!r}"
    assert not any(c.get("outputs") for c in page.cells if c.cell_type == "code")
    assert "widgets" not in page.metadata


@pytest.mark.slow
def test_book_builds_offline_without_warnings(tmp_path):
    """`make book`'s build, into a temporary folder, with the network cut off (a dead proxy)."""
    proc = course.build(path_output=tmp_path, strict=True)
    log = proc.stdout + proc.stderr
    warns = course.warnings_in(log)
    assert proc.returncode == 0 and not warns, (
        f"the book build failed (exit {proc.returncode}) or warned:\n" + "\n".join(warns or [log[-3000:]]))
    html = tmp_path / "_build" / "html"
    assert (html / "index.html").is_file() and (html / "syllabus.html").is_file()
    registry = course.load_registry()
    for nb in NOTEBOOKS:
        page = html / "_notebooks" / f"{nb.stem}.html"
        assert page.is_file(), f"no page for {nb.stem}"
        text = page.read_text()
        assert "What changed after this paper" in text and str(registry["chapters"][nb.stem]["year"]) in text
        # the site works offline: every script and stylesheet is local, except MathJax (loaded on view)
        urls = re.findall(r'<(?:script|link)[^>]+(?:src|href)="(https?://[^"]+)"', text)
        remote = [u for u in urls if re.search(r"\.(js|css)(\?|$)", u) and not u.startswith(MATHJAX_CDN)]
        assert not remote, f"{nb.stem}.html loads {remote} from the internet"
