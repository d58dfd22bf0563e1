"""binder/ (repo2docker) agrees with pyproject.toml and the Makefile, and postBuild pre-fetches the papers' weights."""

from __future__ import annotations

import os
import re
import shlex
import stat
import subprocess
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10 (pytest depends on tomli there)
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
BINDER_EXTRAS = ("lab", "legacy")  # what a student needs: notebooks, widgets, Voila, the Theano appendix


def _requirements(path: Path) -> tuple[dict[str, Requirement], list[str]]:
    reqs, options = {}, []
    for raw in path.read_text().splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-"):
            options.append(line)
            continue
        r = Requirement(line)
        name = canonicalize_name(r.name)
        assert name not in reqs, f"{path.name}: {r.name} listed twice"
        reqs[name] = r
    return reqs, options


def _expected() -> dict[str, Requirement]:
    out = {}
    for line in PROJECT["dependencies"] + [d for e in BINDER_EXTRAS for d in PROJECT["optional-dependencies"][e]]:
        r = Requirement(line)
        out[canonicalize_name(r.name)] = r
    return out


def _pinned(r: Requirement) -> Version | None:
    specs = list(r.specifier)
    if len(specs) == 1 and specs[0].operator == "==" and "*" not in specs[0].version:
        return Version(specs[0].version)
    return None


def test_binder_files_exist():
    for name in ("runtime.txt", "requirements.txt", "apt.txt", "postBuild"):
        assert (BINDER / name).is_file(), f"binder/{name} is missing"


def test_runtime_matches_requires_python():
    m = re.fullmatch(r"python-(\d+)\.(\d+)", (BINDER / "runtime.txt").read_text().strip())
    assert m, "binder/runtime.txt must read python-X.Y"
    version = Version(f"{m[1]}.{m[2]}")
    assert version in SpecifierSet(PROJECT["requires-python"]), (
        f"runtime.txt asks for Python {version}, pyproject requires {PROJECT['requires-python']}")


def test_requirements_agree_with_pyproject():
    have, options = _requirements(BINDER / "requirements.txt")
    want = _expected()
    missing = sorted(set(want) - set(have))
    extra = sorted(set(have) - set(want))
    assert not missing, f"binder/requirements.txt lacks {missing} (in pyproject.toml)"
    assert not extra, f"binder/requirements.txt has {extra}, which pyproject.toml does not list"
    for name, w in want.items():
        h = have[name]
        pin = _pinned(h)
        if pin is not None:  # an exact pin must satisfy pyproject's range (local labels like +cpu ignored)
            assert w.specifier.contains(Version(pin.public), prereleases=True), (
                f"binder pins {name}=={pin}, outside pyproject's {w.specifier}")
        else:
            assert h.specifier == w.specifier, f"{name}: binder has {h.specifier}, pyproject {w.specifier}"
        assert h.marker == w.marker, f"{name}: environment markers differ"
    if any(_pinned(r) and _pinned(r).local for r in have.values()):
        assert any("download.pytorch.org" in o for o in options), (
            "+cpu pins need --extra-index-url https://download.pytorch.org/whl/cpu")


def test_torch_pins_match_the_makefile():
    """Binder installs the same torch/torchvision pair as `make lab` (TORCH_SPEC), as CPU builds."""
    m = re.search(r"^TORCH_SPEC\s*\?=\s*(.+)$", (ROOT / "Makefile").read_text(), re.M)
    assert m, "Makefile has no TORCH_SPEC"
    make = {canonicalize_name(Requirement(t).name): _pinned(Requirement(t))
            for t in shlex.split(m[1]) if not t.startswith("-") and "==" in t}
    have, _ = _requirements(BINDER / "requirements.txt")
    for name, version in make.items():
        assert name in have and _pinned(have[name]) is not None, f"binder must pin {name}"
        assert Version(_pinned(have[name]).public) == version, (
            f"binder pins {name}=={_pinned(have[name])}, the Makefile {version}")


def test_apt_has_the_blas_for_the_legacy_extra():
    pkgs = [ln.strip() for ln in (BINDER / "apt.txt").read_text().splitlines() if ln.strip()]
    assert "libopenblas-dev" in pkgs, "the legacy extra (Theano) needs libopenblas-dev"
    for p in pkgs:
        assert re.fullmatch(r"[a-z0-9][a-z0-9+.-]+", p), f"apt.txt: {p!r} is not a Debian package name"


def test_postbuild_is_executable_and_valid_bash():
    pb = BINDER / "postBuild"
    mode = pb.stat().st_mode
    assert mode & stat.S_IXUSR and os.access(pb, os.X_OK), "binder/postBuild must be executable"
    text = pb.read_text()
    assert text.startswith("#!/usr/bin/env bash") or text.startswith("#!/bin/bash"), "postBuild needs a shebang"
    assert re.search(r"^set -e", text, re.M), "postBuild must stop at the first failing command"
    subprocess.run(["bash", "-n", str(pb)], check=True)
    # if git tracks it, git must record the executable bit too (what Binder checks out)
    ls = subprocess.run(["git", "ls-files", "-s", "binder/postBuild"], cwd=ROOT, capture_output=True, text=True)
    if ls.returncode == 0 and ls.stdout.strip():
        assert ls.stdout.split()[0] == "100755", "git records binder/postBuild as not executable (git update-index --chmod=+x)"


def test_postbuild_installs_the_toolkit_with_its_extras():
    text = (BINDER / "postBuild").read_text()
    m = re.search(r"pip install[^\n]*?\s(?:-e\s+)?[\"']?\.\[([a-z,]+)\][\"']?", text)
    assert m, "postBuild must `pip install` the toolkit from the repository (.[extras])"
    assert set(BINDER_EXTRAS) <= set(m[1].split(",")), f"postBuild installs .[{m[1]}]; needs {BINDER_EXTRAS}"


def test_postbuild_prefetch_calls_the_toolkit(monkeypatch):
    """The pre-fetch line in postBuild, run here with the download replaced: it asks for every
    network the notebooks load when they can (VGG-16, VGG-19, GoogLeNet)."""
    text = (BINDER / "postBuild").read_text()
    m = re.search(r"python3? -c \"([^\"]*prefetch_weights[^\"]*)\"", text)
    assert m, "postBuild must call nm.models.prefetch_weights via python -c"
    import nomysticism as nm

    asked = []
    monkeypatch.setattr(nm.models, "download_weights", lambda name, progress=True: asked.append(name) or {})
    exec(compile(m[1], "postBuild", "exec"), {})
    assert sorted(asked) == sorted(nm.models.DOWNLOADABLE), f"postBuild pre-fetches {asked}"


def test_readme_has_a_binder_badge():
    readme = (ROOT / "README.md")
    if not readme.exists():
        pytest.fail("README.md is missing")
    text = readme.read_text()
    owner_repo = PROJECT["urls"]["Homepage"].rstrip("/").split("github.com/", 1)[1]
    assert re.search(rf"https://mybinder\.org/v2/gh/{re.escape(owner_repo)}/", text), (
        "README.md needs a Binder badge/link: "
        f"[![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/{owner_repo}/HEAD"
        "?labpath=notebooks%2F00_tour.ipynb)")
