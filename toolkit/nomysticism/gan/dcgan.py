"""Radford, Metz & Chintala 2015, "Unsupervised representation learning with deep convolutional GANs".

The DCGAN recipe (§3–4): G maps z ~ N(0, I) (nz = 100) by transposed convolutions to an image,
doubling the size per block, with batch norm and ReLU, ending in tanh; D mirrors it with strided
convolutions, LeakyReLU 0.2 and batch norm (not on D's first layer), no pooling, no fully
connected layers; weights from N(0, 0.02); Adam lr 2e-4, β1 0.5. Both play Goodfellow 2014, eq. 1:

    min_G max_D  E_x[log D(x)] + E_z[log(1 − D(G(z)))].

- :func:`weights_init` (§4), :class:`DCGANGenerator` (fig. 1), :class:`DCGANDiscriminator`;
- :class:`DCGAN`: both nets, their optimisers and one ``train_step`` (vanilla, LSGAN or WGAN-GP
  with a layer-norm critic and ``n_critic`` critic steps per G step, Gulrajani 2017, alg. 1).
"""

from __future__ import annotations

import math
from collections import OrderedDict

import torch
from torch import nn

from ..blocks import make_norm
from ..runtime import module_device
from .base import _adam, _Model, _take, _to_01, _to_pm1
from .losses import _check_mode, d_loss, g_loss, gradient_penalty

__all__ = ["weights_init", "DCGANGenerator", "DCGANDiscriminator", "DCGAN"]


def weights_init(m: nn.Module, std: float = 0.02) -> None:
    """Radford 2015 §4: weights from N(0, 0.02); norm layers' scales from N(1, 0.02), biases 0."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(m.weight, 0.0, std)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d, nn.InstanceNorm2d, nn.GroupNorm)):
        if m.weight is not None:
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)


def _n_up(size: int) -> int:
    n = int(round(math.log2(size))) - 2
    if size < 16 or 2 ** (n + 2) != size:
        raise ValueError(f"DCGAN sizes are powers of two >= 16, not {size}")
    return n


def _up_blocks(cin: int, n: int, channels: int) -> OrderedDict:
    layers = OrderedDict()
    for i in range(1, n):
        layers[f"up{i}"] = nn.Sequential(
            nn.ConvTranspose2d(cin, cin // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(cin // 2), nn.ReLU(True))
        cin //= 2
    layers[f"up{n}"] = nn.ConvTranspose2d(cin, channels, 4, 2, 1, bias=False)
    layers["tanh"] = nn.Tanh()
    return layers


def _down_blocks(channels: int, ndf: int, n: int, norm: str) -> tuple[OrderedDict, int]:
    """D's strided convs; ``norm`` "batch" (the paper), "layer" (a WGAN-GP critic: no batch norm) or "none"."""
    layers = OrderedDict()
    layers["down1"] = nn.Sequential(nn.Conv2d(channels, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True))
    c = ndf
    for i in range(2, n + 1):
        layers[f"down{i}"] = nn.Sequential(
            nn.Conv2d(c, c * 2, 4, 2, 1, bias=False), make_norm(norm, c * 2), nn.LeakyReLU(0.2, True))
        c *= 2
    return layers, c


