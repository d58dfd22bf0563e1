"""Feed-forward stylisation: Ulyanov et al. 2016 (texture networks, instance norm) and
Johnson et al. 2016 (perceptual losses, ``TransformerNet``), with training, inference and video.

Gatys et al. optimise the *pixels* of one image for minutes. These papers train a *network* once
to minimise the same losses over many content images; stylising is then a single forward pass.

>>> model = load_pretrained("mosaic")                 # shipped, trained by scripts/train_fast_style.py
>>> out = stylize(model, nm.sample_image("chelsea"))  # (1,3,H,W) in [0,1]

Pieces (names follow the papers), one file per paper or concern:

- :class:`InstanceNorm2d` (Ulyanov, Vedaldi & Lempitsky 2016, eq. 2), :func:`make_norm`,
  :class:`ConvLayer`, :class:`ResidualBlock`: the shared blocks of :mod:`nomysticism.blocks`, with
  ``norm="batch"`` as the comparison everywhere a norm is chosen;
- ``texture_net``: :class:`TextureNetwork` (Ulyanov et al. 2016, fig. 2): a noise pyramid,
  :class:`ConvBlock`, :class:`JoinBlock`;
- ``transformer_net``: :class:`TransformerNet` (Johnson et al. 2016, table 1 / pytorch/examples):
  reflection padding, strided convs down, 5 residual blocks, :class:`UpsampleConvLayer` up,
  instance norm;
- ``perceptual``: :class:`PerceptualLoss` (Johnson et al. 2016, eqs. 2–5): VGG-16
  relu1_2/2_2/3_3/4_3 with content at relu2_2, or the offline ``efficientnet_lite0`` layers
  (:data:`LOSS_LAYERS`, :func:`loss_network`), plus total variation;
- ``recipes``: :data:`RECIPES`, the one set of training settings (``"default"`` = :func:`train`'s
  defaults, ``"cli"``, ``"cpu_demo"`` = the shipped ``mosaic``, ``"cpu_texture"``);
- ``training``: :func:`train` (atomic checkpoints, bit-for-bit resume, bf16/channels_last on GPU);
- ``pretrained``: :func:`export`, :func:`load_model`, :func:`build_model`, :func:`list_pretrained`,
  :func:`pretrained_info`, :func:`load_pretrained`;
- ``inference``: :func:`stylize`;
- ``video``: :func:`stylize_frames`, :func:`stylize_video` (streamed, optional Farneback-flow
  temporal blending), :func:`synthetic_clip`; and from the core: :func:`flicker`
  (:mod:`nomysticism.metrics`), :func:`read_video`, :func:`write_video` (:mod:`nomysticism.video`),
  :func:`farneback_flow`, :func:`warp` (:mod:`nomysticism.flow`).

Training data: any image folder (COCO train2014 for real use: ``train(..., data="coco/train2014")``
at 256 px, batch 4, 2 epochs ≈ 40k steps as in the paper), or offline the bundled photos
(:func:`nomysticism.data.random_crops`).
"""

from __future__ import annotations

from ..blocks import ConvLayer, InstanceNorm2d, ResidualBlock, make_norm
from ..flow import farneback as farneback_flow
from ..flow import warp
from ..metrics import flicker
from ..video import read_video, write_video
from .inference import _as_style_image, stylize
from .perceptual import (
    LOSS_LAYERS,
    PerceptualLoss,
    feature_reconstruction_loss,
    loss_network,
    style_reconstruction_loss,
)
from .pretrained import (
    _build,
    build_model,
    export,
    list_pretrained,
    load_model,
    load_pretrained,
    pretrained_info,
)
from .recipes import RECIPES, STYLE_WEIGHTS, recipe, style_weight_for, train_kwargs
from .texture_net import ConvBlock, JoinBlock, TextureNetwork
from .training import _Batches, train
from .transformer_net import TransformerNet, UpsampleConvLayer
from .video import KEEP_FRAMES_BYTES, stylize_frames, stylize_video, synthetic_clip

__all__ = [
    "InstanceNorm2d",
    "make_norm",
    "ConvLayer",
    "ResidualBlock",
    "UpsampleConvLayer",
    "TransformerNet",
    "ConvBlock",
    "JoinBlock",
    "TextureNetwork",
    "LOSS_LAYERS",
    "PerceptualLoss",
    "feature_reconstruction_loss",
    "style_reconstruction_loss",
    "loss_network",
    "RECIPES",
    "STYLE_WEIGHTS",
    "recipe",
    "train_kwargs",
    "style_weight_for",
    "train",
    "build_model",
    "export",
    "load_model",
    "list_pretrained",
    "pretrained_info",
    "load_pretrained",
    "stylize",
    "read_video",
    "write_video",
    "synthetic_clip",
    "farneback_flow",
    "warp",
    "stylize_frames",
    "stylize_video",
    "KEEP_FRAMES_BYTES",
    "flicker",
]

_PRIVATE = (_as_style_image, _Batches, _build)  # reachable as fs._name (scripts and tests use them)
