"""Grad-CAM and Guided Grad-CAM (Selvaraju et al. 2017).

Eq. 1: α_k^c = 1/Z Σ_ij ∂y^c/∂A^k_ij (the gradients of the class score, global-average-pooled
over the feature map A^k of a late convolutional layer); eq. 2: L^c = ReLU(Σ_k α_k^c A^k).
Sec. 3.1: Guided Grad-CAM multiplies guided backprop by L^c upsampled to the input size.

Pieces: :func:`grad_cam`, :func:`guided_grad_cam`, and :func:`_resolve_layer` (a layer name or
module → the module whose output is A).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .gradients import _prepare, _score, guided_backprop

__all__ = ["grad_cam", "guided_grad_cam"]


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
