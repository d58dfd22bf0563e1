"""Gatys, Ecker & Bethge 2015: style = Gram matrices of CNN features; content = the features.

Image synthesis by optimising the *pixels* of an image x so that a fixed network sees in it the
content of one image (its feature maps F^l) and the style of another (the correlations between
feature maps, the Gram matrices G^l):

    L_total(x) = α Σ_l c_l L_content^l(x) + β Σ_l w_l E_l(x) + γ L_TV(x)        (eq. 7, plus TV)

The pieces, one file each:

- the losses, shared with the other topics (:mod:`nomysticism.losses`, re-exported here):
  :func:`gram_matrix` (eq. 3), :func:`content_loss` (eq. 1), :func:`style_loss` (eq. 4),
  :func:`channel_means` / :func:`mean_loss` (the seed's mean statistic), :func:`tv_loss`
  (Mahendran & Vedaldi 2015, the β exponent of the 2015 Lasagne code);
- ``recipes``: :data:`DEFAULTS` (one recipe of layers and weights per network), :func:`defaults`,
  :func:`recipe`, :func:`get_network`;
- ``colors``: :func:`rgb_to_yuv`, :func:`yuv_to_rgb` (BT.601, :mod:`nomysticism.color`),
  :func:`original_colors`, :func:`match_luminance` (Gatys et al. 2016, colour preservation),
  :func:`quantize_colors` (palette);
- ``objective``: :class:`Objective`, eq. 7 at one size;
- ``stages``: the named steps of the method — :func:`prepare_styles` (colour, palette, blend),
  :func:`coarse_to_fine` / :func:`initial_image` (the schedule), :func:`precision_mode`
  (tf32/bf16/channels_last), :func:`optimise` (one stage of L-BFGS or Adam);
- ``transfer``: :func:`transfer`, the whole method composed of those steps, and :class:`StyleResult`;
- ``synthesis``: :func:`synthesize_texture` (Gatys et al. 2015a, texture synthesis: style only,
  from noise) and :func:`reconstruct_content` (content only, from noise: what a layer remembers).

Normalisations of the Gram matrix. The Gram matrix of layer l with N_l filters and M_l = H·W
positions is G^l = F^l F^lᵀ (eq. 3). In use:

- ``"paper"``: raw G in the Gram, and the loss E_l = 1/(4 N_l² M_l²) Σ (G − A)² (eq. 4). E_l does not
  change with the image size (G grows like M, and the loss divides by M²). The default.
- ``"chw"``: G / (N_l·M_l) (the PyTorch tutorial, Johnson et al. 2016), loss = mean (G − A)²
  over the N_l² entries, i.e. 4 E_l / N_l².
- ``"none"``: raw G.

The content loss of the paper is a *sum*, ½ Σ (F − P)², so it grows with the image. :func:`transfer`
uses the mean, ½ mean (F − P)² (``content_loss(..., reduction="mean")``), so that one set of weights
works at every size: the paper's α equals our ``content_weight / (N_l M_l)``.

Which layers: the paper names VGG layers after Caffe blobs, and Caffe's ReLUs work in place, so
"conv4_2" in the paper *is* the rectified response, our ``relu4_2``. The VGG defaults therefore use
``relu4_2`` for content and ``relu1_1 … relu5_1`` for style (as jcjohnson's neural-style does).
See :data:`DEFAULTS` for every network's layers and weights, and how they were chosen.
"""

from __future__ import annotations

from ..losses import channel_means, content_loss, gram_matrix, mean_loss, style_loss, tv_loss
from .colors import match_luminance, original_colors, quantize_colors, rgb_to_yuv, yuv_to_rgb
from .objective import Objective, history_entry
from .recipes import DEFAULTS, MEAN_STAT_SCALE, defaults, get_network, recipe
from .stages import (
    Numerics,
    StageLoop,
    Styles,
    coarse_to_fine,
    initial_image,
    optimise,
    picture,
    precision_mode,
    prepare_styles,
    stage_shape,
)
from .synthesis import reconstruct_content, synthesize_texture
from .transfer import StyleResult, transfer

__all__ = [
    "gram_matrix",
    "channel_means",
    "content_loss",
    "style_loss",
    "mean_loss",
    "tv_loss",
    "transfer",
    "synthesize_texture",
    "reconstruct_content",
    "StyleResult",
    "DEFAULTS",
    "defaults",
    "get_network",
    "rgb_to_yuv",
    "yuv_to_rgb",
    "original_colors",
    "match_luminance",
    "quantize_colors",
    # the named steps of transfer
    "MEAN_STAT_SCALE",
    "recipe",
    "Objective",
    "history_entry",
    "Styles",
    "prepare_styles",
    "coarse_to_fine",
    "stage_shape",
    "initial_image",
    "Numerics",
    "precision_mode",
    "StageLoop",
    "optimise",
    "picture",
]
