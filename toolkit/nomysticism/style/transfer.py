"""Gatys, Ecker & Bethge 2015: the whole method — content + style, minimised over the pixels.

:func:`transfer` composes the named steps of :mod:`~nomysticism.style.stages`: the recipe
(:func:`~nomysticism.style.recipe`), the prepared styles, the coarse-to-fine schedule, the
precision, and per stage the objective of eq. 7 and its optimisation. It returns a
:class:`StyleResult`.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import torch

from ..images import resize
from ..models import LayeredNet
from ..runtime import module_device
from . import stages
from .objective import Objective
from .recipes import get_network, recipe

__all__ = ["transfer", "StyleResult"]


@dataclass
class StyleResult:
    """What :func:`transfer` returns: ``.image`` (1,3,H,W) on the CPU, in [0,1]; ``.history``.

    ``history`` is a list of dicts, one per step plus one for the final image of each stage:
    ``step``, ``total``, ``content``, ``style``, ``tv`` (weighted terms) and ``style_layers`` /
    ``content_layers`` (each layer's *weighted* term), ``size``. ``settings`` records the arguments
    used (layer weights included). Unpacks as ``image, history = transfer(...)``.
    """

    image: torch.Tensor
    history: list[dict]
    settings: dict = field(default_factory=dict)
    seconds: float = 0.0
    stopped: bool = False

    def __iter__(self):
        return iter((self.image, self.history))

    @property
    def losses(self) -> list[float]:
        return [h["total"] for h in self.history]


def transfer(
    content: torch.Tensor | None,
    style: torch.Tensor | Sequence[torch.Tensor] | None,
    *,
    size: int | Sequence[int] = 256,
    steps: int | Sequence[int] = 200,
    content_layers: str | Iterable[str] | Mapping[str, float] | None = None,
    style_weights: Mapping[str, float] | Iterable[str] | None = None,
    content_weight: float | None = None,
    tv_weight: float | None = None,
    tv_exponent: float = 1.0,
    range_weight: float = 1e5,
    style_blend: Sequence[float] | None = None,
    style_scale: float = 1.0,
    init: str | torch.Tensor = "content",
    optimizer: str = "lbfgs",
    lr: float | None = None,
    network: str | LayeredNet = "efficientnet_lite0",
    statistic: str = "gram",
    normalize: str = "paper",
    preserve_colors: str | None = None,
    palette: int | None = None,
    seed: int = 0,
    device=None,
    precision: str = "fp32",
    channels_last: bool | None = None,
    callback: Callable | None = None,
    callback_every: int = 10,
    stop: threading.Event | None = None,
    progress: bool = True,
) -> StyleResult:
    """Gatys et al. 2015, eq. 7: L = α L_content + β L_style (+ γ TV), minimised over the pixels.

    Arguments (all images (1,3,H,W) in [0,1]):

    - ``content``: the photo, or None (texture synthesis: style only).
    - ``style``: one image, a list of images (blended with ``style_blend`` weights, normalised to
      sum 1: the target Gram is Σ_s b_s A_s as in jcjohnson's ``-style_blend_weights``), or None
      (content reconstruction).
    - ``size``: the longer side of the result; a list (e.g. ``[128, 256]``) runs coarse to fine,
      each stage starting from the previous result upsampled. ``steps`` is an int per stage or a list.
      The style is resized to ``style_scale × size``.
    - ``content_layers``: names (weight 1 each), or ``{layer: weight}``; ``style_weights``:
      ``{layer: w_l}``, or names (each with its :data:`DEFAULTS` weight, else the median default
      weight). None takes :data:`DEFAULTS` for the network. A weight of 0 drops the layer. ``content_weight`` (α)
      and ``tv_weight`` (γ; TV is divided by H·W) likewise. β is folded into the w_l.
      ``range_weight``: L-BFGS optimises unconstrained pixels; this penalty, range_weight·mean
      (x − clamp(x, 0, 1))², keeps them in [0, 1] so that the final clamp changes little (Adam
      clamps after each step instead and ignores it).
    - ``init``: ``"content"``, ``"noise"`` (uniform, ``seed``) or a tensor.
    - ``optimizer``: ``"lbfgs"`` (the paper's choice; one *step* = one L-BFGS iteration, one forward
      and backward pass) or ``"adam"`` (``lr`` defaults to 0.02).
    - ``network``: a name (``"efficientnet_lite0"`` offline; ``"vgg19"`` the paper's, loaded with
      average pooling) or a LayeredNet. It runs only up to the deepest layer used.
    - ``statistic``: ``"gram"`` (eq. 3) or ``"mean"`` (channel means: the seed's experiment).
      ``normalize``: Gram normalisation, ``"paper"`` or ``"chw"`` (see the package docstring).
    - ``preserve_colors``: None; ``"original_colors"`` (jcjohnson: the result's luminance with the
      content's chroma, after the optimisation); ``"luminance"`` (Gatys et al. 2016: transfer on
      luminance only, style luminance matched to the content's mean/std, then the content's chroma).
    - ``palette``: reduce the style image(s), at the working size, to this many colours
      (:func:`quantize_colors`) before extracting their features.
    - ``precision``: ``"fp32"``, ``"tf32"`` (cuda matmul/conv in TF32) or ``"bf16"`` (autocast for
      the network; Grams and losses stay float32). ``channels_last`` (default: on cuda) feeds the
      network NHWC tensors (the optimised image itself stays NCHW for L-BFGS).
    - ``callback(step, image, losses)`` (or ``callback(progress)``, see :mod:`nomysticism.progress`)
      on the first step of each size, every ``callback_every`` steps after it, on its last step and
      once more after a stop (``image`` a detached CPU copy, ``losses`` the history entry); returning
      True stops. ``stop`` (a threading.Event) ends the loop early and returns the current image;
      ``progress`` shows a tqdm bar.

    Returns a :class:`StyleResult` (``.image``, ``.history``, ``.settings``, ``.seconds``); it also
    unpacks as ``image, history``.
    """
    if content is None and style is None:
        raise ValueError("give a content image, a style image, or both")
    if optimizer not in ("lbfgs", "adam"):
        raise ValueError(f"optimizer must be 'lbfgs' or 'adam', not {optimizer!r}")
    if statistic not in ("gram", "mean"):
        raise ValueError(f"statistic must be 'gram' or 'mean', not {statistic!r}")
    if preserve_colors not in (None, "original_colors", "luminance"):
        raise ValueError(f"preserve_colors must be None, 'original_colors' or 'luminance', not {preserve_colors!r}")
    if precision not in ("fp32", "tf32", "bf16"):
        raise ValueError(f"precision must be 'fp32', 'tf32' or 'bf16', not {precision!r}")

    net = get_network(network, device)
    dev = module_device(net)
    weights = recipe(net, content=content is not None, style=style is not None,
                     content_layers=content_layers, style_weights=style_weights,
                     content_weight=content_weight, tv_weight=tv_weight)
    styles = stages.prepare_styles(content, style, style_blend, preserve_colors, scale=style_scale,
                                   palette=palette, seed=seed)
    schedule = stages.coarse_to_fine(size, steps)
    settings = {
        "network": net.name, "size": [s for s, _ in schedule], "steps": [n for _, n in schedule],
        **{k: dict(v) if isinstance(v, dict) else v for k, v in weights.items()},
        "tv_exponent": tv_exponent, "range_weight": range_weight, "style_blend": styles.blend,
        "style_scale": style_scale, "init": init if isinstance(init, str) else "tensor",
        "optimizer": optimizer, "statistic": statistic, "normalize": normalize,
        "preserve_colors": preserve_colors, "palette": palette, "precision": precision,
    }
    output = functools.partial(stages.picture, content=content if preserve_colors is not None else None)
    history: list[dict] = []
    t0 = time.perf_counter()
    gen = torch.Generator(device="cpu").manual_seed(seed)
    x = None
    with (stages.precision_mode(net, precision, channels_last) as numerics,
          stages.StageLoop(sum(settings["steps"]), progress=progress, callback=callback,
                           every=callback_every, stop=stop, desc="style transfer") as loop):
        for sz, n_steps in schedule:  # coarse to fine; each stage starts from the last, upsampled
            hw = stages.stage_shape(styles.content, styles.images[0] if styles.images else None, sz)
            c_img = resize(styles.content.float(), hw).to(dev) if styles.content is not None else None
            objective = Objective(net, c_img, styles.at(sz, dev), styles.blend, **weights,
                                  tv_exponent=tv_exponent, statistic=statistic, normalize=normalize,
                                  autocast=numerics.autocast, memory_format=numerics.memory_format,
                                  range_weight=range_weight if optimizer == "lbfgs" else 0.0)
            x0 = stages.initial_image(x, init, c_img, hw, gen)
            x = stages.optimise(x0, objective, loop, n_steps, optimizer=optimizer, lr=lr, size=sz,
                                history=history, output=output)
            if loop.stopped:
                break
    image = output(x)
    if loop.stopped:  # one last callback, with the final image and its losses
        loop.report(loop.step, image=image, info=history[-1], force=True)
    return StyleResult(image=image, history=history, settings=settings,
                       seconds=time.perf_counter() - t0, stopped=loop.stopped)
