"""The colourisation networks: one small U-Net from L to ab (a regression) or to Q bins (Zhang 2016).

Zhang, Isola & Efros 2016, §2: a CNN maps the lightness X ∈ R^{H×W×1} to either the chroma
Ŷ ∈ R^{H×W×2} (eq. 1, regression) or a distribution Ẑ ∈ [0,1]^{H×W×Q} over the ab bins (eq. 2),
read out by the annealed mean (eq. 5). Their network is a VGG-sized stack with dilated
convolutions; this is the same idea at a few hundred thousand parameters, for 32–64 px on a CPU:

- :class:`ColorNet`: conv-BN-ReLU at 1, ½ and ¼ resolution (dilated at ¼, for a receptive field
  over the whole small image), skip connections back up (a U-Net), a 1×1 head with 2 (``"ab"``)
  or Q (``"bins"``) outputs; ``predict_ab`` gives ab either way;
- :class:`FeatureLoss`: the "seed's second network": a frozen pretrained classifier
  (EfficientNet-Lite0) compares the colourised RGB with the true RGB at a couple of its blocks
  (a perceptual loss, Johnson et al. 2016, eq. 2), added to the regression.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..blocks import make_norm
from ..color import lab_to_rgb
from .zhang2016 import T as PAPER_T
from .zhang2016 import ab_bins, annealed_mean

__all__ = ["ColorNet", "FeatureLoss", "lab_rgb"]


def _conv(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, padding=dilation, dilation=dilation, bias=False),
                         make_norm("batch", cout), nn.ReLU(inplace=True))


class ColorNet(nn.Module):
    """Zhang et al. 2016, §2: L (N,1,H,W) in [0, 100] → ab (N,2,H,W) or bin logits (N,Q,H,W).

    ``width``: channels at full resolution (×2 at ½, ×4 at ¼); ``out``: ``"ab"`` (a regression,
    eq. 1) or ``"bins"`` (classification over ``bins``, default :func:`ab_bins`; kept as a buffer,
    so a saved model carries its own bins); ``T``: the default temperature of :meth:`predict_ab`.
    """

    def __init__(self, width: int = 24, out: str = "ab", n_bins: int | None = None, T: float = PAPER_T):
        super().__init__()
        if out not in ("ab", "bins"):
            raise ValueError(f"out must be 'ab' or 'bins', not {out!r}")
        w = width
        self.enc1 = nn.Sequential(_conv(1, w), _conv(w, w))
        self.enc2 = nn.Sequential(_conv(w, 2 * w, 2), _conv(2 * w, 2 * w))
        self.enc3 = nn.Sequential(_conv(2 * w, 4 * w, 2), _conv(4 * w, 4 * w, dilation=2),
                                  _conv(4 * w, 4 * w, dilation=2))
        self.dec2 = nn.Sequential(_conv(6 * w, 2 * w), _conv(2 * w, 2 * w))
        self.dec1 = _conv(3 * w, w)
        if out == "bins":
            bins = ab_bins()
            if n_bins is not None and n_bins != len(bins):  # a saved model brings its own bins
                bins = torch.zeros(n_bins, 2)
            self.register_buffer("bins", bins)
        self.head = nn.Conv2d(w, 2 if out == "ab" else len(self.bins), 1)
        self.width, self.out, self.T = width, out, float(T)

    @property
    def config(self) -> dict:
        cfg = {"arch": "ColorNet", "width": self.width, "out": self.out, "T": self.T}
        if self.out == "bins":
            cfg["n_bins"] = len(self.bins)
        return cfg

    def forward(self, L: torch.Tensor) -> torch.Tensor:
        """The raw output: ab in CIE units (``"ab"``) or the bins' logits (``"bins"``)."""
        x = L / 50 - 1
        e1 = self.enc1(x)
        e2 = self.enc2(e1)
        e3 = self.enc3(e2)
        up = F.interpolate(e3, size=e2.shape[-2:], mode="bilinear", align_corners=False)
        d2 = self.dec2(torch.cat([up, e2], 1))
        up = F.interpolate(d2, size=e1.shape[-2:], mode="bilinear", align_corners=False)
        y = self.head(self.dec1(torch.cat([up, e1], 1)))
        return y * 100 if self.out == "ab" else y

    def predict_ab(self, L: torch.Tensor, T: float | None = None) -> torch.Tensor:
        """ab (N,2,H,W): the regression's output, or the annealed mean (eq. 5) of the bins at ``T``
        (default ``self.T``)."""
        y = self(L)
        if self.out == "ab":
            return y
        return annealed_mean(y, self.bins, self.T if T is None else T, logits=True)


def lab_rgb(L: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    """L (N,1,H,W) and ab (N,2,H,W) → sRGB (N,3,H,W), clamped to [0, 1] (differentiable inside)."""
    return lab_to_rgb(torch.cat([L, ab], 1).float(), clip=False).clamp(0, 1)


class FeatureLoss(nn.Module):
    """Johnson et al. 2016, eq. 2 on colour, relative: Σ_l ‖φ_l(x̂) − φ_l(x)‖² / ‖φ_l(x)‖², φ a frozen
    ImageNet classifier (EfficientNet-Lite0, ``nm.models.load``), at ``layers``.

    Inputs are upsampled by ``scale`` first (32-px images are small for an ImageNet network). The
    pretrained features know what grass, sky and skin look like, which an L2 on ab does not use.
    """

    def __init__(self, net: str | nn.Module = "efficientnet_lite0", layers=("block1", "block2"),
                 scale: float = 2.0):
        super().__init__()
        if isinstance(net, str):
            from ..models import load

            net = load(net)
        self.net = net.eval().requires_grad_(False)
        self.layers, self.scale = list(self.net.check_layers(layers)), float(scale)

    def train(self, mode: bool = True):  # the loss network stays in eval mode (frozen BN)
        super().train(mode)
        self.net.eval()
        return self

    def _feats(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        if self.scale != 1:
            x = F.interpolate(x, scale_factor=self.scale, mode="bilinear", align_corners=False)
        return self.net.features(x, self.layers)

    def forward(self, pred_rgb: torch.Tensor, true_rgb: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            target = self._feats(true_rgb)
        got = self._feats(pred_rgb)
        return sum((got[k].float() - target[k].float()).pow(2).sum() / target[k].float().pow(2).sum()
                   for k in self.layers)
