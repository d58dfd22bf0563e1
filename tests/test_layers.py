"""The toolkit's layer rule, read from the source: core < data < shared < topics < widgets/cli.

Every ``import`` of ``nomysticism.*`` (absolute or relative, at the top or inside a function, and
``importlib.import_module("nomysticism.x")`` with a literal name) is resolved to the top-level
module it reaches; that module's layer comes from the tuples ``CORE``, ``DATA``, ``SHARED``,
``TOPICS`` and ``FRONT`` in ``nomysticism/__init__.py``. A file in a sub-package
(``attribution/rules.py``) belongs to its top-level name (``attribution``).

- core imports only core (core modules may use one another: video uses images);
- data imports only core; shared imports only core, data and shared;
- a topic imports core, data, shared and itself, never another topic (nor widgets/cli);
- widgets and cli may import anything.
"""

from __future__ import annotations

import ast
from pathlib import Path, PurePosixPath

import nomysticism as nm
import pytest

PKG = Path(nm.__file__).resolve().parent
ROOT = "nomysticism"
MAX_LINES = 600

LAYER_OF = {**{m: "core" for m in nm.CORE}, **{m: "data" for m in nm.DATA},
            **{m: "shared" for m in nm.SHARED}, **{m: "topic" for m in nm.TOPICS},
            **{m: "front" for m in nm.FRONT}}
ALLOWED = {"core": {"core"}, "data": {"core", "data"}, "shared": {"core", "data", "shared"},
           "topic": {"core", "data", "shared"}, "front": {"core", "data", "shared", "topic", "front"}}


def module_name(rel: str) -> tuple[str, bool]:
    """``attribution/rules.py`` -> (``nomysticism.attribution.rules``, False); ``x/__init__.py`` -> (…x, True)."""
    parts = list(PurePosixPath(rel).with_suffix("").parts)
    is_pkg = parts[-1] == "__init__"
    if is_pkg:
        parts = parts[:-1]
    return ".".join([ROOT, *parts]), is_pkg


def root_names(init_source: str) -> dict[str, str]:
    """Names the package root re-exports, mapped to the module they come from (``load`` -> ``models``)."""
    out = {}
    for node in ast.walk(ast.parse(init_source)):
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            for a in node.names:
                out[a.asname or a.name] = node.module.split(".")[0]
    return out


def imports(source: str, modname: str, is_pkg: bool, root_attrs: dict[str, str]) -> list[tuple[int, str, str]]:
    """(line, the import as written, the top-level toolkit module it reaches) for each toolkit import.

    The top-level name is ``""`` for the package root itself (``import nomysticism``)."""
    pkg = modname if is_pkg else modname.rpartition(".")[0]
    found = []

    def top(dotted: str, names=()) -> list[str]:
        parts = dotted.split(".")
        if parts[0] != ROOT:
            return []
        if len(parts) > 1:
            return [parts[1]]
        if not names:
            return [""]
        # from nomysticism import x, y: submodules, or names the root re-exports
        return [n if n in LAYER_OF else root_attrs.get(n, n) for n in names]

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for a in node.names:
                for t in top(a.name):
                    found.append((node.lineno, f"import {a.name}", t))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                dotted = ".".join(base + ([node.module] if node.module else []))
            else:
                dotted = node.module or ""
            names = [a.name for a in node.names]
            written = f"from {'.' * node.level}{node.module or ''} import {', '.join(names)}"
            for t in top(dotted, names if dotted == ROOT else ()):
                found.append((node.lineno, written, t))
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and ((isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                   or (isinstance(node.func, ast.Name) and node.func.id in ("import_module", "__import__")))):
            for t in top(node.args[0].value):
                found.append((node.lineno, f"import_module({node.args[0].value!r})", t))
    return found


def violations(sources: dict[str, str], root_attrs: dict[str, str] | None = None) -> list[str]:
    """Every import that breaks the layer rule, as ``file:line: import … (layer X imports layer Y)``.

    ``sources`` maps paths relative to ``nomysticism/`` (``attribution/rules.py``) to their text."""
    if root_attrs is None:
        root_attrs = root_names((PKG / "__init__.py").read_text())
    bad = []
    for rel, src in sorted(sources.items()):
        if rel == "__init__.py":
            continue  # the front door re-exports and lazily loads everything
        me = PurePosixPath(rel).parts[0].removesuffix(".py")
        layer = "front" if me == "__main__" else LAYER_OF.get(me)  # `python -m nomysticism` runs the CLI
        if layer is None:
            bad.append(f"{rel}:1: '{me}' is in none of CORE, DATA, SHARED, TOPICS, FRONT")
            continue
        modname, is_pkg = module_name(rel)
        for line, written, target in imports(src, modname, is_pkg, root_attrs):
            if target == me:
                continue
            if target == "":
                if layer != "front":
                    bad.append(f"{rel}:{line}: {written} (the package root loads every layer; "
                               "import the module you need)")
                continue
            tl = LAYER_OF.get(target)
            if tl is None:
                bad.append(f"{rel}:{line}: {written} ('{target}' has no layer)")
            elif tl not in ALLOWED[layer]:
                why = "a topic imports another topic" if layer == tl == "topic" else f"{layer} imports {tl}"
                bad.append(f"{rel}:{line}: {written} ({me} → {target}: {why})")
    return bad


def toolkit_sources() -> dict[str, str]:
    return {p.relative_to(PKG).as_posix(): p.read_text(encoding="utf-8")
            for p in sorted(PKG.rglob("*.py")) if "__pycache__" not in p.parts}


