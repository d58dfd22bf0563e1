"""User colour hints: check them, draw them into Zhang et al. 2017's input maps, keep them in JSON.

A hint is ``(y, x, (r, g, b))``: a pixel (row y, column x, from the top left, integers) and the
colour wanted there, sRGB in [0, 1]. Colourisers use only its chroma (CIE a, b); the lightness
comes from the image (Levin et al. 2004 §2; Zhang et al. 2017 §3.1).

- :class:`HintError` (a ``ValueError``): every bad hint, naming which one and why;
- :class:`Hint`: the checked hint, a named tuple ``(y, x, rgb)``;
- :func:`check_hints`: validate and normalise a list of hints, optionally against an image size;
- :func:`hint_maps`: the mask and ab maps (Zhang et al. 2017 §3.1, the local hints U_l);
- :func:`sample_hints`: n hints at random pixels with the image's own colours (for benchmarks);
- :func:`save_hints` / :func:`load_hints`: the file ``{"version": 1, "hints": [{"y": int,
  "x": int, "rgb": [r, g, b]}, ...]}``, written atomically.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from ..assets import atomic_write
from ..color import rgb_to_lab

__all__ = ["HintError", "Hint", "check_hints", "hint_maps", "sample_hints", "save_hints",
           "load_hints", "VERSION"]

VERSION = 1


class HintError(ValueError):
    """A colour hint (or hints file) that cannot be used; the message says which and why."""


class Hint(NamedTuple):
    """One checked hint: pixel row ``y``, column ``x`` and colour ``rgb`` (three floats in [0, 1])."""

    y: int
    x: int
    rgb: tuple[float, float, float]


def _coordinate(v, name: str, where: str, size: int | None) -> int:
    if isinstance(v, (bool, np.bool_)):
        raise HintError(f"{where}: {name} must be an integer pixel index, not the bool {v!r}")
    try:
        i = operator.index(v)
    except TypeError:
        raise HintError(f"{where}: {name} must be an integer pixel index, not {v!r} "
                        f"({type(v).__name__})") from None
    if i < 0 or (size is not None and i >= size):
        span = f"0..{size - 1}" if size is not None else "0 or more"
        raise HintError(f"{where}: {name} = {i} is outside the image ({name} must be {span})")
    return i


def _colour(v, where: str) -> tuple[float, float, float]:
    if isinstance(v, (str, bytes, dict)):
        raise HintError(f"{where}: the colour must be three numbers (r, g, b), not {v!r}")
    try:
        c = np.asarray(v.detach().cpu() if isinstance(v, torch.Tensor) else v, dtype=np.float64)
    except (TypeError, ValueError):
        raise HintError(f"{where}: the colour must be three numbers (r, g, b), not {v!r}") from None
    if c.shape != (3,):
        raise HintError(f"{where}: the colour must be three numbers (r, g, b), not {v!r}")
    if not np.isfinite(c).all():
        raise HintError(f"{where}: the colour {tuple(c.tolist())} is not finite")
    if c.min() < 0 or c.max() > 1:
        looks_8bit = c.max() > 1 and c.max() <= 255 and (c == np.round(c)).all()
        tip = " (divide 0-255 colours by 255)" if looks_8bit else ""
        raise HintError(f"{where}: the colour {tuple(c.tolist())} is outside [0, 1]{tip}")
    return tuple(float(t) for t in c)


def check_hints(hints, shape: tuple[int, int] | None = None) -> list[Hint]:
    """Levin et al. 2004 §2's user scribbles as points: validate ``[(y, x, (r, g, b)), ...]``.

    ``shape`` (H, W) bounds the coordinates; negative ones are always refused (no wrap-around).
    Returns a list of :class:`Hint`; raises :class:`HintError` naming the first bad hint.
    """
    if isinstance(hints, (str, bytes, dict)) or not isinstance(hints, Iterable):
        raise HintError(f"hints must be a list of (y, x, (r, g, b)) tuples, not {type(hints).__name__}")
    H, W = (None, None) if shape is None else (int(shape[0]), int(shape[1]))
    out = []
    for i, h in enumerate(hints):
        where = f"hint {i}"
        if isinstance(h, (str, bytes, dict)) or not isinstance(h, (tuple, list)) or len(h) != 3:
            raise HintError(f"{where}: expected (y, x, (r, g, b)), not {h!r}")
        y, x, rgb = h
        out.append(Hint(_coordinate(y, "y", where, H), _coordinate(x, "x", where, W),
                        _colour(rgb, where)))
    return out


def hint_maps(hints, shape: tuple[int, int], dtype: torch.dtype = torch.float32,
              device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Zhang et al. 2017 §3.1, the local hints U_l: a (1,1,H,W) bool mask and (1,2,H,W) ab map.

    ab is the CIE a, b of each hint's colour (0 elsewhere); a later hint at the same pixel
    replaces an earlier one, as a click does in a widget.
    """
    H, W = int(shape[0]), int(shape[1])
    hints = check_hints(hints, (H, W))
    mask = torch.zeros(1, 1, H, W, dtype=torch.bool, device=device)
    ab = torch.zeros(1, 2, H, W, dtype=dtype, device=device)
    if hints:
        ys = torch.tensor([h.y for h in hints], device=device)
        xs = torch.tensor([h.x for h in hints], device=device)
        rgb = torch.tensor([h.rgb for h in hints], dtype=torch.float64)   # (n, 3)
        lab = rgb_to_lab(rgb.T.reshape(1, 3, -1, 1))[0, 1:, :, 0]          # (2, n)
        mask[0, 0, ys, xs] = True
        ab[0, :, ys, xs] = lab.to(device=device, dtype=dtype)             # last write wins
    return mask, ab


