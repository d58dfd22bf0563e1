"""Network blocks shared by the topics: one norm factory, instance norm, and one residual block.

- :class:`InstanceNorm2d` (Ulyanov, Vedaldi & Lempitsky 2016, eq. 2), statistics in float32;
- :func:`make_norm`: ``"instance"``, ``"batch"``, ``"layer"`` (GroupNorm with one group, the
  WGAN-GP critic's advice) or ``"none"``;
- :class:`ConvLayer`: reflection padding then a convolution (Johnson et al. 2016, table 1);
- :class:`ResidualBlock` (He et al. 2016, as used by Johnson et al. 2016 and Zhu et al. 2017).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["InstanceNorm2d", "make_norm", "NORMS", "ConvLayer", "ResidualBlock"]

NORMS = ("instance", "batch", "layer", "none")


class InstanceNorm2d(nn.InstanceNorm2d):
    """Ulyanov, Vedaldi & Lempitsky 2016, eq. 2: y_tijk = (x_tijk − μ_ti) / √(σ²_ti + ε), then γ·y + β.

    μ_ti and σ²_ti are the mean and (biased) variance of image t, channel i over its H×W positions.
    Unlike batch norm there are no running statistics: training and test behave the same, and
    every image is normalised on its own (its contrast is removed), which is what makes
    stylisation networks work. The statistics are computed in float32 also under bf16 autocast.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, affine: bool = True):
        super().__init__(num_features, eps=eps, affine=affine, track_running_stats=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        xf = x.float()
        mu = xf.mean(dim=(2, 3), keepdim=True)
        var = xf.var(dim=(2, 3), keepdim=True, unbiased=False)
        y = (xf - mu) * torch.rsqrt(var + self.eps)
        if self.affine:
            y = y * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)
        return y.to(dtype)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, affine={self.affine}"


def make_norm(norm: str, channels: int, affine: bool = True) -> nn.Module:
    """A 2-D norm by name: ``"instance"`` (Ulyanov 2016; ``affine`` learns γ, β), ``"batch"``,
    ``"layer"`` (GroupNorm(1, C): no batch statistics, for a WGAN-GP critic) or ``"none"``."""
    if norm == "instance":
        return InstanceNorm2d(channels, affine=affine)
    if norm == "batch":
        return nn.BatchNorm2d(channels)
    if norm == "layer":
        return nn.GroupNorm(1, channels)
    if norm == "none":
        return nn.Identity()
    raise ValueError(f"norm must be one of {', '.join(NORMS)}, not {norm!r}")


class ConvLayer(nn.Sequential):
    """Johnson et al. 2016, table 1: reflection padding then a (possibly strided) convolution."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, bias: bool = True):
        super().__init__()
        self.pad = nn.ReflectionPad2d(kernel // 2)
        self.conv = nn.Conv2d(cin, cout, kernel, stride, bias=bias)


class ResidualBlock(nn.Module):
    """He et al. 2016, as in Johnson et al. 2016 (supplement fig. 1) and Zhu et al. 2017 (§7.2):
    x + norm(conv(relu(norm(conv(x))))), 3×3 convs with reflection padding.

    ``affine=False`` and ``bias=False`` give CycleGAN's block (plain instance norm, no conv bias).
    """

    def __init__(self, channels: int, norm: str = "instance", affine: bool = True, bias: bool = True):
        super().__init__()
        self.conv1 = ConvLayer(channels, channels, 3, bias=bias)
        self.in1 = make_norm(norm, channels, affine)
        self.conv2 = ConvLayer(channels, channels, 3, bias=bias)
        self.in2 = make_norm(norm, channels, affine)
        self.relu = nn.ReLU()

    def forward(self, x):
        y = self.relu(self.in1(self.conv1(x)))
        return x + self.in2(self.conv2(y))
