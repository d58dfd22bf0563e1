"""Input gradients: saliency (Simonyan 2014), deconvnet (Zeiler & Fergus 2013), guided backprop
(Springenberg 2015), SmoothGrad (Smilkov 2017) and the random baseline.

Simonyan et al. 2014, eq. 2: the class score S_c is linearised around the image I₀,
S_c(I) ≈ wᵀI + b with w = ∂S_c/∂I |_{I₀}; the three methods are this w computed with the
backward rule of :mod:`.rules` ('gradient', 'deconvnet', 'guided') through every rectifier.

Pieces: :func:`input_gradient` (the one backward pass), :func:`saliency`, :func:`deconvnet`,
:func:`guided_backprop`, :func:`smoothgrad`, :func:`random_attribution`, and the helpers every
method shares: :func:`_prepare` (images to the model's device, with grad) and :func:`_score`
(the pre-softmax score of the target class).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ..runtime import module_device
from .rules import modified_backprop

__all__ = ["input_gradient", "saliency", "deconvnet", "guided_backprop", "smoothgrad",
           "random_attribution"]


def _prepare(model, image) -> torch.Tensor:
    if image.ndim == 3:
        image = image.unsqueeze(0)
    if image.ndim != 4:
        raise ValueError(f"expected images (N,3,H,W), got shape {tuple(image.shape)}")
    return image.detach().to(module_device(model), torch.float32).clone().requires_grad_(True)


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
            target = model(image.to(module_device(model))).argmax(1)
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
