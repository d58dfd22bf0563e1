"""Johnson, Alahi & Fei-Fei 2016, §3: the perceptual loss, measured by a frozen loss network φ.

Eq. 5: ŷ = argmin λ_c ℓ_feat^φ,j(ŷ, y_c) + λ_s ℓ_style^φ,J(ŷ, y_s) + λ_TV ℓ_TV(ŷ), with

- eq. 2, feature reconstruction: ℓ_feat^φ,j = 1/(C_j H_j W_j) ‖φ_j(ŷ) − φ_j(y)‖²₂ (relu2_2 of VGG-16);
- eqs. 3–4, style reconstruction: ℓ_style^φ,j = ‖G_j(ŷ) − G_j(y)‖²_F, G_j = φ_j φ_jᵀ / (C_j H_j W_j)
  (relu1_2, relu2_2, relu3_3, relu4_3);
- total variation ℓ_TV (Mahendran & Vedaldi 2015).

Pieces: :data:`LOSS_LAYERS`, :func:`loss_network`, :func:`feature_reconstruction_loss`,
:func:`style_reconstruction_loss`, :class:`PerceptualLoss`. The Gram matrix, content and TV losses
are the shared ones of :mod:`nomysticism.losses`.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

from ..images import resize
from ..losses import content_loss, gram_matrix, tv_loss
from ..models import LayeredNet, WeightsUnavailableError
from ..models import load as load_net
from ..runtime import module_device

__all__ = ["LOSS_LAYERS", "loss_network", "feature_reconstruction_loss", "style_reconstruction_loss",
           "PerceptualLoss"]

#: Loss-network layers. VGG-16 is the paper's. For the offline EfficientNet-Lite0 the style layers
#: are the stem and the first three stages (strides 2–8, like relu1_2…relu4_3 at strides 1–8);
#: content is block2 (stride 4, where edges and parts still sit in place — like relu2_2).
LOSS_LAYERS = {
    "vgg16": {"style": ["relu1_2", "relu2_2", "relu3_3", "relu4_3"], "content": ["relu2_2"]},
    "vgg19": {"style": ["relu1_2", "relu2_2", "relu3_4", "relu4_4"], "content": ["relu2_2"]},
    "efficientnet_lite0": {"style": ["stem", "block1", "block2", "block3"], "content": ["block2"]},
}


def loss_network(name: str = "auto", device=None) -> LayeredNet:
    """Johnson et al. 2016, §3: the frozen loss network φ: ``"vgg16"``, ``"efficientnet_lite0"``, or
    ``"auto"`` (VGG-16 when its weights are available, else EfficientNet-Lite0, which needs no download)."""
    if name == "auto":
        try:
            return load_net("vgg16", device=device)
        except WeightsUnavailableError:
            warnings.warn("VGG-16 weights are unavailable; using efficientnet_lite0 as the loss network",
                          stacklevel=2)
            return load_net("efficientnet_lite0", device=device)
    return load_net(name, device=device)


def feature_reconstruction_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Johnson et al. 2016, eq. 2: ℓ_feat = 1/(C_j H_j W_j) ‖φ_j(ŷ) − φ_j(y)‖²₂, averaged over the batch.

    Written with Gatys' ``content_loss`` (½ Σ (F − P)²): ℓ_feat = 2·content_loss / numel.
    """
    return 2.0 * content_loss(features.float(), target.float()) / features.numel()


def style_reconstruction_loss(features: torch.Tensor, target_gram: torch.Tensor) -> torch.Tensor:
    """Johnson et al. 2016, eqs. 3–4: ℓ_style = ‖G_j(ŷ) − G_j(y)‖²_F with G_j = φφᵀ / (C_j H_j W_j),
    averaged over the batch. ``target_gram`` is (1 or N, C, C)."""
    g = gram_matrix(features.float(), "chw")
    return (g - target_gram.float()).pow(2).sum((1, 2)).mean()


