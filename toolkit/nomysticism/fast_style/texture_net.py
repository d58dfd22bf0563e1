"""Ulyanov, Lebedev, Vedaldi & Lempitsky 2016, *Texture Networks: Feed-forward Synthesis of Textures
and Stylized Images*: a generator g(z) from a multi-scale noise pyramid.

Fig. 2 of the paper: noise z_1 … z_K, z_k at 1/2^(k−1) of the output size (K = 5); each scale goes
through a conv block; from the coarsest scale up, a join block upsamples ×2 and concatenates with
the next finer scale, and another conv block follows; a 1×1 conv gives RGB. Trained on the texture
loss alone it synthesises a texture; with the content image fed in at every scale it stylises
(the instance-norm sequel: :class:`~nomysticism.blocks.InstanceNorm2d`, Ulyanov et al. 2016, eq. 2).

- :class:`ConvBlock`: 3×3, 3×3, 1×1 convolutions (circular padding), norm, LeakyReLU;
- :class:`JoinBlock`: nearest ×2, norm both streams, concatenate;
- :class:`TextureNetwork`: the generator (``content=True`` for stylisation).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..blocks import make_norm

__all__ = ["ConvBlock", "JoinBlock", "TextureNetwork"]


class ConvBlock(nn.Sequential):
    """Ulyanov et al. 2016, fig. 2 "conv block": 3×3, 3×3 and 1×1 convolutions, each followed by a
    norm and LeakyReLU(0.01); circular padding as in the paper's tileable textures."""

    def __init__(self, cin: int, cout: int, norm: str = "batch"):
        layers = []
        for k, (a, b) in zip((3, 3, 1), ((cin, cout), (cout, cout), (cout, cout))):
            layers += [nn.Conv2d(a, b, k, padding=k // 2, padding_mode="circular"),
                       make_norm(norm, b), nn.LeakyReLU(0.01)]
        super().__init__(*layers)


class JoinBlock(nn.Module):
    """Ulyanov et al. 2016, fig. 2 "join": upsample the coarser stream ×2 (nearest), normalise both
    streams, concatenate along channels."""

    def __init__(self, c_coarse: int, c_fine: int, norm: str = "batch"):
        super().__init__()
        self.norm_coarse = make_norm(norm, c_coarse)
        self.norm_fine = make_norm(norm, c_fine)

    def forward(self, coarse, fine):
        coarse = F.interpolate(coarse, size=fine.shape[-2:], mode="nearest")
        return torch.cat([self.norm_coarse(coarse), self.norm_fine(fine)], 1)


class TextureNetwork(nn.Module):
    """Ulyanov et al. 2016, fig. 2: g(z) from a noise pyramid z_1 … z_K (z_k at 1/2^(k−1) of the size).

    Each scale passes its noise (plus, for stylisation, the content image downsampled to that
    scale) through a :class:`ConvBlock`; from the coarsest scale up, :class:`JoinBlock` upsamples
    and concatenates, and another conv block follows; a final 1×1 conv gives RGB (sigmoid). Channels
    grow by ``channels`` per scale (8 in the paper). ``norm="batch"`` is the paper, ``"instance"`` its
    sequel. ``content=False``: a texture generator, called as ``net(n=4, size=(256, 256))``;
    ``content=True``: a stylisation network, called as ``net(image)``.
    """

    def __init__(self, scales: int = 5, channels: int = 8, noise_channels: int = 3, norm: str = "batch",
                 content: bool = False):
        super().__init__()
        self.config = {"arch": "TextureNetwork", "scales": scales, "channels": channels,
                       "noise_channels": noise_channels, "norm": norm, "content": content}
        self.scales, self.noise_channels, self.takes_content = scales, noise_channels, content
        cin = noise_channels + (3 if content else 0)
        self.blocks = nn.ModuleList([ConvBlock(cin, channels, norm) for _ in range(scales)])
        self.joins = nn.ModuleList()
        self.after = nn.ModuleList()
        c = channels
        for _ in range(scales - 1):  # from the coarsest upward
            self.joins.append(JoinBlock(c, channels, norm))
            c = c + channels
            self.after.append(ConvBlock(c, c, norm))
        self.to_rgb = nn.Conv2d(c, 3, 1)

    def noise(self, n: int, size, generator: torch.Generator | None = None, device=None) -> list:
        """Ulyanov et al. 2016, §3: the noise pyramid, K tensors U(0,1) of shape
        (n, noise_channels, H/2^k, W/2^k), drawn on the CPU (so a seeded ``generator`` gives the same
        noise on every device)."""
        h, w = (size, size) if isinstance(size, int) else size
        dev = device or self.to_rgb.weight.device
        out = []
        for k in range(self.scales):
            s = 2**k
            z = torch.rand(n, self.noise_channels, max(1, math.ceil(h / s)), max(1, math.ceil(w / s)),
                           generator=generator)
            out.append(z.to(dev))
        return out

    def forward(self, x: torch.Tensor | None = None, *, n: int = 1, size=None, noise: list | None = None,
                generator: torch.Generator | None = None) -> torch.Tensor:
        if self.takes_content:
            if x is None:
                raise ValueError("this texture network stylises: call it with a content image")
            n, size = x.shape[0], x.shape[-2:]
        elif size is None and x is not None:
            n, size = x.shape[0], x.shape[-2:]
        elif size is None:
            raise ValueError("a texture network needs size=(H, W) (or an image to copy the size of)")
        if noise is None:
            noise = self.noise(n, size, generator, device=self.to_rgb.weight.device)
        inputs = []
        for k, z in enumerate(noise):
            if self.takes_content:  # the content image at this scale, next to the noise
                xs = x if k == 0 else F.interpolate(x, size=z.shape[-2:], mode="bilinear",
                                                   align_corners=False, antialias=True)
                z = torch.cat([z.to(xs.dtype), xs], 1)
            inputs.append(self.blocks[k](z))
        y = inputs[-1]
        for j, k in enumerate(range(self.scales - 2, -1, -1)):
            y = self.after[j](self.joins[j](y, inputs[k]))
        h, w = (size, size) if isinstance(size, int) else size
        return torch.sigmoid(self.to_rgb(y))[..., :h, :w]