class DCGANGenerator(nn.Module):
    """Radford 2015 fig. 1: z (N,nz) → 4×4 by a transposed conv, then ×2 per block (BN, ReLU) to
    ``size``; tanh. Output in [-1, 1]. Named layers: ``project``, ``up1`` … ``tanh``."""

    def __init__(self, nz: int = 100, ngf: int = 64, size: int = 64, channels: int = 3):
        super().__init__()
        n = _n_up(size)
        c = ngf * 2 ** (n - 1)
        self.nz = nz
        layers = OrderedDict(project=nn.Sequential(
            nn.ConvTranspose2d(nz, c, 4, 1, 0, bias=False), nn.BatchNorm2d(c), nn.ReLU(True)))
        layers.update(_up_blocks(c, n, channels))
        self.layers = nn.Sequential(layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.layers(z.view(z.shape[0], -1, 1, 1))


class DCGANDiscriminator(nn.Module):
    """Radford 2015 §3: strided convs, LeakyReLU 0.2, BN (not on the first layer), no pooling or
    fully connected layers; one logit per image. ``norm='layer'`` for a WGAN-GP critic."""

    def __init__(self, ndf: int = 64, size: int = 64, channels: int = 3, norm: str = "batch"):
        super().__init__()
        layers, c = _down_blocks(channels, ndf, _n_up(size), norm)
        layers["logit"] = nn.Conv2d(c, 1, 4, 1, 0, bias=False)
        self.layers = nn.Sequential(layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x).flatten()


def _d_stats(d_real, d_fake, mode) -> dict[str, float]:
    """D's accuracy on this batch (real scored above the threshold, fakes below)."""
    thr = 0.0 if mode == "vanilla" else 0.5
    if mode == "wgangp":
        return {"D_real": d_real.float().mean().item(), "D_fake": d_fake.float().mean().item()}
    acc = torch.cat([(d_real.float() > thr), (d_fake.float() <= thr)]).float().mean().item()
    return {"D_acc": acc}


class DCGAN(_Model):
    """Radford et al. 2015: DCGAN with the paper's recipe: N(0, 0.02) init, BatchNorm, LeakyReLU 0.2
    in D, Adam lr 2e-4 β1 0.5, nz 100. ``gan_mode`` vanilla / lsgan / wgangp (then the critic uses
    layer norm, a gradient penalty of weight ``lambda_gp`` and G steps every ``n_critic`` steps).

    ``size`` 16/32/64…, ``channels`` 3 (or 1 for digits). Data: a tensor (N,C,H,W) in [0,1].
    """

    def __init__(self, size: int = 64, channels: int = 3, nz: int = 100, ngf: int = 64, ndf: int = 64,
                 gan_mode: str = "vanilla", lr: float = 2e-4, betas=(0.5, 0.999), n_critic: int | None = None,
                 lambda_gp: float = 10.0, clip_grad: float | None = None, n_samples: int = 64, amp: bool = False):
        self.gan_mode = _check_mode(gan_mode)
        self.size, self.channels, self.nz = size, channels, nz
        self.n_critic = n_critic or (5 if gan_mode == "wgangp" else 1)
        self.lambda_gp, self.clip_grad, self.amp = lambda_gp, clip_grad, amp
        if gan_mode == "wgangp":
            betas = (0.0, 0.9) if betas == (0.5, 0.999) else betas  # Gulrajani 2017, alg. 1
        self.nets = self._build(size, channels, nz, ngf, ndf)
        for n in self.nets.values():
            n.apply(weights_init)
        self.opts = {"G": _adam(self.nets["G"].parameters(), lr, betas),
                     "D": _adam(self.nets["D"].parameters(), lr, betas)}
        self.fixed_z = torch.randn(n_samples, nz)
        # G's last losses, logged on critic-only steps too (NaN, a gap in plots, before G's first step)
        self.last_g: dict[str, float] = {"loss_G": math.nan}

    def _build(self, size, channels, nz, ngf, ndf):
        norm = "layer" if self.gan_mode == "wgangp" else "batch"
        return {"G": DCGANGenerator(nz, ngf, size, channels), "D": DCGANDiscriminator(ndf, size, channels, norm)}

    @property
    def G(self):
        return self.nets["G"]

    @property
    def D(self):
        return self.nets["D"]

    # data ---------------------------------------------------------------------------------------
    def draw(self, data, n: int):
        idx = self._randint(len(data), n)
        return (_take(data, idx),)

    def _cond(self, batch) -> tuple:
        return ()

    # one step -----------------------------------------------------------------------------------
    def train_step(self, batch, step: int, n_steps: int) -> dict[str, float]:
        """Goodfellow 2014, alg. 1: one D update (and one G update every ``n_critic`` steps); returns the losses."""
        real = _to_pm1(self._input(batch[0]))
        cond = tuple(c.to(self.device) for c in self._cond(batch))
        n = real.shape[0]
        # G and D train through their DDP wrappers under several processes (the plain nets otherwise);
        # the penalty's double backward and G's view of D use the plain D (DDP reduces D's gradients
        # in loss_d.backward, penalty included; D's gradients from G's step are discarded anyway)
        G, D, D_plain = self._net("G"), self._net("D"), self.D
        z = self._randn(n, self.nz)
        with self._autocast():
            fake = G(z, *cond)
            d_real, d_fake = D(real, *cond), D(fake.detach(), *cond)
            loss_d = d_loss(d_real, d_fake, self.gan_mode)
            if self.gan_mode == "wgangp":
                loss_d = loss_d + gradient_penalty(D_plain, real, fake, *cond, eps=self._rand(n),
                                                   weight=self.lambda_gp)
        self.opts["D"].zero_grad(set_to_none=True)
        loss_d.backward()
        self._clip(D)
        self.opts["D"].step()
        out = {"loss_D": loss_d.item(), **_d_stats(d_real, d_fake, self.gan_mode)}
        if step % self.n_critic == 0:
            with self._autocast():
                d_fake_g = D_plain(fake, *cond)
                loss_g = g_loss(d_fake_g, self.gan_mode)
            self.opts["G"].zero_grad(set_to_none=True)
            loss_g.backward()
            self._clip(G)
            self.opts["G"].step()
            self.last_g = {"loss_G": loss_g.item()}
        out.update(self.last_g)
        return out

    # sampling -----------------------------------------------------------------------------------
    @torch.no_grad()
    def generate(self, z: torch.Tensor | None = None, n: int = 16, *cond) -> torch.Tensor:
        """Images (N,C,H,W) in [0,1], on the CPU, from noise ``z`` (drawn if None). G runs in eval
        mode (its previous mode is restored), on the device its weights are on."""
        G = self.G
        dev = module_device(G)
        z = torch.randn(n, self.nz) if z is None else z
        cond = tuple(c.to(dev) for c in cond)
        with self._sampling(G):
            x = G(z.to(dev), *cond)
        return _to_01(x).cpu()

    def samples(self) -> torch.Tensor:
        """The fixed-noise sample batch (the same z all run long, so the grid shows progress)."""
        return self.generate(self.fixed_z)

    def extra_state(self):
        return {**super().extra_state(), "fixed_z": self.fixed_z.cpu(), "last_g": dict(self.last_g)}

    def load_extra_state(self, st):
        super().load_extra_state(st)
        self.fixed_z = st["fixed_z"].to(self.device)
        self.last_g = dict(st["last_g"])
