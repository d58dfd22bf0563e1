"""What a CNN looks at: deconvnet, saliency, guided backprop, Grad-CAM, class models, DeepDream.

One contract for every attribution method, as in Captum: ``fn(model, image, target=None)`` takes
images (N,3,H,W) in [0,1] and returns a tensor shaped like the input (Grad-CAM: (N,1,H,W)).
``target=None`` means each image's top class; the score is the *pre-softmax* class score.

>>> net = nm.models.load("efficientnet_lite0")
>>> img = nm.sample_image("chelsea", 224)
>>> s = saliency(net, img)                       # |d score / d x|, Simonyan et al. 2014
>>> g = guided_backprop(net, img)                # Springenberg et al. 2015
>>> heat = heatmap(s)                            # max over colour channels, as in the paper

The three backprop methods differ only in the backward pass through the rectifiers, which
:func:`modified_backprop` swaps (in the spirit of the 2015 Lasagne ``ModifiedBackprop``):

=============  ==========================================  =================================
rule           backward through y = relu(x)                paper
=============  ==========================================  =================================
gradient       g · [x > 0]                                 Simonyan et al. 2014
deconvnet      relu(g)                                     Zeiler & Fergus 2013
guided         g · [x > 0] · [g > 0]                       Springenberg et al. 2015
=============  ==========================================  =================================

It catches ``nn.ReLU`` / ``nn.ReLU6`` modules, ``torch.relu`` / ``F.relu`` / ``F.relu6`` /
``F.hardtanh(x, 0, m)`` / ``Tensor.relu`` calls inside ``forward`` and in-place variants of all
of them, which module hooks (Captum) cannot see.

Also here: Zeiler & Fergus top patches and deconvnet projections with max-unpooling switches,
class-model visualisation (Simonyan 2014), DeepDream (Mordvintsev et al. 2015), and scores
against ground-truth masks (pointing game, mass inside the mask).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

__all__ = [
    "RULES",
    "modified_backprop",
    "input_gradient",
    "saliency",
    "deconvnet",
    "guided_backprop",
    "grad_cam",
    "guided_grad_cam",
    "smoothgrad",
    "random_attribution",
    "METHODS",
    "heatmap",
    "to_rgb",
    "overlay",
    "receptive_field",
    "TopPatches",
    "top_patches",
    "deconv_projection",
    "class_model",
    "deepdream",
    "pointing_game",
    "mass_in_mask",
    "score_methods",
    "format_scores",
    "load_paper_model",
]

RULES = ("gradient", "deconvnet", "guided")

def load_paper_model(name: str = "vgg16", fallback: str = "efficientnet_lite0",
                     download: bool = True, **kwargs):
    """The network a paper used (``name``) when its weights can be had, else ``fallback``.

    Returns ``(model, message)``; the message says which one it is and why. The weights are
    fetched (or found in the cache) before the network is built, so an offline try costs little;
    ``download=False`` only looks in the torch cache (smoke runs use it).
    """
    from pathlib import Path

    from . import models

    try:
        if name in models.DOWNLOADABLE:
            if download:
                models.download_weights(name, progress=False)
            else:
                url = models._tv_weights(name).url
                cached = Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]
                if not cached.is_file():
                    raise models.WeightsUnavailableError(f"{name} weights are not in the torch cache.")
        net = models.load(name, **kwargs)
        return net, f"Using {name}, the network of the paper (pretrained weights found)."
    except models.WeightsUnavailableError as e:
        first = str(e).splitlines()[0]
        return models.load(fallback), (
            f"{name} is not available here: {first} Using {fallback} instead: a real ImageNet "
            f"classifier that works offline. With internet once, "
            f"nm.models.prefetch_weights(['{name}']) makes this notebook use {name}.")


# ------------------------------------------------------------------------------------------------
# The backward-pass swap
# ------------------------------------------------------------------------------------------------


class _Rectifier(torch.autograd.Function):
    """y = clamp(x, 0, upper) whose backward follows ``rule`` (see the module docstring).

    It saves what PyTorch's own ReLU/hardtanh save (relu and in-place calls: the output; relu6 /
    hardtanh out of place: the input), so it runs wherever the native op runs, and its backward
    uses the native fused kernels: the gate [0 < x < upper] is the same read from x or from y.
    Guided backprop is the native backward applied to relu(g): g·[x>0]·[g>0].
    """

    @staticmethod
    def forward(ctx, x, rule: str, upper, inplace: bool):
        ctx.rule, ctx.upper = rule, upper
        if inplace:
            y = x.clamp_(min=0, max=upper)
            ctx.mark_dirty(x)
        else:
            y = x.clamp(min=0, max=upper)
        if rule != "deconvnet":
            ctx.save_for_backward(x if (upper is not None and not inplace) else y)
        return y

    @staticmethod
    def backward(ctx, g):
        if ctx.rule == "deconvnet":  # Zeiler & Fergus: rectify the signal, ignore the forward pass
            return g.clamp(min=0), None, None, None
        (ref,) = ctx.saved_tensors
        if ctx.rule == "guided":  # Springenberg: the backward gate [g > 0] ...
            g = g.clamp(min=0)
        if ctx.upper is None:  # ... and the forward gate [x > 0] (and [x < upper] for ReLU6)
            gi = torch.ops.aten.threshold_backward.default(g, ref, 0)
        else:
            gi = torch.ops.aten.hardtanh_backward.default(g, ref, 0.0, float(ctx.upper))
        return gi, None, None, None


def _arg(args, kwargs, i, name, default):
    if len(args) > i:
        return args[i]
    return kwargs.get(name, default)


def _parse_rectifier(func, args, kwargs):
    """(x, upper, inplace) when ``func(*args, **kwargs)`` is a rectifier call, else None."""
    if func is torch.relu or func is torch.Tensor.relu:
        return args[0], None, False
    if func is torch.relu_ or func is torch.Tensor.relu_:
        return args[0], None, True
    x = _arg(args, kwargs, 0, "input", None)
    if func is F.relu:
        return x, None, bool(_arg(args, kwargs, 1, "inplace", False))
    if func is F.relu6:
        return x, 6.0, bool(_arg(args, kwargs, 1, "inplace", False))
    if func is F.hardtanh:
        lo = _arg(args, kwargs, 1, "min_val", -1.0)
        hi = _arg(args, kwargs, 2, "max_val", 1.0)
        if lo == 0:  # nn.ReLU6 is hardtanh(x, 0, 6); other hardtanhs are no rectifiers
            return x, float(hi), bool(_arg(args, kwargs, 3, "inplace", False))
    return None


class _ModifiedBackprop(TorchFunctionMode):
    # Why a TorchFunctionMode and not module hooks or monkey-patching torch.relu:
    # - hooks only see nn.ReLU modules: F.relu in forward, ReLU6 and hardtanh slip through, and
    #   in-place ReLUs break full backward hooks (Captum's known problems);
    # - patching torch.relu / F.relu misses names bound at import time
    #   (`from torch.nn.functional import relu`), Tensor.relu, and changes every thread;
    # - a mode sees every Python-level torch call in *this thread only*, whatever name it was
    #   called by, and `with` pops it even when forward raises. Nothing else is modified, so
    #   there is nothing to restore. It does not see ops run by TorchScript/compiled code.
    def __init__(self, rule: str):
        super().__init__()
        self.rule = rule

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        parsed = _parse_rectifier(func, args, kwargs)
        if parsed is None or not isinstance(parsed[0], torch.Tensor):
            return func(*args, **kwargs)
        x, upper, inplace = parsed
        return _Rectifier.apply(x, self.rule, upper, inplace)


@contextmanager
def modified_backprop(rule: str = "guided"):
    """Springenberg et al. 2015 / Zeiler & Fergus 2013: swap the backward pass of every rectifier.

    Inside the ``with`` block, forward passes (in this thread) build graphs whose ReLUs
    backpropagate by ``rule`` (``'gradient'``, ``'deconvnet'`` or ``'guided'``); the backward call
    itself may happen later, outside the block. Works for ``nn.ReLU``/``nn.ReLU6`` modules,
    ``torch.relu``/``F.relu``/``F.relu6``/``F.hardtanh(x, 0, m)``/``Tensor.relu`` and their
    in-place forms. For ReLU6 the gradient and guided rules also zero the gradient where x ≥ 6.
    Everything is back to normal on exit, also after an exception.
    Not swapped (they keep the plain gradient): ``Tensor.clamp(min=0)``, ``F.threshold`` and
    ``F.hardtanh_``; write rectifiers as ReLU for these methods.
    """
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, not {rule!r}")
    with _ModifiedBackprop(rule):
        yield


# ------------------------------------------------------------------------------------------------
# Attribution methods: fn(model, image, target=None) -> tensor shaped like the input
# ------------------------------------------------------------------------------------------------


def _device(model: nn.Module) -> torch.device:
    for p in model.parameters():
        return p.device
    for b in model.buffers():
        return b.device
    return torch.device("cpu")


def _prepare(model, image) -> torch.Tensor:
    if image.ndim == 3:
        image = image.unsqueeze(0)
    if image.ndim != 4:
        raise ValueError(f"expected images (N,3,H,W), got shape {tuple(image.shape)}")
    return image.detach().to(_device(model), torch.float32).clone().requires_grad_(True)


def _targets(logits: torch.Tensor, target) -> torch.Tensor:
    """Class index per image: None -> top class; int -> the same for all; sequence -> one each."""
    n = logits.shape[0]
    if target is None:
        return logits.detach().argmax(1)
    t = torch.as_tensor(target, device=logits.device).long().flatten()
    if t.numel() == 1:
        t = t.expand(n)
    if t.numel() != n:
        raise ValueError(f"{t.numel()} targets for {n} images")
    return t


def _score(logits, target):
    t = _targets(logits, target)
    return logits.gather(1, t[:, None]).sum(), t


def input_gradient(model: nn.Module, image: torch.Tensor, target=None, rule: str = "gradient"):
    """Simonyan et al. 2014, eq. 2: w = ∂S_c/∂I, the pre-softmax score's gradient, with the ReLU
    backward pass chosen by ``rule`` ('gradient', 'deconvnet', 'guided'). Signed, input-shaped."""
    x = _prepare(model, image)
    if rule == "gradient":  # plain autograd: nothing to swap
        logits = model(x)
    else:
        with modified_backprop(rule):
            logits = model(x)
    score, _ = _score(logits, target)
    (g,) = torch.autograd.grad(score, x)
    return g.to(image.device).reshape(image.shape)  # (3,H,W) in, (3,H,W) out


def saliency(model: nn.Module, image: torch.Tensor, target=None, abs: bool = True) -> torch.Tensor:
    """Simonyan et al. 2014, eq. 2: |∂S_c/∂I| of the pre-softmax class score S_c.

    Same shape as the input (Captum's ``Saliency(abs=True)``); :func:`heatmap` takes the max
    over colour channels as the paper does.
    """
    g = input_gradient(model, image, target, "gradient")
    return g.abs() if abs else g


def deconvnet(model: nn.Module, image: torch.Tensor, target=None) -> torch.Tensor:
    """Zeiler & Fergus 2013, sec. 2.1: the deconvnet reconstruction of the class score, i.e. the
    backward pass with relu(g) through every ReLU (Captum's ``Deconvolution``). Signed."""
    return input_gradient(model, image, target, "deconvnet")


def guided_backprop(model: nn.Module, image: torch.Tensor, target=None) -> torch.Tensor:
    """Springenberg et al. 2015, fig. 1: guided backpropagation, g·[x>0]·[g>0] through every ReLU
    (Captum's ``GuidedBackprop``). Signed."""
    return input_gradient(model, image, target, "guided")


def _resolve_layer(model: nn.Module, layer) -> nn.Module:
    if isinstance(layer, nn.Module):
        return layer
    if layer is None:
        layer = getattr(model, "default_layers", {}).get("gradcam")
        if layer is None:
            raise ValueError("pass layer=... (this model has no default Grad-CAM layer)")
    layers = getattr(model, "layers", None)
    if layers is not None and layer in layers._modules:
        return layers._modules[layer]
    mods = dict(model.named_modules())
    if layer not in mods:
        raise ValueError(f"no layer {layer!r} in {type(model).__name__}")
    return mods[layer]


def _grad_cam_map(model, image, target, layer):
    module = _resolve_layer(model, layer)
    x = _prepare(model, image)
    store = {}
    hook = module.register_forward_hook(lambda m, i, o: store.__setitem__("a", o))
    try:
        logits = model(x)
    finally:
        hook.remove()
    a = store["a"]
    score, t = _score(logits, target)
    (da,) = torch.autograd.grad(score, a)
    alpha = da.mean(dim=(2, 3), keepdim=True)  # eq. 1: global-average-pooled gradients
    cam = F.relu((alpha * a).sum(1, keepdim=True))  # eq. 2
    return cam.detach(), x.shape[-2:], t


def grad_cam(model: nn.Module, image: torch.Tensor, target=None, layer=None,
             upsample: str = "bilinear") -> torch.Tensor:
    """Selvaraju et al. 2017, eqs. 1–2: L = ReLU(Σ_k α_k A^k), α_k = mean_ij ∂y^c/∂A^k_ij.

    ``layer``: a layer name (default ``model.default_layers['gradcam']``) or a module. Returns
    (N,1,H,W), upsampled to the input size (``upsample``: 'bilinear' as in the paper, 'nearest' as
    Captum's GuidedGradCam, or None for the layer's own resolution).
    """
    cam, size, _ = _grad_cam_map(model, image, target, layer)
    if upsample:
        kw = {"align_corners": False} if upsample in ("bilinear", "bicubic") else {}
        cam = F.interpolate(cam, size=tuple(size), mode=upsample, **kw)
    return cam.to(image.device)


def guided_grad_cam(model: nn.Module, image: torch.Tensor, target=None, layer=None,
                    upsample: str = "bilinear") -> torch.Tensor:
    """Selvaraju et al. 2017, sec. 3.1: guided backprop × upsampled Grad-CAM. Input-shaped."""
    cam = grad_cam(model, image, target, layer, upsample)
    return guided_backprop(model, image, target) * cam


def smoothgrad(model: nn.Module, image: torch.Tensor, target=None, method: Callable = saliency,
               n: int = 25, noise: float = 0.15, seed: int = 0, **kwargs) -> torch.Tensor:
    """Smilkov et al. 2017, eq. 3: M̂(x) = 1/n Σ M(x + N(0, σ²)), σ = noise · (max x − min x).

    ``method`` is any attribution function here (saliency by default). ``target=None`` takes the
    top class of the *clean* image, so every noisy copy explains the same class.
    """
    shape = image.shape
    image = image if image.ndim == 4 else image.unsqueeze(0)
    if target is None:
        with torch.no_grad():
            target = model(image.to(_device(model))).argmax(1)
    g = torch.Generator().manual_seed(seed)
    lo = image.amin(dim=(1, 2, 3), keepdim=True)
    hi = image.amax(dim=(1, 2, 3), keepdim=True)
    sigma = noise * (hi - lo)
    total = torch.zeros_like(image)
    for _ in range(n):
        eps = torch.randn(image.shape, generator=g).to(image.device) * sigma
        total += method(model, image + eps, target, **kwargs)
    return (total / n).reshape(shape)


def random_attribution(model: nn.Module, image: torch.Tensor, target=None, seed: int = 0):
    """The baseline every method must beat: uniform noise shaped like the input (model unused)."""
    g = torch.Generator().manual_seed(seed)
    return torch.rand(image.shape, generator=g).to(image.device)


#: The methods compared in notebook 03 and scored by :func:`score_methods`.
METHODS: dict[str, Callable] = {
    "gradient": saliency,
    "deconvnet": deconvnet,
    "guided": guided_backprop,
    "grad_cam": grad_cam,
    "guided_grad_cam": guided_grad_cam,
    "smoothgrad": smoothgrad,
    "random": random_attribution,
}

# ------------------------------------------------------------------------------------------------
# Turning attributions into pictures
# ------------------------------------------------------------------------------------------------


def heatmap(attr: torch.Tensor, reduce: str = "max", normalize: bool = True) -> torch.Tensor:
    """Simonyan et al. 2014, sec. 3.1: M_ij = max_c |w_h(i,j,c)|, one map (N,1,H,W) per image.

    ``reduce``: 'max' (the paper: max over channels of |attr|), 'sum' (|Σ_c attr|, what Captum's
    ``visualize_image_attr`` shows: it *sums* channels), 'abs_sum' (Σ_c |attr|) or 'l2'.
    ``normalize`` divides each map by its maximum (so it lies in [0, 1]).
    """
    a = attr if attr.ndim == 4 else attr.unsqueeze(0)
    a = a.detach().float()
    if reduce == "max":
        h = a.abs().amax(1, keepdim=True)
    elif reduce == "sum":
        h = a.sum(1, keepdim=True).abs()
    elif reduce == "abs_sum":
        h = a.abs().sum(1, keepdim=True)
    elif reduce == "l2":
        h = a.pow(2).sum(1, keepdim=True).sqrt()
    else:
        raise ValueError(f"reduce must be 'max', 'sum', 'abs_sum' or 'l2', not {reduce!r}")
    if normalize:
        h = h / h.amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-12)
    return h


def to_rgb(attr: torch.Tensor, percentile: float = 99.5) -> torch.Tensor:
    """A signed attribution (N,3,H,W) as a picture in [0,1]: grey is zero, as in Zeiler & Fergus'
    and Springenberg's figures. Each image is scaled so its ``percentile`` of |attr| is ±0.5."""
    a = attr.detach().float()
    a = a if a.ndim == 4 else a.unsqueeze(0)
    flat = a.abs().flatten(1)
    s = torch.quantile(flat, percentile / 100.0, dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
    return (0.5 + 0.5 * a / s).clamp(0, 1)


def overlay(image: torch.Tensor, heat: torch.Tensor, alpha: float = 0.6, cmap: str = "jet",
            percentile: float = 99.5, weighted: bool = True) -> torch.Tensor:
    """Lay a heat map (N,1,h,w) in colour over images (N,3,H,W).

    Each map is scaled so its ``percentile`` is 1. ``weighted=True`` blends by α·heat per pixel (cold
    parts stay see-through); ``weighted=False`` blends the whole colour map with α.
    """
    import matplotlib

    image = image if image.ndim == 4 else image.unsqueeze(0)
    h = heat.detach().float().cpu()
    h = h if h.ndim == 4 else h.unsqueeze(0)
    if h.shape[-2:] != image.shape[-2:]:
        h = F.interpolate(h, size=image.shape[-2:], mode="bilinear", align_corners=False)
    s = torch.quantile(h.flatten(1), percentile / 100.0, dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
    h = (h / s).clamp(0, 1)
    rgb = torch.from_numpy(matplotlib.colormaps[cmap](h[:, 0].numpy())[..., :3]).float()
    rgb = rgb.permute(0, 3, 1, 2)
    a = alpha * h if weighted else torch.full_like(h, alpha)
    return ((1 - a) * image.detach().float().cpu() + a * rgb).clamp(0, 1)


# ------------------------------------------------------------------------------------------------
# Zeiler & Fergus 2013: top patches and deconvnet projections with max-unpooling switches
# ------------------------------------------------------------------------------------------------


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
    """The receptive field of one unit of ``layer``: (size, jump, start) in input pixels.

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
    from tqdm.auto import tqdm

    dev = _device(model)
    vals, pos = [], []
    starts = range(0, len(images), batch_size)
    for s in tqdm(starts, disable=not progress, desc=f"{layer}[{channel}]", leave=False):
        a = model.features(images[s : s + batch_size].to(dev), [layer])[layer][:, channel]
        v, idx = a.flatten(1).max(1)
        vals.append(v.float().cpu())
        w = a.shape[-1]
        pos.append(torch.stack([idx // w, idx % w], 1).cpu())
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
    x = image.to(_device(model), torch.float32)
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


# ------------------------------------------------------------------------------------------------
# Optimising the image: class models (Simonyan 2014) and DeepDream (Mordvintsev 2015)
# ------------------------------------------------------------------------------------------------


def _gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    if sigma <= 0:
        return x
    r = max(1, int(math.ceil(3 * sigma)))
    t = torch.arange(-r, r + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-(t**2) / (2 * sigma**2))
    k = k / k.sum()
    c = x.shape[1]
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="reflect"), k.view(1, 1, 1, -1).expand(c, 1, 1, -1),
                 groups=c)
    return F.conv2d(F.pad(x, (0, 0, r, r), mode="reflect"), k.view(1, 1, -1, 1).expand(c, 1, -1, 1),
                    groups=c)


def _jitter(x, dy, dx):
    return torch.roll(x, shifts=(dy, dx), dims=(-2, -1))


def _mean_image(model, size, dev):
    mean = getattr(getattr(model, "normalize", None), "mean", None)
    if mean is None:
        mean = torch.full((1, 3, 1, 1), 0.5)
    return mean.detach().to(dev, torch.float32).expand(1, 3, *size).clone()


def class_model(model, target: int, size: int | tuple[int, int] = 224, steps: int = 200,
                lr: float = 0.01, l2: float = 1e-3, jitter: int = 0, blur_every: int = 0,
                blur_sigma: float = 0.5, seed: int = 0, progress: bool = True,
                callback: Callable | None = None, callback_every: int = 10,
                stop: threading.Event | None = None) -> torch.Tensor:
    """Simonyan et al. 2014, eq. 1: argmax_I S_c(I) − λ‖I‖², by gradient ascent from the zero image.

    "Zero" is the zero of the network's centred input, i.e. the mean image; ‖I‖ is measured from
    it in pixel units. Each step moves by ``lr`` times the gradient divided by its mean magnitude.
    Optional regularisers from Yosinski et al. 2015: random ``jitter`` (pixels) and a Gaussian
    blur every ``blur_every`` steps. Pixels stay in [0, 1]. Returns (1,3,H,W);
    ``callback(step, image)`` every ``callback_every`` steps; ``stop`` ends early.
    """
    from tqdm.auto import tqdm

    size = (size, size) if isinstance(size, int) else tuple(size)
    dev = _device(model)
    mean = _mean_image(model, size, dev)
    delta = torch.zeros_like(mean, requires_grad=True)
    g = torch.Generator().manual_seed(seed)
    for step in tqdm(range(steps), disable=not progress, desc=f"class {target}", leave=False):
        if stop is not None and stop.is_set():
            break
        dy, dx = (torch.randint(-jitter, jitter + 1, (2,), generator=g).tolist() if jitter
                  else (0, 0))
        img = _jitter(mean + delta, dy, dx)
        score = model(img)[0, target] - l2 * delta.pow(2).sum()
        (grad,) = torch.autograd.grad(score, delta)
        with torch.no_grad():
            delta += lr * grad / grad.abs().mean().clamp_min(1e-12)
            delta.copy_((mean + delta).clamp(0, 1) - mean)
            if blur_every and (step + 1) % blur_every == 0:
                delta.copy_(_gaussian_blur(delta, blur_sigma))
        if callback is not None and ((step + 1) % callback_every == 0 or step + 1 == steps):
            callback(step + 1, (mean + delta).detach().clamp(0, 1))
    return (mean + delta).detach().clamp(0, 1)


def _dream_objective(model, layer, channel, random_class, gen):
    """The quantity DeepDream ascends, as a function of the image."""
    if random_class:
        n = len(getattr(model, "classes", [])) or None

        def obj(x):
            logits = model(x)
            c = int(torch.randint(n or logits.shape[1], (1,), generator=gen))
            return logits[0, c]

        return obj
    if layer is None:
        layer = model.default_layers.get("dream")

    def obj(x):
        a = model.features(x, [layer])[layer]
        if channel is not None:
            a = a[:, channel]
        return 0.5 * a.float().pow(2).mean()  # the original's L2 objective: its gradient is a

    return obj


def deepdream(model, image: torch.Tensor, layer: str | None = None, channel: int | None = None,
              octaves: int = 4, octave_scale: float = 1.4, steps: int = 10,
              step_size: float = 0.01, jitter: int = 32, random_class: bool = False,
              seed: int = 0, progress: bool = True, callback: Callable | None = None,
              stop: threading.Event | None = None) -> torch.Tensor:
    """Mordvintsev, Olah & Tyka 2015 (DeepDream): ascend ½‖a_l(I)‖² with normalised steps
    I ← I + η·g/mean|g|, over ``octaves`` scales (each ``octave_scale`` times larger), with
    random jitter, as in the original notebook.

    ``layer`` (default ``model.default_layers['dream']``) and optionally one ``channel``;
    ``random_class=True`` instead ascends the logit of a class drawn at random at every step (the
    course seed's variant). Returns (1,3,H,W) in [0,1]; ``callback(step, image)`` after every
    step; ``stop`` ends early with what there is.
    """
    from tqdm.auto import tqdm

    image = image if image.ndim == 4 else image.unsqueeze(0)
    dev = _device(model)
    base = image.detach().to(dev, torch.float32)
    gen = torch.Generator().manual_seed(seed)
    objective = _dream_objective(model, layer, channel, random_class, gen)
    h, w = base.shape[-2:]
    sizes = [(max(8, round(h / octave_scale**i)), max(8, round(w / octave_scale**i)))
             for i in range(octaves)][::-1]
    detail = torch.zeros(1, 3, *sizes[0], device=dev)
    total, done = len(sizes) * steps, 0
    bar = tqdm(total=total, disable=not progress, desc="dream", leave=False)
    img = base
    try:
        for size in sizes:
            octave_base = F.interpolate(base, size=size, mode="bilinear", align_corners=False,
                                        antialias=size[0] < h)
            detail = F.interpolate(detail, size=size, mode="bilinear", align_corners=False)
            img = (octave_base + detail).clamp(0, 1)
            for _ in range(steps):
                if stop is not None and stop.is_set():
                    break
                j = min(jitter, size[0] // 4, size[1] // 4)
                dy, dx = torch.randint(-j, j + 1, (2,), generator=gen).tolist() if j else (0, 0)
                x = _jitter(img, dy, dx).requires_grad_(True)
                (g,) = torch.autograd.grad(objective(x), x)
                with torch.no_grad():
                    g = _jitter(g, -dy, -dx)
                    img = (img + step_size * g / g.abs().mean().clamp_min(1e-12)).clamp(0, 1)
                done += 1
                bar.update(1)
                if callback is not None:
                    callback(done, img.detach())
            detail = img - octave_base
            if stop is not None and stop.is_set():
                break
    finally:
        bar.close()
    if img.shape[-2:] != (h, w):  # stopped early at a coarse octave
        img = (base + F.interpolate(detail, size=(h, w), mode="bilinear", align_corners=False))
    return img.detach().clamp(0, 1).to(image.device)


# ------------------------------------------------------------------------------------------------
# Scores against ground truth (shapes with masks)
# ------------------------------------------------------------------------------------------------


def _as_map(x: torch.Tensor) -> torch.Tensor:
    x = x.detach().float().cpu()
    if x.ndim == 2:
        x = x[None, None]
    elif x.ndim == 3:
        x = x[:, None]
    return x


def pointing_game(heat: torch.Tensor, mask: torch.Tensor, tolerance: int = 0) -> torch.Tensor:
    """Zhang et al. 2016 (pointing game): is the heat map's peak on the object? One bool per image.

    ``heat`` (N,1,H,W) (reduce channels first with :func:`heatmap`), ``mask`` (N,1,H,W) bool.
    ``tolerance`` accepts peaks within that many pixels of the mask (Chebyshev distance; the
    paper uses 15 px at 224 px). Ties go to the first peak in raster order.
    """
    h, m = _as_map(heat), _as_map(mask) > 0.5
    if tolerance > 0:
        k = 2 * tolerance + 1
        m = F.max_pool2d(m.float(), k, 1, tolerance) > 0.5
    idx = h.flatten(1).argmax(1)
    return m.flatten(1).gather(1, idx[:, None])[:, 0]


def mass_in_mask(heat: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The share of (non-negative) heat on the object: Σ heat·mask / Σ heat, one per image.
    A map that ignores the object scores the mask's area fraction."""
    h, m = _as_map(heat).clamp_min(0), _as_map(mask) > 0.5
    return (h * m).flatten(1).sum(1) / h.flatten(1).sum(1).clamp_min(1e-12)


def score_methods(model, images: torch.Tensor, masks: torch.Tensor, labels: torch.Tensor,
                  methods: dict[str, Callable] | Sequence[str] | None = None,
                  tolerances: Sequence[int] = (0, 2), reduce: str = "max",
                  batch_size: int = 32, progress: bool = False) -> list[dict]:
    """Score attribution methods against ground-truth masks (e.g. ``nm.data.shapes``).

    For each method: the pointing-game hit rate at each tolerance (pixels) and the mean share of
    heat inside the mask, with the true label as target. Channels are reduced by ``reduce``
    (:func:`heatmap`). Returns rows ``{'method', 'pointing@0', 'pointing@2', 'mass_in_mask'}`` and
    a last row 'mask area' (what a uniform map's mass would be).
    """
    from tqdm.auto import tqdm

    if methods is None:
        methods = ["gradient", "deconvnet", "guided", "grad_cam", "random"]
    if not isinstance(methods, dict):
        methods = {m: METHODS[m] for m in methods}
    rows = []
    for name, fn in tqdm(methods.items(), disable=not progress, desc="methods"):
        hits = {t: [] for t in tolerances}
        mass = []
        for s in range(0, len(images), batch_size):
            x, m, y = images[s : s + batch_size], masks[s : s + batch_size], labels[s : s + batch_size]
            kw = {"seed": s} if fn is random_attribution else {}
            heat = heatmap(fn(model, x, y, **kw), reduce=reduce, normalize=False)
            for t in tolerances:
                hits[t].append(pointing_game(heat, m, t))
            mass.append(mass_in_mask(heat, m))
        row = {"method": name}
        for t in tolerances:
            row[f"pointing@{t}"] = float(torch.cat(hits[t]).float().mean())
        row["mass_in_mask"] = float(torch.cat(mass).mean())
        rows.append(row)
    area = float(_as_map(masks).flatten(1).float().mean(1).mean())
    rows.append({"method": "mask area", **{f"pointing@{t}": float("nan") for t in tolerances},
                 "mass_in_mask": area})
    return rows


def format_scores(rows: list[dict]) -> str:
    """The rows of :func:`score_methods` as a Markdown table."""
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "|".join("---" for _ in keys) + "|"]
    for r in rows:
        cells = [r[k] if isinstance(r[k], str) else ("" if r[k] != r[k] else f"{r[k]:.2f}")
                 for k in keys]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
