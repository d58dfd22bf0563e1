"""Mirza & Osindero 2014, "Conditional generative adversarial nets".

Both players see the condition y (§3.2), so eq. 2 becomes

    min_G max_D  E_x[log D(x | y)] + E_z[log(1 − D(G(z | y) | y))].

Here y is a class, given as a one-hot vector: G reads [z ; onehot(y)] (the seed's poster GAN:
100 + 20 genres = 120 inputs) through a linear layer to a 4×4 map, then DCGAN up-blocks; D reads
the image with ``n_classes`` constant maps (x ; onehot(y)) joined as extra channels.

- :class:`ConditionalGenerator`, :class:`ConditionalDiscriminator`;
- :class:`ConditionalGAN`: a :class:`~nomysticism.gan.DCGAN` whose data are ``(images, labels)``.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from .base import _take
from .dcgan import DCGAN, _down_blocks, _n_up, _up_blocks

__all__ = ["ConditionalGenerator", "ConditionalDiscriminator", "ConditionalGAN"]


class ConditionalGenerator(nn.Module):
    """Mirza & Osindero 2014 §3.2, in the seed's poster-GAN shape: [z ; onehot(y)] (nz + n_classes
    inputs, 100 + 20 = 120 for posters) → a linear layer to a 4×4 map, then DCGAN up-blocks."""

    def __init__(self, n_classes: int, nz: int = 100, ngf: int = 64, size: int = 64, channels: int = 3):
        super().__init__()
        n = _n_up(size)
        c = ngf * 2 ** (n - 1)
        self.nz, self.n_classes, self.c0 = nz, n_classes, c
        self.linear = nn.Linear(nz + n_classes, c * 16, bias=False)
        layers = OrderedDict(project=nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(True)))
        layers.update(_up_blocks(c, n, channels))
        self.layers = nn.Sequential(layers)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = torch.cat([z.flatten(1), F.one_hot(y, self.n_classes).to(z.dtype)], 1)
        return self.layers(self.linear(h).view(-1, self.c0, 4, 4))


class ConditionalDiscriminator(nn.Module):
    """Mirza & Osindero 2014 §3.2: D sees the condition too. The one-hot label is joined to the
    image as ``n_classes`` constant maps (x ; onehot(y)), then DCGAN down-blocks; one logit."""

    def __init__(self, n_classes: int, ndf: int = 64, size: int = 64, channels: int = 3, norm: str = "batch"):
        super().__init__()
        self.n_classes = n_classes
        layers, c = _down_blocks(channels + n_classes, ndf, _n_up(size), norm)
        layers["logit"] = nn.Conv2d(c, 1, 4, 1, 0, bias=False)
        self.layers = nn.Sequential(layers)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        maps = F.one_hot(y, self.n_classes).to(x.dtype)[:, :, None, None].expand(-1, -1, *x.shape[-2:])
        return self.layers(torch.cat([x, maps], 1)).flatten()


class ConditionalGAN(DCGAN):
    """Mirza & Osindero 2014: a DCGAN whose G and D both see the class. G takes [z ; onehot(y)]
    (100 + ``n_classes`` inputs) into a linear layer (the seed's poster GAN: 100 + 20 = 120);
    D sees the one-hot as extra input maps. Data: a pair ``(images, labels)``.

    ``n_classes``: 5 for shapes, 10 for digits, 20 for the posters' genres.
    """

    def __init__(self, n_classes: int, size: int = 64, channels: int = 3, **kw):
        self.n_classes = n_classes
        super().__init__(size, channels, **kw)
        n = self.fixed_z.shape[0]
        self.fixed_y = torch.arange(n) % n_classes  # each row of the sample grid: one class per column

    def _build(self, size, channels, nz, ngf, ndf):
        norm = "layer" if self.gan_mode == "wgangp" else "batch"
        return {"G": ConditionalGenerator(self.n_classes, nz, ngf, size, channels),
                "D": ConditionalDiscriminator(self.n_classes, ndf, size, channels, norm)}

    def draw(self, data, n):
        images, labels = data
        idx = self._randint(len(labels), n)
        return _take(images, idx), labels[idx]

    def _cond(self, batch):
        return (batch[1].long(),)

    @torch.no_grad()
    def generate(self, z=None, n: int = 16, y=None) -> torch.Tensor:
        """Images for labels ``y`` (N,) (random if None) from noise ``z``, in [0,1]."""
        n = len(z) if z is not None else (len(y) if y is not None else n)
        y = torch.randint(0, self.n_classes, (n,)) if y is None else torch.as_tensor(y).long()
        return super().generate(z, n, y)

    def samples(self):
        return self.generate(self.fixed_z, y=self.fixed_y)

    def extra_state(self):
        return {**super().extra_state(), "fixed_y": self.fixed_y.cpu()}

    def load_extra_state(self, st):
        super().load_extra_state(st)
        self.fixed_y = st["fixed_y"]
