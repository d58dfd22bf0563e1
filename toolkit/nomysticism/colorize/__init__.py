"""Colourisation from user hints: a few coloured pixels spread over a grey image's lightness.

    import nomysticism as nm
    from nomysticism import colorize
    img = nm.sample_image("astronaut", max_side=256)
    hints = [(40, 60, (0.9, 0.2, 0.1)), (200, 128, (0.1, 0.3, 0.8))]   # (y, x, (r, g, b))
    out = colorize.from_hints(img, hints)                             # (1,3,H,W) RGB in [0,1]

Only the image's lightness L (CIE L*a*b*, :func:`nomysticism.color.rgb_to_lab`) is used; a
method fills in the chroma (a, b) from the hints' chroma, and the result is Lab → RGB.

Levin, Lischinski & Weiss 2004, "Colorization using optimization", eq. 1–2: with Y = L / 100,

    J(U) = Σ_r ( U(r) − Σ_{s∈N(r)} w_rs U(s) )²,   w_rs ∝ exp(−(Y(r) − Y(s))² / (2σ_r²)),

N(r) the 3×3 window, σ_r² = κ × the local variance of Y (κ = 0.3 as in the authors' code;
floored at ε), Σ_s w_rs = 1, and U = the
hint's a (then b) at the hint pixels: neighbours of similar lightness get similar colours, so
colour stops at edges.

The pieces:

- :mod:`.hints`: :class:`HintError`, :func:`check_hints`, :func:`hint_maps` (Zhang et al.
  2017's mask + ab input), :func:`sample_hints` (true colours at random pixels, for benchmarks),
  :func:`save_hints` / :func:`load_hints` (JSON, ``{"version": 1, "hints": [...]}``);
- :mod:`.levin`: :func:`levin_weights` (eq. 2, sparse), :func:`levin_solve` (eq. 1's sparse
  system) and :func:`nearest_fill` (nearest-hint chroma, the edge-blind baseline);
- :func:`from_hints` and :data:`METHODS`, the registry of colourisers: ``"levin"`` and
  ``"nearest"``, and ``"network"``: Zhang et al. 2017's local hints network (:mod:`.hintnet`,
  :func:`hint_network`, the shipped ``assets/colorize/hintnet.safetensors``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..color import lab_to_rgb, rgb_to_lab
from .hints import (
    VERSION,
    Hint,
    HintError,
    check_hints,
    hint_maps,
    load_hints,
    sample_hints,
    save_hints,
)
from .levin import EPS, KAPPA, levin_solve, levin_weights, nearest_fill

# automatic colourisation (Zhang, Isola & Efros 2016): .automatic, .nets, .recipes, .world, .zhang2016
from . import zhang2016  # isort: skip
from .automatic import (  # isort: skip
    automatic, export, list_pretrained, load_model, load_pretrained, photo_scores, predict_ab,
    pretrained_info, train, training_data, world_scores,
)
from .nets import ColorNet, FeatureLoss, lab_rgb  # isort: skip
from .recipes import (  # isort: skip
    DEFAULT_MODEL, GREY_PHOTOS, HELD_OUT_PHOTOS, RECIPES, STAGES, TRAIN_PHOTOS, recipe,
)
from .world import BALL_COLOURS, BALL_L, CLASSES, World, chroma, world  # isort: skip
# user-guided colourisation (Zhang et al. 2017): .hintnet, .hintnet_train
from .hintnet import (  # isort: skip
    HINT_HELD_OUT_PHOTOS, HINT_TRAIN_PHOTOS, HINTNET_RECIPE, HintNet, encode, hint_network,
    hintnet_info, load_hintnet, pretrained_hintnet, pull_push, save_hintnet,
)
from .hintnet_train import (  # isort: skip
    hint_scores, patch_hints, sample_count, sample_patches, simulate_hints, train_hintnet,
)
from .zhang2016 import (  # isort: skip
    ab_bins, annealed_mean, classification_loss, empirical_prior, pixel_weights, rebalance_weights,
    regression_loss, soft_encode,
)

__all__ = ["from_hints", "METHODS", "lightness", "HintError", "Hint", "check_hints", "hint_maps",
           "sample_hints", "save_hints", "load_hints", "VERSION", "levin_weights", "levin_solve",
           "nearest_fill", "EPS", "KAPPA",
           # automatic colourisation (Zhang et al. 2016): .automatic, .nets, .recipes, .world, .zhang2016
           "automatic", "predict_ab", "train", "training_data", "export", "load_model",
           "list_pretrained", "pretrained_info", "load_pretrained", "world_scores", "photo_scores",
           "ColorNet", "FeatureLoss",
           "lab_rgb", "RECIPES", "STAGES", "TRAIN_PHOTOS", "HELD_OUT_PHOTOS", "GREY_PHOTOS",
           "DEFAULT_MODEL", "recipe", "World", "world", "chroma", "CLASSES", "BALL_COLOURS", "BALL_L",
           "zhang2016", "ab_bins", "soft_encode", "empirical_prior", "rebalance_weights",
           "pixel_weights", "classification_loss", "annealed_mean", "regression_loss",
           # user-guided colourisation (Zhang et al. 2017): .hintnet, .hintnet_train
           "HintNet", "HINTNET_RECIPE", "HINT_TRAIN_PHOTOS", "HINT_HELD_OUT_PHOTOS", "encode",
           "sample_count", "sample_patches", "patch_hints", "simulate_hints", "pull_push",
           "train_hintnet", "save_hintnet", "load_hintnet", "pretrained_hintnet", "hintnet_info",
           "hint_network", "hint_scores"]

# A colouriser: fn(L, mask, ab, **options) -> ab_out, with L (1,1,H,W) CIE lightness in [0, 100],
# mask (1,1,H,W) bool (True at hints), ab (1,2,H,W) the hints' chroma (0 elsewhere), and ab_out
# (1,2,H,W) the chroma of every pixel. These are Zhang et al. 2017's network inputs and output.
Colorizer = Callable[..., torch.Tensor]


def _levin(L: torch.Tensor, mask: torch.Tensor, ab: torch.Tensor, eps: float = EPS,
           kappa: float = KAPPA) -> torch.Tensor:
    """Levin et al. 2004, eq. 1 (see :func:`levin_solve`), on Y = L / 100."""
    Y = (L[0, 0] / 100).detach().cpu().double().numpy()
    out = levin_solve(Y, mask[0, 0].cpu().numpy(), ab[0].detach().cpu().double().numpy(), eps, kappa)
    return torch.from_numpy(out)[None]


def _nearest(L: torch.Tensor, mask: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    """Nearest-hint fill (see :func:`nearest_fill`); L is not used."""
    return torch.from_numpy(nearest_fill(mask[0, 0].cpu().numpy(), ab[0].detach().cpu().numpy()))[None]


METHODS: dict[str, Colorizer] = {"levin": _levin, "nearest": _nearest, "network": hint_network}


def lightness(image: torch.Tensor) -> torch.Tensor:
    """CIE L (0–100) of one image, (1,1,H,W) float64: all that :func:`from_hints` reads of it.

    Takes (1,3,H,W) or (3,H,W) RGB in [0, 1], or a (1,1,H,W) / (1,H,W) grey image.
    """
    if not isinstance(image, torch.Tensor):
        raise TypeError(f"image must be a tensor (1,3,H,W) in [0,1], not {type(image).__name__}")
    x = image.detach()
    x = x.unsqueeze(0) if x.ndim == 3 else x
    if x.ndim != 4 or x.shape[0] != 1 or x.shape[1] not in (1, 3):
        raise ValueError(f"expected one image (1,3,H,W), (3,H,W) or grey (1,1,H,W), "
                         f"got {tuple(image.shape)}")
    if not torch.isfinite(x).all():
        raise ValueError("the image has NaN or infinite values")
    x = x.double().expand(1, 3, *x.shape[-2:])
    return rgb_to_lab(x)[:, :1]


def from_hints(image: torch.Tensor, hints, method: str = "levin", **options) -> torch.Tensor:
    """Levin et al. 2004, eq. 1 (or another of :data:`METHODS`): colour ``image`` from ``hints``.

    ``hints`` is a list of ``(y, x, (r, g, b))``, pixel coordinates and colours in [0, 1];
    the hints' lightness is ignored, only the image's L is used (its colours never are).
    ``options`` go to the method (``levin``: ``eps``, the floor on σ_r², and ``kappa``,
    σ_r² / window variance). No hints → the grey
    image. Returns (1,3,H,W) RGB in [0, 1] (out-of-gamut Lab clipped), float32 on the image's
    device.
    """
    if method not in METHODS:
        raise ValueError(f"unknown colourisation method {method!r}; available: "
                         f"{', '.join(sorted(METHODS))}")
    L = lightness(image)
    mask, ab = hint_maps(hints, L.shape[-2:], dtype=torch.float64, device=L.device)
    ab_out = METHODS[method](L, mask, ab, **options)
    rgb = lab_to_rgb(torch.cat([L, ab_out.to(L)], 1), clip=True)
    return rgb.to(device=image.device, dtype=torch.float32)
