"""The rectifier-rule swap behind saliency, deconvnet and guided backprop.

Simonyan et al. 2014, Zeiler & Fergus 2013 and Springenberg et al. 2015 differ only in the backward
pass through y = clamp(x, 0, u) (u = ∞ for ReLU, 6 for ReLU6):

- gradient:  ∂/∂x = g · [0 < x < u]
- deconvnet: relu(g)                    (the forward pass is ignored)
- guided:    relu(g) · [0 < x < u]

Pieces: :data:`RULES`, :func:`modified_backprop` (a ``TorchFunctionMode`` that routes every
rectifier call through :class:`_Rectifier`), and the call parser :func:`_parse_rectifier`.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

__all__ = ["RULES", "modified_backprop"]

RULES = ("gradient", "deconvnet", "guided")


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
