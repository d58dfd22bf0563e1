"""Gatys et al. 2015, eq. 7: the objective minimised over the pixels of x.

    L_total(x) = α Σ_l c_l L_content^l(x) + β Σ_l w_l E_l(x) + γ L_TV(x) / (H·W)

with the content term of eq. 1 as a mean (½ mean (F − P)², so that one α works at every size), the
style term E_l of eq. 4 against the blended target A^l = Σ_s b_s A_s^l (or the channel means, the
seed's ``statistic="mean"``), and a range penalty that keeps L-BFGS's unconstrained pixels in
[0, 1]. :class:`Objective` computes the targets once; :func:`history_entry` turns one evaluation
into the per-step record of :class:`~nomysticism.style.StyleResult`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence

import torch

from ..losses import channel_means, content_loss, gram_matrix, mean_loss, style_loss, tv_loss
from ..models import LayeredNet
from .recipes import MEAN_STAT_SCALE

__all__ = ["Objective", "history_entry"]


class Objective:
    """Gatys et al. 2015, eq. 7 at one size: ``obj(x)`` -> (L_total, terms).

    The targets P^l and A^l are computed once, without a graph. ``content`` (1,3,H,W) or None;
    ``styles`` a list of images with blend weights ``blend`` (Σ = 1). Layers of weight 0 are not
    computed at all (the network may then stop earlier). ``autocast`` is a zero-argument context
    factory around the network; ``memory_format`` the layout it sees. The terms are
    ``{"content_layers": {l: α c_l L^l}, "style_layers": {l: w_l E_l}, "tv": γ TV}``.
    """

    def __init__(self, net: LayeredNet, content: torch.Tensor | None, styles: Sequence[torch.Tensor],
                 blend: Sequence[float], *, content_layers: Mapping[str, float],
                 style_weights: Mapping[str, float], content_weight: float, tv_weight: float,
                 tv_exponent: float = 1.0, statistic: str = "gram", normalize: str = "paper",
                 autocast: Callable = contextlib.nullcontext, range_weight: float = 0.0,
                 memory_format: torch.memory_format = torch.contiguous_format):
        self.net = net
        self.content_weight, self.tv_weight, self.tv_exponent = content_weight, tv_weight, tv_exponent
        self.range_weight, self.memory_format = range_weight, memory_format
        self.statistic, self.normalize, self.autocast = statistic, normalize, autocast
        self.content_layers = {k: w for k, w in content_layers.items() if w}
        self.style_weights = {k: w for k, w in style_weights.items() if w}
        self.layers = list(dict.fromkeys([*self.content_layers, *self.style_weights]))
        net.check_layers(self.layers)
        self.content_targets: dict[str, torch.Tensor] = {}  # P^l
        self.style_targets: dict[str, torch.Tensor] = {}  # A^l = Σ_s b_s A_s^l
        with torch.no_grad():
            if content is not None and self.content_layers:
                feats = self._features(content, list(self.content_layers))
                self.content_targets = {k: v.float().detach() for k, v in feats.items()}
            if styles and self.style_weights:
                for s, b in zip(styles, blend):
                    for k, f in self._features(s, list(self.style_weights)).items():
                        stat = self._stat(f).detach() * b
                        self.style_targets[k] = self.style_targets[k] + stat if k in self.style_targets else stat

    def _features(self, x, layers):
        with self.autocast():
            return self.net.features(x.contiguous(memory_format=self.memory_format), layers)

    def _stat(self, f):
        return channel_means(f) if self.statistic == "mean" else gram_matrix(f, self.normalize)

    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, dict]:
        feats = self._features(x, self.layers)
        total = x.new_zeros(())
        c_terms, s_terms = {}, {}
        for k, w in self.content_layers.items():  # α Σ_l c_l L_content^l   (eq. 1, mean)
            if k in self.content_targets:
                c_terms[k] = self.content_weight * w * content_loss(feats[k], self.content_targets[k], "mean")
                total = total + c_terms[k]
        for k, w in self.style_weights.items():  # Σ_l w_l E_l   (eq. 4; β folded into w_l)
            if k in self.style_targets:
                if self.statistic == "mean":
                    e = MEAN_STAT_SCALE * mean_loss(feats[k], self.style_targets[k])
                else:
                    e = style_loss(feats[k], self.style_targets[k], self.normalize)
                s_terms[k] = w * e
                total = total + s_terms[k]
        tv = self.tv_weight * tv_loss(x, self.tv_exponent) / x[0, 0].numel() if self.tv_weight else None
        if tv is not None:  # γ TV / (H·W)
            total = total + tv
        if self.range_weight:  # keeps L-BFGS's pixels in [0, 1]
            total = total + self.range_weight * (x - x.clamp(0, 1)).pow(2).mean()
        return total, {"content_layers": c_terms, "style_layers": s_terms, "tv": tv}


def history_entry(step: int, total: torch.Tensor, parts: dict, size: int) -> dict:
    """Gatys et al. 2015, eq. 7 as plain floats: the history entry of one evaluation.

    Keys: ``step``, ``total``, ``content``, ``style``, ``tv``, ``content_layers``, ``style_layers``, ``size``.
    """
    ck, sk = list(parts["content_layers"]), list(parts["style_layers"])
    tv = parts["tv"] if parts["tv"] is not None else torch.zeros((), device=total.device)
    vals = torch.stack([total.detach().float(), tv.detach().float(),
                        *[parts["content_layers"][k].detach().float() for k in ck],
                        *[parts["style_layers"][k].detach().float() for k in sk]]).tolist()  # one sync
    c = dict(zip(ck, vals[2:2 + len(ck)]))
    s = dict(zip(sk, vals[2 + len(ck):]))
    return {"step": step, "total": vals[0], "content": sum(c.values()), "style": sum(s.values()),
            "tv": vals[1], "content_layers": c, "style_layers": s, "size": size}