class PerceptualLoss(nn.Module):
    """Johnson et al. 2016, eq. 5: λ_c Σ_j ℓ_feat^j(ŷ, y_c) + λ_s Σ_j ℓ_style^j(ŷ, y_s) + λ_TV ℓ_TV(ŷ).

    ``net`` is a name (``"vgg16"``, ``"efficientnet_lite0"``, ``"auto"``) or a :class:`LayeredNet`;
    the layers default to :data:`LOSS_LAYERS`. ``set_style(image)`` fixes the target Grams;
    calling the loss returns ``(total, parts)`` with ``parts = {"content", "style", "tv"}`` (unweighted
    sums over layers, as floats-in-tensors). ``content=None`` skips the content term (textures).
    The TV term is tv_loss (sum of squared neighbour differences) per image.

    ``relative_style``: divide each layer's ℓ_style^j by ‖G_j(y_s)‖²_F (a relative Gram error), so
    that layers whose activations differ in scale count alike. Off for VGG (the paper), on by default
    for EfficientNet-Lite0, whose stem Gram is ~100× smaller than block1's.
    """

    def __init__(self, net: str | LayeredNet = "auto", style_layers=None, content_layers=None,
                 content_weight: float = 1.0, style_weight: float = 1.0, tv_weight: float = 0.0,
                 style_image: torch.Tensor | None = None, style_size: int | None = None,
                 relative_style: bool | None = None):
        super().__init__()
        self.net = loss_network(net) if isinstance(net, str) else net
        self.net.requires_grad_(False).eval()
        layers = LOSS_LAYERS.get(self.net.name, {})
        self.style_layers = list(style_layers or layers.get("style") or self.net.default_layers["style"])
        self.content_layers = list(content_layers or layers.get("content")
                                   or self.net.default_layers["content"])
        self.content_weight, self.style_weight, self.tv_weight = content_weight, style_weight, tv_weight
        self.style_size = style_size
        self.relative_style = (not self.net.name.startswith("vgg")) if relative_style is None else relative_style
        self.target_grams: dict[str, torch.Tensor] = {}
        self.layer_scale: dict[str, float] = {}
        if style_image is not None:
            self.set_style(style_image)

    @property
    def layers(self) -> list[str]:
        return list(dict.fromkeys(self.style_layers + self.content_layers))

    @torch.no_grad()
    def set_style(self, style_image: torch.Tensor) -> None:
        """Johnson et al. 2016, eq. 3: the target Grams G_j(y_s) of the style image (and the relative
        scales 1/‖G_j(y_s)‖²_F when ``relative_style``)."""
        s = style_image.to(module_device(self.net), torch.float32)
        if self.style_size is not None:
            s = resize(s, self.style_size)
        feats = self.net.features(s, self.style_layers)
        self.target_grams = {k: gram_matrix(feats[k].float(), "chw").mean(0, keepdim=True)
                             for k in self.style_layers}
        self.layer_scale = {k: (1.0 / float(g.pow(2).sum()) if self.relative_style else 1.0)
                            for k, g in self.target_grams.items()}

    def forward(self, output: torch.Tensor, content: torch.Tensor | None = None):
        if not self.target_grams:
            raise RuntimeError("call set_style(style_image) first")
        feats = self.net.features(output, self.layers)
        style = sum(self.layer_scale.get(k, 1.0) * style_reconstruction_loss(feats[k], self.target_grams[k])
                    for k in self.style_layers)
        if content is not None and self.content_weight:
            with torch.no_grad():
                target = self.net.features(content, self.content_layers)
            cont = sum(feature_reconstruction_loss(feats[k], target[k]) for k in self.content_layers)
        else:
            cont = output.new_zeros((), dtype=torch.float32)
        tv = tv_loss(output.float()) / output.shape[0]
        total = self.content_weight * cont + self.style_weight * style + self.tv_weight * tv
        return total, {"content": cont, "style": style, "tv": tv}