# --- the rule on the real toolkit -----------------------------------------------------------------

def test_layer_rule_holds_for_every_import():
    bad = violations(toolkit_sources())
    assert not bad, "layer rule broken:\n  " + "\n  ".join(bad)


def test_every_module_has_a_layer_and_every_layer_name_exists():
    tops = {p.name.removesuffix(".py") for p in PKG.iterdir()
            if (p.suffix == ".py" and p.name not in ("__init__.py", "__main__.py")) or (p.is_dir() and (p / "__init__.py").exists())}
    assert tops == set(LAYER_OF), (f"modules without a layer: {sorted(tops - set(LAYER_OF))}; "
                                   f"layer names without a module: {sorted(set(LAYER_OF) - tops)}")
    names = nm.CORE + nm.DATA + nm.SHARED + nm.TOPICS + nm.FRONT
    assert len(names) == len(set(names)), "a module is in two layers"


def test_each_topic_is_a_package():
    not_pkgs = [t for t in nm.TOPICS if not (PKG / t / "__init__.py").is_file()]
    assert not not_pkgs, f"topics that are still single modules: {not_pkgs}"
    flat = [t for t in nm.TOPICS if (PKG / f"{t}.py").exists()]
    assert not flat, f"a topic both as a package and as a module: {flat}"


def test_no_file_is_too_long():
    lengths = sorted(((len(src.splitlines()), rel) for rel, src in toolkit_sources().items()), reverse=True)
    long = [f"{rel}: {n} lines" for n, rel in lengths
            if n > MAX_LINES and PurePosixPath(rel).parts[0] != "legacy"]
    print("longest files:", ", ".join(f"{rel} ({n})" for n, rel in lengths[:5]))
    assert not long, f"files over {MAX_LINES} lines (split them by paper or concern):\n  " + "\n  ".join(long)


def test_every_import_of_the_toolkit_resolves_to_a_real_module():
    """The resolver itself: each target it finds exists, so a typo cannot hide an import."""
    for rel, src in toolkit_sources().items():
        modname, is_pkg = module_name(rel)
        for line, written, target in imports(src, modname, is_pkg, root_names((PKG / "__init__.py").read_text())):
            if target:
                assert target in LAYER_OF, f"{rel}:{line}: {written} -> {target!r}"


# --- the checker catches violations (synthetic sources) -------------------------------------------

ATTRS = {"load": "models", "device": "runtime", "sample_image": "images"}


@pytest.mark.parametrize("rel,src,expect", [
    ("fast_style/video.py", "from ..style import gram_matrix\n", "fast_style/video.py:1: from ..style import"),
    ("fast_style/__init__.py", "import os\n\ndef f():\n    from nomysticism.style.transfer import run\n",
     "fast_style/__init__.py:4:"),
    ("gan/train.py", "from .. import attribution\n", "gan → attribution"),
    ("gan/train.py", "import nomysticism.widgets.gan as w\n", "topic imports front"),
    ("video.py", "from .models import load\n", "video → models: core imports shared"),
    ("flow.py", "from . import style\n", "core imports topic"),
    ("images.py", "from nomysticism import load\n", "images → models"),
    ("data.py", "from .losses import tv_loss\n", "data imports shared"),
    ("metrics.py", "from .attribution import heatmap\n", "shared imports topic"),
    ("losses.py", "import importlib\nm = importlib.import_module('nomysticism.gan')\n", "losses.py:2:"),
    ("style/gatys.py", "import nomysticism as nm\n", "package root"),
    ("attribution/rules.py", "from .newthing import y\nfrom ..runtime import device\n", None),
    ("gan/train.py", "from .. import colourise\n", "'colourise' has no layer"),
    ("newtopic.py", "x = 1\n", "in none of"),
    ("style/gatys.py", "from nomysticism import sample_image, gan\n", "style → gan"),
])
def test_checker_catches_violations(rel, src, expect):
    bad = violations({rel: src}, ATTRS)
    if expect is None:
        assert not bad, bad
    else:
        assert bad and any(expect in b for b in bad), bad


@pytest.mark.parametrize("rel,src", [
    ("video.py", "from .images import resize\nfrom .assets import atomic_path\n"),   # core uses core
    ("models.py", "from .data import loader\nfrom . import blocks, runtime\n"),
    ("style/transfer.py", "from ..losses import gram_matrix\nfrom .stages import run\nfrom . import x\n"),
    ("style/__init__.py", "from .transfer import *\nfrom nomysticism.style.stages import y\n"),
    ("fast_style/video.py", "def f():\n    from ..metrics import flicker\n    from .. import video\n"),
    ("widgets/gan.py", "from .. import gan, style\nimport nomysticism as nm\nfrom ..cli import main\n"),
    ("cli.py", "from nomysticism import load, fast_style\n"),
    ("gan/train.py", "import torch\nfrom torch import nn\nimport numpy.random\n"),
])
def test_checker_accepts_the_allowed_imports(rel, src):
    assert violations({rel: src}, ATTRS) == []


def test_relative_imports_resolve_from_their_package():
    f = imports("from . import a\nfrom .b import c\nfrom .. import losses\nfrom ..x.y import z\n",
                "nomysticism.style.transfer", False, {})
    assert [t for _, _, t in f] == ["style", "style", "losses", "x"]
    g = imports("from . import a\nfrom .. import b\n", "nomysticism.style", True, {})
    assert [t for _, _, t in g] == ["style", "b"]
    h = imports("from . import video, sample_image\n", "nomysticism.flow", False, {"sample_image": "images"})
    assert [t for _, _, t in h] == ["video", "images"]