def sample_hints(image: torch.Tensor, n: int, seed: int = 0) -> list[Hint]:
    """Zhang et al. 2017 §3.3's simulated user, simplified: n hints at distinct random pixels.

    Positions are uniform over the image (``numpy.random.default_rng(seed)``) and each colour is
    the pixel's own. (The paper draws positions from a Gaussian about the centre and averages the
    colour over a 1–9 px patch; a pixel is enough to benchmark hint propagation.)
    """
    x = image.detach()
    if x.ndim == 4 and x.shape[0] == 1:
        x = x[0]
    if x.ndim != 3 or x.shape[0] != 3:
        raise ValueError(f"expected one RGB image (1,3,H,W) or (3,H,W), got {tuple(image.shape)}")
    H, W = x.shape[-2:]
    n = operator.index(n)
    if not 0 <= n <= H * W:
        raise HintError(f"cannot sample {n} distinct hints from an image of {H * W} pixels")
    idx = np.random.default_rng(seed).choice(H * W, size=n, replace=False)
    rgb = x.clamp(0, 1).double().cpu().reshape(3, -1)[:, torch.from_numpy(idx)].T.tolist()
    return [Hint(int(i) // W, int(i) % W, tuple(c)) for i, c in zip(idx, rgb)]


def save_hints(hints, path, shape: tuple[int, int] | None = None) -> Path:
    """Write hints as ``{"version": 1, "hints": [{"y", "x", "rgb"}, ...]}`` JSON, atomically.

    They are checked first (against ``shape`` if given), so a bad hint never reaches the file.
    """
    doc = {"version": VERSION,
           "hints": [{"y": h.y, "x": h.x, "rgb": list(h.rgb)} for h in check_hints(hints, shape)]}
    return write_json(path, doc)


def write_json(path, doc: dict) -> Path:
    """``doc`` as indented JSON, written atomically (a hints file is whole or absent)."""
    text = json.dumps(doc, indent=1) + "\n"
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def read_json(path) -> dict | list:
    """A JSON file's contents; :class:`HintError` names the file, and the line and column of broken JSON."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise HintError(f"{path}: not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}") from None
    except UnicodeDecodeError as e:
        raise HintError(f"{path}: not a UTF-8 text file ({e.reason} at byte {e.start})") from None


def check_version(path, doc: dict) -> None:
    if doc.get("version") != VERSION:
        raise HintError(f"{path}: unsupported hints file version {doc.get('version')!r} "
                        f"(this version reads {VERSION})")


def load_hints(path, shape: tuple[int, int] | None = None) -> list[Hint]:
    """Read a :func:`save_hints` file; :class:`HintError` names the file and what is wrong in it.

    Broken JSON is reported with its line and column; ``shape`` bounds the coordinates.
    """
    path = Path(path)
    doc = read_json(path)
    form = '{"version": 1, "hints": [{"y": int, "x": int, "rgb": [r, g, b]}, ...]}'
    if not isinstance(doc, dict) or "hints" not in doc:
        raise HintError(f"{path}: not a hints file; expected {form}")
    check_version(path, doc)
    entries = doc["hints"]
    if not isinstance(entries, list):
        raise HintError(f"{path}: \"hints\" must be a list, not {type(entries).__name__}")
    raw = []
    for i, e in enumerate(entries):
        if not isinstance(e, dict) or set(e) != {"y", "x", "rgb"}:
            raise HintError(f"{path}: hint {i} must be an object with keys y, x, rgb, not {e!r}")
        raw.append((e["y"], e["x"], e["rgb"]))
    try:
        return check_hints(raw, shape)
    except HintError as e:
        raise HintError(f"{path}: {e}") from None
