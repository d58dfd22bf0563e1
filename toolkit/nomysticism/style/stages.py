"""The named steps of Gatys et al. 2015's method, as :func:`~nomysticism.style.transfer` composes them.

    styles = prepare_styles(content, style, blend, preserve_colors)     # what the loss sees
    with precision_mode(net, precision) as numerics, StageLoop(...) as loop:
        for size, steps in coarse_to_fine(size, steps):                 # coarse to fine
            objective = Objective(net, content at size, styles.at(size), ...)   # eq. 7
            x = optimise(initial_image(x, init, ...), objective, loop, steps)   # L-BFGS / Adam

- :func:`prepare_styles` → :class:`Styles`: colour preservation by luminance-only transfer
  (Gatys et al. 2016), the blend weights b_s (Σ b_s = 1) and, per stage, the resized and
  palette-reduced style images;
- :func:`coarse_to_fine`, :func:`stage_shape`, :func:`initial_image`: the size/steps schedule and
  where each stage starts (the content, noise, a given image, or the previous stage upsampled);
- :func:`precision_mode`: TF32 / bf16 autocast / channels_last for one run, the global TF32 flags
  restored afterwards;
- :class:`StageLoop` and :func:`optimise`: the optimisation of one stage, under the
  :mod:`~nomysticism.progress` contract; :func:`picture`: the result as shown and returned.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..images import resize
from ..models import LayeredNet
from ..progress import Loop
from ..runtime import autocast, memory_format, module_device
from .colors import match_luminance, original_colors, quantize_colors, rgb_to_yuv
from .objective import Objective, history_entry

__all__ = ["Styles", "prepare_styles", "coarse_to_fine", "stage_shape", "initial_image", "Numerics",
           "precision_mode", "StageLoop", "optimise", "picture"]


# ------------------------------------------------------------------------------------------------
# (a) the style images: colour, palette, blend weights
# ------------------------------------------------------------------------------------------------


def _grey(y: torch.Tensor) -> torch.Tensor:
    return y.clamp(0, 1).expand(-1, 3, -1, -1).contiguous()


@dataclass
class Styles:
    """The inputs as the loss sees them: ``images`` (the styles), ``blend`` (b_s, Σ = 1), ``content``.

    Under luminance-only transfer ``images`` and ``content`` are grey. :meth:`at` gives the style
    images of one stage.
    """

    images: list[torch.Tensor]
    blend: list[float]
    content: torch.Tensor | None
    scale: float = 1.0
    palette: int | None = None
    seed: int = 0

    def at(self, size: int, device=None) -> list[torch.Tensor]:
        """The style images for a stage: longer side ``scale × size``, then ``palette`` colours."""
        imgs = [resize(s.float(), max(8, round(self.scale * size))) for s in self.images]
        if self.palette:  # after resizing, so that no blended colours come back
            imgs = [quantize_colors(s, int(self.palette), seed=self.seed) for s in imgs]
        return [s.to(device) for s in imgs]


def prepare_styles(content: torch.Tensor | None, style: torch.Tensor | Sequence[torch.Tensor] | None,
                   blend: Sequence[float] | None = None, preserve_colors: str | None = None, *,
                   scale: float = 1.0, palette: int | None = None, seed: int = 0) -> Styles:
    """Gatys et al. 2016, luminance-only transfer, and jcjohnson's blend weights: the style targets' images.

    ``blend`` weights are normalised to sum 1 (the target Gram is Σ_s b_s A_s). With
    ``preserve_colors="luminance"`` each style becomes its luminance matched to the content's
    (:func:`~nomysticism.style.match_luminance`) and the content its luminance.
    """
    styles = [] if style is None else ([style] if isinstance(style, torch.Tensor) else list(style))
    if blend is None:
        blend = [1.0] * len(styles)
    if len(blend) != len(styles):
        raise ValueError(f"{len(styles)} style images but {len(blend)} blend weights")
    bsum = float(sum(blend)) or 1.0
    blend = [float(b) / bsum for b in blend]
    if preserve_colors == "luminance":
        if content is not None:
            styles = [match_luminance(s, content) for s in styles]
            content = _grey(rgb_to_yuv(content)[:, :1])
        else:
            styles = [_grey(rgb_to_yuv(s)[:, :1]) for s in styles]
    return Styles(styles, blend, content, scale=scale, palette=palette, seed=seed)


# ------------------------------------------------------------------------------------------------
# (b) coarse to fine
# ------------------------------------------------------------------------------------------------


def coarse_to_fine(size: int | Sequence[int], steps: int | Sequence[int]) -> list[tuple[int, int]]:
    """The schedule: ``[(size, steps), …]``, one stage per size (``steps`` one count for all, or one each)."""
    sizes = [int(size)] if isinstance(size, (int, float)) else [int(s) for s in size]
    counts = [int(steps)] * len(sizes) if isinstance(steps, (int, float)) else [int(s) for s in steps]
    if len(counts) != len(sizes):
        raise ValueError(f"{len(sizes)} sizes but {len(counts)} step counts")
    return list(zip(sizes, counts))


def stage_shape(content: torch.Tensor | None, style: torch.Tensor | None, size: int) -> tuple[int, int]:
    """(H, W) of a stage: the content's aspect ratio (else the style's), longer side ``size``."""
    ref = content if content is not None else style
    h, w = ref.shape[-2:]
    s = size / max(h, w)
    return max(8, round(h * s)), max(8, round(w * s))


def initial_image(previous: torch.Tensor | None, init: str | torch.Tensor, content: torch.Tensor | None,
                  shape: tuple[int, int], generator: torch.Generator) -> torch.Tensor:
    """Where a stage starts: the previous stage upsampled, else ``init`` (a tensor, ``"content"``, ``"noise"``)."""
    if previous is not None:
        return F.interpolate(previous, size=shape, mode="bilinear", align_corners=False)
    if isinstance(init, torch.Tensor):
        return resize(init.float(), shape)
    if init == "content" and content is not None:
        return content.clone()
    if init in ("noise", "content"):  # "content" without a content image: texture synthesis
        return torch.rand((1, 3, *shape), generator=generator)
    raise ValueError(f"init must be 'content', 'noise' or a tensor, not {init!r}")


# ------------------------------------------------------------------------------------------------
# (c) precision
# ------------------------------------------------------------------------------------------------


@dataclass
class Numerics:
    """What :func:`precision_mode` yields: ``autocast()`` (a context for the network) and its ``memory_format``."""

    autocast: Callable[[], contextlib.AbstractContextManager]
    memory_format: torch.memory_format


@contextlib.contextmanager
def precision_mode(net: LayeredNet, precision: str = "fp32", channels_last: bool | None = None):
    """The numerics of one run: TF32 (``"tf32"``, ``"bf16"``), bf16 autocast, channels_last; yields :class:`Numerics`.

    On CUDA the global TF32 flags are set for the run and restored after it. ``channels_last``
    (default: on CUDA) converts ``net`` (it stays converted) and feeds it NHWC tensors. Grams and
    losses stay float32 (:mod:`~nomysticism.losses`).
    """
    if precision not in ("fp32", "tf32", "bf16"):
        raise ValueError(f"precision must be 'fp32', 'tf32' or 'bf16', not {precision!r}")
    dev = module_device(net)
    cuda = dev.type == "cuda"
    flags = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    fmt = memory_format(dev, channels_last)
    try:
        if cuda:
            torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = precision != "fp32"
        if fmt == torch.channels_last:
            net.to(memory_format=torch.channels_last)
        # bf16 runs on cuda (fast) or cpu (slow, but the same code path, for tests)
        yield Numerics(lambda: autocast(dev, precision == "bf16"), fmt)
    finally:
        if cuda:
            torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = flags


# ------------------------------------------------------------------------------------------------
# (d) the optimisation of one stage
# ------------------------------------------------------------------------------------------------


class StageLoop(Loop):
    """:class:`~nomysticism.progress.Loop` over all stages (one bar), taken ``n`` steps at a time by :meth:`stage`.

    The callback comes on the first step of each stage, every ``every`` steps after it and on the
    stage's last step. A context manager: the bar closes on exit.
    """

    def __init__(self, total: int, **kw):
        super().__init__(total, **kw)
        self._steps = iter(self)
        self.first = self.last = 0

    def stage(self, n: int):
        """The next ``n`` step indices (fewer if stopped)."""
        self.first, self.last = self.step + 1, self.step + n
        return (i for i, _ in zip(range(n), self._steps))

    def due(self, step: int) -> bool:
        return self.callback is not None and ((step - self.first) % self.every == 0 or step == self.last)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._steps.close()
        self.bar.close()


def optimise(x0: torch.Tensor, objective: Objective, loop: StageLoop, steps: int, *, optimizer: str = "lbfgs",
             lr: float | None = None, size: int = 0, history: list[dict],
             output: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
    """Gatys et al. 2015: minimise eq. 7 over the pixels for ``steps`` L-BFGS (the paper's) or Adam steps.

    One step is one forward and backward pass. Appends a history entry per step, then one
    (``"final": True``) for the clamped result, which it returns. ``loop.report`` shows
    ``output(x)`` to the callback (default: :func:`picture`).
    """
    output = output or picture
    x = x0.detach().to(module_device(objective.net)).float().contiguous().requires_grad_(True)  # NCHW for L-BFGS
    if optimizer == "lbfgs":
        opt = torch.optim.LBFGS([x], lr=lr or 1.0, max_iter=1, history_size=100,
                                tolerance_grad=0.0, tolerance_change=0.0)
    else:
        opt = torch.optim.Adam([x], lr=lr or 0.02)
    last: dict = {}

    def closure():
        opt.zero_grad(set_to_none=True)
        loss, parts = objective(x)
        loss.backward()
        last["loss"], last["parts"] = loss.detach(), parts
        return loss

    for _ in loop.stage(steps):
        opt.step(closure)
        if optimizer == "adam":  # Adam clamps; L-BFGS has the range penalty
            with torch.no_grad():
                x.clamp_(0, 1)
        rec = history_entry(loop.step, last["loss"], last["parts"], size)
        history.append(rec)
        loop.report(loop.step + 1, image=lambda: output(x), info=rec, postfix={"loss": f"{rec['total']:.4g}"})
        if not math.isfinite(rec["total"]):
            raise FloatingPointError(f"the loss became {rec['total']} at step {loop.step}; "
                                     "lower the weights or lr")
    x = x.detach().clamp(0, 1)
    with torch.no_grad():
        loss, parts = objective(x)
    history.append(history_entry(loop.step, loss, parts, size) | {"final": True})
    return x


def picture(x: torch.Tensor, content: torch.Tensor | None = None) -> torch.Tensor:
    """The result as returned: clamped to [0, 1], float32, on the CPU.

    With ``content``, its chroma (Gatys et al. 2016, :func:`~nomysticism.style.original_colors`).
    """
    img = x.detach().float().clamp(0, 1).cpu()
    if content is not None:
        img = original_colors(img, content.detach().float().cpu())
    return img.contiguous()
