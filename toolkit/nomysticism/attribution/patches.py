"""Zeiler & Fergus 2013: receptive fields, top patches and deconvnet projections.

Sec. 2.1: to see what one unit of a layer responds to, set every other activation of that layer
to zero and pass the map down a *deconvnet*: max-unpooling with the "switches" (the positions of
the maxima) recorded in the forward pass, rectification, and convolution with the transposed
filters Fᵀ. Fig. 2 shows, for a channel, the 9 strongest activations over a data set, each as its
image patch (the unit's receptive field) and its projection.

Pieces: :func:`receptive_field` (size, jump, start in pixels), :class:`TopPatches` and
:func:`top_patches`, :func:`deconv_projection` (explicit switches, or autograd with the deconvnet
rule of :mod:`.rules`).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from ..progress import Loop
from ..runtime import module_device
from .display import to_rgb
from .gradients import _prepare
from .rules import modified_backprop

__all__ = ["receptive_field", "TopPatches", "top_patches", "deconv_projection"]


def _layers_upto(model, layer: str) -> list[tuple[str, nn.Module]]:
    if not hasattr(model, "layers"):
        raise TypeError("Zeiler–Fergus tools need a LayeredNet (nm.models.load(...))")
    model.check_layers([layer])
    out = []
    for name, m in model.layers.named_children():
        out.append((name, m))
        if name == layer:
            break
    return out


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def receptive_field(model, layer: str) -> tuple[int, int, float]:
    """Zeiler & Fergus 2013, fig. 2: the receptive field of one unit of ``layer``, (size, jump,
    start) in input pixels.

    The unit at (i, j) is centred on pixel coordinate (start + i·jump, start + j·jump) and sees a
    size×size window (Conv2d, MaxPool2d and AvgPool2d along the main path; residual branches never
    enlarge it).
    """
    r, j, start = 1, 1, 0.5
    for _, block in _layers_upto(model, layer):
        for m in block.modules():
            if isinstance(m, nn.Conv2d):
                k, s, d = m.kernel_size[0], m.stride[0], m.dilation[0]
                p = m.padding[0] if not isinstance(m.padding, str) else (d * (k - 1)) // 2
            elif isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
                k, s = _pair(m.kernel_size)[0], _pair(m.stride or m.kernel_size)[0]
                p = _pair(m.padding)[0]
                d = _pair(getattr(m, "dilation", 1))[0]
            else:
                continue
            k = d * (k - 1) + 1
            start += ((k - 1) / 2 - p) * j
            r += (k - 1) * j
            j *= s
    return r, j, start


class TopPatches(NamedTuple):
    """The k strongest units of one channel over a set of images (one per image, as in Zeiler &
    Fergus' fig. 2). patches/projections: (k,3,P,P); activations: (k,); image_index: (k,);
    positions: (k,2) unit (row, col) in the layer; boxes: (k,4) pixel (y0, x0, y1, x1)."""

    patches: torch.Tensor
    projections: torch.Tensor | None
    activations: torch.Tensor
    image_index: torch.Tensor
    positions: torch.Tensor
    boxes: torch.Tensor


def _crop(x: torch.Tensor, box, fill: float) -> torch.Tensor:
    """Crop (C,H,W) to box (y0,x0,y1,x1), padding with ``fill`` outside the image."""
    y0, x0, y1, x1 = box
    c, h, w = x.shape
    out = torch.full((c, y1 - y0, x1 - x0), fill, dtype=x.dtype)
    sy0, sx0, sy1, sx1 = max(y0, 0), max(x0, 0), min(y1, h), min(x1, w)
    if sy1 > sy0 and sx1 > sx0:
        out[:, sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = x[:, sy0:sy1, sx0:sx1].cpu()
    return out


@torch.no_grad()
def _channel_maxima(model, images, layer, channel, batch_size, progress):
    """The strongest unit of ``channel`` per image: (values (N,), positions (N,2))."""
    dev = module_device(model)
    vals, pos = [], []
    starts = range(0, len(images), batch_size)
    loop = Loop(len(starts), progress=progress, desc=f"{layer}[{channel}]")
    for b in loop:
        s = starts[b]
        a = model.features(images[s : s + batch_size].to(dev), [layer])[layer][:, channel]
        v, idx = a.flatten(1).max(1)
        vals.append(v.float().cpu())
        w = a.shape[-1]
        pos.append(torch.stack([idx // w, idx % w], 1).cpu())
        loop.report(b + 1)
    loop.finish()
    return torch.cat(vals), torch.cat(pos)


def top_patches(model, images: torch.Tensor, layer: str, channel: int, k: int = 9,
                project: bool = True, batch_size: int = 64, progress: bool = False,
                rule: str = "deconvnet") -> TopPatches:
    """Zeiler & Fergus 2013, fig. 2: the ``k`` image patches that excite ``channel`` of ``layer``
    most (the strongest unit per image), with their deconvnet projections (:func:`deconv_projection`)
    cropped to the same receptive-field window (``rule='guided'``: guided reconstructions)."""
    vals, pos = _channel_maxima(model, images, layer, channel, batch_size, progress)
    k = min(k, len(vals))
    top = vals.topk(k).indices
    r, j, start = receptive_field(model, layer)
    patches, projs, boxes = [], [], []
    for i in top.tolist():
        yy, xx = pos[i].tolist()
        y0 = int(math.floor(start + yy * j - r / 2 + 0.5))
        x0 = int(math.floor(start + xx * j - r / 2 + 0.5))
        box = (y0, x0, y0 + r, x0 + r)
        boxes.append(box)
        patches.append(_crop(images[i], box, 0.5))
        if project:
            p = deconv_projection(model, images[i : i + 1], layer, channel, position=(yy, xx),
                                  rule=rule)
            projs.append(_crop(to_rgb(p)[0], box, 0.5))
    return TopPatches(
        torch.stack(patches), torch.stack(projs) if project else None, vals[top], top,
        pos[top], torch.tensor(boxes),
    )


class _Unsupported(Exception):
    pass


def _unit_seed(a: torch.Tensor, channel: int, position):
    """Zero every activation of the layer except one unit of ``channel`` (its maximum by default)."""
    m = a[0, channel]
    if position is None:
        idx = int(m.flatten().argmax())
        position = (idx // m.shape[-1], idx % m.shape[-1])
    seed = torch.zeros_like(a)
    seed[0, channel, position[0], position[1]] = a[0, channel, position[0], position[1]]
    return seed


def _project_switches(model, image, layer, channel, position):
    """The explicit deconvnet: unpool with recorded switches, rectify, transposed convolution."""
    steps = []
    for _, block in _layers_upto(model, layer):
        mods = [block] if not isinstance(block, nn.Sequential) else list(block)
        steps.extend(mods)
    ok = (nn.Conv2d, nn.ReLU, nn.MaxPool2d, nn.BatchNorm2d, nn.Dropout, nn.Identity)
    if not all(isinstance(m, ok) for m in steps):
        raise _Unsupported
    x = image.to(module_device(model), torch.float32)
    h = model.normalize(x)
    record = []
    with torch.no_grad():
        for m in steps:
            size = h.shape
            if isinstance(m, nn.MaxPool2d):
                h, switches = F.max_pool2d(h, m.kernel_size, m.stride, m.padding, m.dilation,
                                           m.ceil_mode, return_indices=True)
                record.append((m, size, switches))
            else:
                h = m(h)
                record.append((m, size, None))
        r = _unit_seed(h, channel, position)
        for m, size, switches in reversed(record):
            if isinstance(m, nn.MaxPool2d):  # max unpooling: put each value back where the max was
                r = F.max_unpool2d(r, switches, m.kernel_size, m.stride, m.padding,
                                   output_size=size[-2:])
            elif isinstance(m, nn.ReLU):  # rectify the reconstruction
                r = F.relu(r)
            elif isinstance(m, nn.Conv2d):  # transposed filters (the "deconvolution")
                out = F.conv_transpose2d(r, m.weight, None, m.stride, m.padding, 0, m.groups,
                                         m.dilation)
                ph, pw = size[-2] - out.shape[-2], size[-1] - out.shape[-1]
                r = F.conv_transpose2d(r, m.weight, None, m.stride, m.padding, (ph, pw),
                                       m.groups, m.dilation) if (ph or pw) else out
            elif isinstance(m, nn.BatchNorm2d):  # the transpose of its per-channel scale
                scale = m.weight / torch.sqrt(m.running_var + m.eps) if m.affine else \
                    1 / torch.sqrt(m.running_var + m.eps)
                r = r * scale.view(1, -1, 1, 1)
        return r / model.normalize.std


def _project_autograd(model, image, layer, channel, position, rule="deconvnet"):
    x = _prepare(model, image)
    with modified_backprop(rule):
        a = model.features(x, [layer])[layer]
    seed = _unit_seed(a.detach(), channel, position)
    (g,) = torch.autograd.grad(a, x, grad_outputs=seed)
    return g


def deconv_projection(model, image: torch.Tensor, layer: str, channel: int, position=None,
                      method: str = "auto", rule: str = "deconvnet") -> torch.Tensor:
    """Zeiler & Fergus 2013, sec. 2.1: project one unit of ``layer`` back to pixel space.

    All other activations of the layer are set to zero; the kept one (the channel's maximum, or
    ``position=(row, col)``) is passed down a deconvnet: max-unpooling with the switches recorded
    in the forward pass, rectification, and convolution with the transposed filters.
    ``method='switches'`` runs that explicitly (plain conv/BN/ReLU/max-pool nets such as VGG and
    shapesnet); ``'autograd'`` takes the gradient with the deconvnet ReLU rule, which is the same
    computation for those layers and also works for any other network; ``'auto'`` picks.
    ``rule='guided'`` (autograd only) gives Springenberg et al.'s guided reconstruction of the unit,
    which stays sharp in networks without max pooling (whose deconvnet has no switches).
    Returns a signed (1,3,H,W) image; show it with :func:`to_rgb`.
    """
    image = image if image.ndim == 4 else image.unsqueeze(0)
    if image.shape[0] != 1:
        raise ValueError("deconv_projection takes one image")
    if rule != "deconvnet":
        if method == "switches":
            raise ValueError("method='switches' is the deconvnet; other rules need method='autograd'")
        return _project_autograd(model, image, layer, channel, position, rule).to(image.device)
    if method in ("auto", "switches"):
        try:
            return _project_switches(model, image, layer, channel, position).to(image.device)
        except _Unsupported:
            if method == "switches":
                raise ValueError(f"{model.name} is not a plain conv/ReLU/max-pool stack up to "
                                 f"{layer!r}; use method='autograd'") from None
    elif method != "autograd":
        raise ValueError(f"method must be 'auto', 'switches' or 'autograd', not {method!r}")
    return _project_autograd(model, image, layer, channel, position).to(image.device)
