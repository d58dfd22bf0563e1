"""Gatys, Ecker & Bethge 2015a (texture synthesis) and Gatys et al. 2015, Fig. 1 (content reconstructions).

Both are :func:`~nomysticism.style.transfer` with one of the two terms of eq. 7 left out, from noise:

- :func:`synthesize_texture`: the style term only (eq. 5 of the texture paper, Σ_l w_l E_l);
- :func:`reconstruct_content`: the content term only (eq. 1): what a layer remembers of an image.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import torch

from .transfer import StyleResult, transfer

__all__ = ["synthesize_texture", "reconstruct_content"]


def synthesize_texture(style: torch.Tensor | Sequence[torch.Tensor], *, size: int | Sequence[int] = 128,
                       steps: int | Sequence[int] = 200, style_weights: Mapping[str, float] | Iterable[str] | None = None,
                       **kw) -> StyleResult:
    """Gatys, Ecker & Bethge 2015a (texture synthesis), eq. 5: match the Gram matrices only, from noise.

    ``style_weights`` as in :func:`transfer` (a single layer gives the "reconstruction from layer l"
    of the paper's figure). The result has the style image's aspect ratio. Other keywords go to
    :func:`transfer`.
    """
    kw.setdefault("init", "noise")
    return transfer(None, style, size=size, steps=steps, style_weights=style_weights, **kw)


def reconstruct_content(image: torch.Tensor, layers: str | Iterable[str] | Mapping[str, float], *,
                        size: int = 128, steps: int = 200, **kw) -> StyleResult:
    """Gatys et al. 2015, Fig. 1 (content reconstructions): an image from noise whose features at ``layers`` match.

    One deep layer keeps the layout and loses the exact pixels (and colours); adding early layers
    brings them back. ``tv_weight`` defaults to 30: a deep layer is blind to much of the starting
    noise (its null space), and a little TV, as in Mahendran & Vedaldi 2015, lets that noise go.
    Other keywords go to :func:`transfer`.
    """
    kw.setdefault("init", "noise")
    kw.setdefault("tv_weight", 30.0)
    return transfer(image, None, size=size, steps=steps, content_layers=layers, **kw)
