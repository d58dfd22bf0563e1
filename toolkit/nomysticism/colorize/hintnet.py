"""Zhang, Zhu, Isola, Geng, Lin, Yu & Efros 2017, "Real-Time User-Guided Image Colorization with
Learned Deep Priors" (SIGGRAPH): the local hints network, small, trained on simulated users.

§3.1: the network F maps the lightness X ∈ R^{H×W×1}, the hint mask M ∈ {0,1}^{H×W×1} and the
hints' chroma U_ab ∈ R^{H×W×2} (0 where M = 0) to the chroma of every pixel,

    Ŷ_ab = F(X, U_l; θ),   U_l = [M, U_ab],                                          (eq. 1)

and is trained on images whose hints are simulated from their own colours (§3.2): the number of
hints is geometric with p = 1/8, each at a uniform or a centred-Gaussian position, each the mean
colour of an N × N patch (N uniform in 1..9 at 256 px; here scaled to the image size), with the
smooth-ℓ1 (Huber, δ = 1) regression loss ℓ_δ on ab of the local hints network (§3.1):

    θ* = argmin_θ E[ ℓ_δ(F(X, U_l; θ), Y_ab) ].

The network sees the image's structure as well as the hints, so it can learn both where a
hint's colour should stop (edges, like Levin et al. 2004) and what colour an unhinted region
usually has. The paper's is a 30 M-parameter VGG-style U-Net trained on 1.3 M ImageNet photos;
this one is a 0.43 M-parameter U-Net trained for minutes on 64 px crops of the two bundled
colour photos that are not held out. Two photos and a few minutes cannot teach it to spread
hints, so it is handed that part: a parameter-free, lightness-guided pull-push fill of the hints
(:func:`pull_push`) enters every level of the U-Net, which predicts a correction to it
(see :class:`HintNet`).

- :data:`RECIPE` (= ``HINTNET_RECIPE``): THE settings of the shipped model;
- :func:`encode`: the input X = [L, M, U_ab] (the paper's normalisation);
- the simulated user of §3.2, the training loop and :func:`hint_scores` are in :mod:`.hintnet_train`;
- :func:`pull_push`: Gortler et al. 1996's scattered-data fill, the network's hint pyramid;
- :class:`HintNet`: the U-Net (fully convolutional: pads to a multiple of 2^depth and crops);
- :func:`save_hintnet`, :func:`load_hintnet`, :func:`pretrained_hintnet` (the shipped
  ``assets/colorize/hintnet.safetensors``, loaded once per device);
- :func:`hint_network`: the colouriser registered as ``METHODS["network"]``;
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from types import MappingProxyType

import torch
import torch.nn.functional as F
from torch import nn

from .. import checkpoint as ckpt
from ..assets import asset, asset_path
from ..blocks import make_norm
from ..runtime import module_device

__all__ = ["RECIPE", "HINTNET_RECIPE", "HINT_TRAIN_PHOTOS", "HINT_HELD_OUT_PHOTOS", "L_NORM",
           "L_CENT", "AB_NORM", "encode", "pull_push", "HintNet", "save_hintnet", "load_hintnet",
           "pretrained_hintnet", "hintnet_info", "hint_network"]

# The paper's code normalises L as (L − 50) / 100 and ab as ab / 110.
L_NORM, L_CENT, AB_NORM = 100.0, 50.0, 110.0

#: Colour photos (``nm.sample_image``) whose crops are trained on. The other colour photos are held
#: out whole; brick, grass, gravel, camera and coins are grey and of no use here.
HINT_TRAIN_PHOTOS = ("rocket", "hubble")
#: Colour photos kept out of training, for :func:`hint_scores`.
HINT_HELD_OUT_PHOTOS = ("astronaut", "coffee", "chelsea")

#: THE settings of the shipped hint network (``scripts/train_hintnet.py``; read-only).
RECIPE = MappingProxyType({
    "model": {"width": 16, "depth": 3, "norm": "none", "max_width": 64, "fill": True,
              "sigma": 6.0, "correction": "blend"},
    "size": 64, "n_crops": 1500, "crop_scale": (0.3, 1.0), "n_world": 0,
    "train_photos": HINT_TRAIN_PHOTOS, "held_out": HINT_HELD_OUT_PHOTOS,
    "steps": 600, "batch_size": 16, "lr": 2e-3, "lr_decay_at": 0.8, "seed": 0,
    "p": 1 / 8, "max_patch": 9, "patch_ref": 256, "gaussian": 0.5, "hue": 0.75, "delta": 1.0,
    "work_size": 256,
})
HINTNET_RECIPE = RECIPE
_FILE = "colorize/hintnet"


# --- the input (§3.1) ---

def encode(L: torch.Tensor, mask: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    """Zhang et al. 2017, §3.1, eq. 1's input: X = [(L − 50)/100, M, U_ab/110], (N,4,H,W) float32.

    ``L`` (N,1,H,W) in [0, 100], ``mask`` (N,1,H,W) bool or 0/1, ``ab`` (N,2,H,W) Lab units; U_ab
    is ``ab`` where the mask is set and exactly 0 elsewhere.
    """
    m = mask.to(torch.float32)
    return torch.cat([(L.float() - L_CENT) / L_NORM, m, ab.float() * m / AB_NORM], 1)


# --- the network (§3.1, fig. 2, scaled down) ---

_OFFSETS = torch.tensor([(dy, dx) for dy in (-1.0, 0.0, 1.0) for dx in (-1.0, 0.0, 1.0)])


def _push_weights(H: int, W: int, like: torch.Tensor) -> torch.Tensor:
    """(9,H,W): Gaussian (σ = 1 coarse pixel) weights of a fine pixel's parent's 3×3 coarse
    neighbours, by the fine pixel's offset (±¼ coarse pixel) from its parent's centre."""
    ys = (torch.arange(H) % 2).to(like) * 0.5 - 0.25
    xs = (torch.arange(W) % 2).to(like) * 0.5 - 0.25
    o = _OFFSETS.to(like)
    d2 = (o[:, 0, None, None] - ys[None, :, None]) ** 2 + (o[:, 1, None, None] - xs[None, None, :]) ** 2
    return torch.exp(-d2 / 2)


def _parents(t: torch.Tensor, H: int, W: int) -> torch.Tensor:
    """(B,C,9,H,W): for each pixel of the H × W level below ``t`` (B,C,h,w), its parent's 3×3
    neighbourhood in ``t`` (replicated at the border)."""
    B, C, h, w = t.shape
    t = F.unfold(F.pad(t, (1, 1, 1, 1), mode="replicate"), 3).view(B, C, 9, h, w)
    return t.repeat_interleave(2, -2).repeat_interleave(2, -1)[..., :H, :W]


def pull_push(m: torch.Tensor, u: torch.Tensor, guide: torch.Tensor | None = None,
              sigma: float = 6.0, levels: int | None = None) -> list[torch.Tensor]:
    """Gortler, Grzeszczuk, Szeliski & Cohen 1996, "The Lumigraph": pull-push, with a joint
    bilateral push (as Kopf et al. 2007's joint bilateral upsampling): scattered values ``u`` (B,C,H,W, already × weight) with
    weights ``m`` (B,1,H,W) filled in everywhere, stopping at edges of ``guide`` (B,1,H,W).

    The guide's value at the hints, λ, travels with the values (as one more channel). Pull:
    w_{l+1}, s_{l+1} = 2×2 sums of w_l, s_l, down to one pixel. Push: from the weighted mean of all
    values at the top,

        c_l = min(1, w_l) s_l / w_l + (1 − min(1, w_l)) ↑c_{l+1},
        ↑c(p) = Σ_q k(p, q) exp(−(g(p) − λ_{l+1}(q))² / 2σ²) c_{l+1}(q) / Σ_q (same weights)

    over the parent's 3×3 coarse neighbours q (k: a Gaussian of one coarse pixel; g the guide
    averaged to level l): a pixel takes the colours of hints whose lightness is like its own.
    No ``guide``: the plain pull-push. Returns [c_0, c_1, …], the fill at full resolution and at
    each 1/2^l (``levels`` of them, all if None). Parameter-free and differentiable.
    """
    guide = torch.zeros_like(m) if guide is None else guide
    ws, ss, gs = [m], [torch.cat([u, guide * m], 1)], [guide]
    while min(ws[-1].shape[-2:]) > 1:
        pad = (0, ws[-1].shape[-1] % 2, 0, ws[-1].shape[-2] % 2)
        ws.append(F.avg_pool2d(F.pad(ws[-1], pad), 2) * 4)
        ss.append(F.avg_pool2d(F.pad(ss[-1], pad), 2) * 4)
        gs.append(F.avg_pool2d(F.pad(gs[-1], pad, mode="replicate"), 2))
    c = (ss[-1].sum((2, 3), keepdim=True) / ws[-1].sum((2, 3), keepdim=True).clamp(min=1e-12)
         ).expand_as(ss[-1])
    out = [c]
    for lev in range(len(ws) - 2, -1, -1):
        w, s, g = ws[lev], ss[lev], gs[lev]
        H, W = w.shape[-2:]
        par = _parents(c, H, W)                                   # (B,C+1,9,H,W), λ last
        k = _push_weights(H, W, c) * torch.exp(-(g[:, :, None] - par[:, -1:]) ** 2 / (2 * sigma**2))
        up = (k * par).sum(2) / k.sum(2).clamp(min=1e-12)
        a = w.clamp(max=1)
        c = a * s / w.clamp(min=1e-12) + (1 - a) * up
        out.append(c)
    out = [t[:, :-1] for t in out[::-1]]
    return out if levels is None else out[:levels]


def _conv(cin: int, cout: int, norm: str, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, padding=dilation, dilation=dilation,
                                   bias=norm == "none"),
                         make_norm(norm, cout), nn.ReLU(inplace=True))


class HintNet(nn.Module):
    """Zhang et al. 2017, §3.1, fig. 2 (the local hints network), small: X (N,4,H,W) → ab (N,2,H,W).

    A U-Net: two 3×3 conv-norm-ReLU per level, min(``width`` × 2^i, ``max_width``) channels at
    1/2^i resolution (i = 0..``depth``, strided convolutions down), two dilated (×2) convolutions
    at the bottom for a wider receptive field, transposed convolutions up with the paper's additive
    shortcut connections (a 3×3 conv of the encoder's feature, added), a 1×1 head.

    Ours, not the paper's (``fill=True``): every level l also gets the hints filled in by
    :func:`pull_push` at its resolution (c_l: their U_ab spread everywhere, and their local
    weight), and the head corrects the full-resolution fill c_0. ``correction="blend"`` (shipped):
    Ŷ_ab = c_0 + Σ_{l≥1} tanh(h_l) (↑c_l − c_0), a per-pixel re-blend with the coarser fills
    (bilinearly upsampled), so the network decides how far each hint's colour reaches but cannot
    invent a colour: no hints still gives grey, and one hint on a flat image its colour everywhere.
    ``"add"``: Ŷ_ab = c_0 + h, free to learn typical colours (with two training photos it learns
    theirs, and loses on held-out photos). The head starts near zero (Ŷ ≈ c_0). The paper's network
    learns the spreading from a million images; this hands it to a network trained for minutes.
    ``fill=False``: the plain U-Net, tanh × 110 on the head.

    Any H, W: the input is padded (L replicated, no hints) to a multiple of 2^depth and the output
    cropped.
    """

    def __init__(self, width: int = 16, depth: int = 3, norm: str = "none", max_width: int = 64,
                 fill: bool = True, sigma: float = 6.0, correction: str = "blend"):
        super().__init__()
        if correction not in ("blend", "add"):
            raise ValueError(f"correction must be 'blend' or 'add', not {correction!r}")
        self.config = {"arch": "HintNet", "width": width, "depth": depth, "norm": norm,
                       "max_width": max_width, "fill": fill, "sigma": sigma, "correction": correction}
        self.depth, self.fill, self.sigma, self.correction = depth, fill, sigma, correction
        extra = 3 if fill else 0
        ch = [min(width * 2**i, max_width) for i in range(depth + 1)]
        self.enc = nn.ModuleList([nn.Sequential(_conv(4 + extra, ch[0], norm), _conv(ch[0], ch[0], norm))])
        for i in range(1, depth + 1):
            self.enc.append(nn.Sequential(_conv(ch[i - 1] + extra, ch[i], norm, stride=2),
                                          _conv(ch[i], ch[i], norm)))
        self.mid = nn.Sequential(_conv(ch[-1] + extra, ch[-1], norm, dilation=2),
                                 _conv(ch[-1], ch[-1], norm, dilation=2))
        self.up = nn.ModuleList([nn.ConvTranspose2d(ch[i + 1], ch[i], 4, 2, 1) for i in range(depth)])
        self.short = nn.ModuleList([nn.Conv2d(ch[i], ch[i], 3, padding=1) for i in range(depth)])
        self.dec = nn.ModuleList([nn.Sequential(nn.ReLU(inplace=True), _conv(ch[i], ch[i], norm))
                                  for i in range(depth)])
        self.head = nn.Conv2d(ch[0], depth if fill and correction == "blend" else 2, 1)
        for mod in self.modules():   # He et al. 2015 init, so that signals keep their scale unnormalised
            if isinstance(mod, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.kaiming_normal_(mod.weight, nonlinearity="relu")
                if mod.bias is not None:
                    nn.init.zeros_(mod.bias)
        for t in (self.up, self.short):   # the two summed branches: half the variance each
            for mod in t:
                mod.weight.data.mul_(0.5**0.5)
        nn.init.normal_(self.head.weight, std=1e-3)   # fill: start at the fill (a small correction)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        H, W = x.shape[-2:]
        m = 2**self.depth
        ph, pw = -H % m, -W % m
        if ph or pw:   # L by replication, no hints in the padding
            x = torch.cat([F.pad(x[:, :1], (0, pw, 0, ph), mode="replicate"),
                           F.pad(x[:, 1:], (0, pw, 0, ph))], 1)
        if self.fill:
            w, u = x[:, 1:2], x[:, 2:4]
            wsum = [w]
            for _ in range(self.depth):
                wsum.append(F.avg_pool2d(wsum[-1], 2) * 4)
            fills = pull_push(w, u, x[:, :1] * L_NORM, self.sigma, self.depth + 1)
            side = [torch.cat([c, v.clamp(max=1)], 1) for c, v in zip(fills, wsum)]
        feats = []
        for i, enc in enumerate(self.enc):
            if self.fill:      # the fill at the resolution of this level's input
                x = torch.cat([x, side[max(i - 1, 0)]], 1)
            x = enc(x)
            feats.append(x)
        if self.fill:
            x = torch.cat([x, side[self.depth]], 1)
        x = self.mid(x)
        for i in reversed(range(self.depth)):
            x = self.dec[i](self.up[i](x) + self.short[i](feats[i]))
        if self.fill and self.correction == "blend":   # Ŷ = c_0 + Σ_l tanh(h_l) (↑c_l − c_0)
            h = torch.tanh(self.head(x))
            out = fills[0]
            for lev in range(1, self.depth + 1):
                up = F.interpolate(fills[lev], size=out.shape[-2:], mode="bilinear", align_corners=False)
                out = out + h[:, lev - 1:lev] * (up - fills[0])
            out = out * AB_NORM
        elif self.fill:
            out = (fills[0] + self.head(x)) * AB_NORM
        else:
            out = torch.tanh(self.head(x)) * AB_NORM
        return out[..., :H, :W]


# --- models as files ---

def save_hintnet(model: HintNet, path, metadata: dict | None = None) -> Path:
    """A :class:`HintNet` as safetensors, its config (and ``metadata``, JSON) in the header."""
    meta = {"config": json.dumps(model.config)}
    meta.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in (metadata or {}).items()})
    return ckpt.save_weights(copy.deepcopy(model).float().cpu(), path, metadata=meta)


def load_hintnet(path, device=None) -> HintNet:
    """A network written by :func:`save_hintnet` (safetensors, no pickle), in eval mode."""
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        meta = f.metadata() or {}
    cfg = json.loads(meta.get("config", "{}"))
    if cfg.pop("arch", None) != "HintNet":
        raise ValueError(f"{path}: not a HintNet (no HintNet config in the safetensors header)")
    model = ckpt.load_weights(HintNet(**cfg), path)
    model.metadata = meta
    return model.eval().to(device or "cpu")


_LOADED: dict[str, HintNet] = {}  # the shipped network, once per device (read-only use)


def pretrained_hintnet(device=None) -> HintNet:
    """The shipped network (``assets/colorize/hintnet.safetensors``), loaded once per device."""
    dev = torch.device(device or "cpu")
    key = str(dev)
    if key not in _LOADED:
        with asset_path(f"{_FILE}.safetensors") as p:
            _LOADED[key] = load_hintnet(p, dev)
    return _LOADED[key]


def hintnet_info() -> dict:
    """The shipped network's training record (``assets/colorize/hintnet.json``)."""
    return json.loads(asset(f"{_FILE}.json").read_text("utf-8"))


# --- the colouriser ---

def _to_work(L, mask, ab, size: int):
    """L resized so that its longer side is ``size`` (area average); each hint moved to the work
    pixel that contains it (hints sharing one are averaged)."""
    H, W = L.shape[-2:]
    s = size / max(H, W)
    h, w = max(1, round(H * s)), max(1, round(W * s))
    Lw = F.interpolate(L, (h, w), mode="area")
    ys, xs = torch.nonzero(mask[0, 0], as_tuple=True)
    idx = (ys * h // H) * w + xs * w // W
    cnt = ab.new_zeros(h * w).index_add_(0, idx, ab.new_ones(len(ys)))
    sums = ab.new_zeros(2, h * w).index_add_(1, idx, ab[0][:, ys, xs])
    mw = (cnt > 0).reshape(1, 1, h, w)
    abw = (sums / cnt.clamp(min=1)).reshape(1, 2, h, w)
    return Lw, mw, abw


@torch.no_grad()
def hint_network(L: torch.Tensor, mask: torch.Tensor, ab: torch.Tensor, model: HintNet | None = None,
                 work_size: int | None = RECIPE["work_size"]) -> torch.Tensor:
    """Zhang et al. 2017, eq. 1: Ŷ_ab = F(X, U_l), the colouriser ``METHODS["network"]``.

    ``L`` (1,1,H,W) in [0, 100], ``mask`` (1,1,H,W) bool, ``ab`` (1,2,H,W); returns ab (1,2,H,W)
    on L's device. The network (default: the shipped one, loaded once on L's device) runs on at
    most ``work_size`` px along the longer side (None: always at full size); a larger image has
    its hints moved to the work pixels that contain them and the ab upsampled bilinearly (chroma
    is smooth). The hint pixels keep their hint's chroma.
    """
    net = model if model is not None else pretrained_hintnet(L.device)
    dev, home = module_device(net), L.device
    L, mask, ab = L.to(dev), mask.to(dev).bool(), ab.to(dev)
    H, W = L.shape[-2:]
    if work_size is not None and max(H, W) > work_size:
        Lw, mw, abw = _to_work(L.double(), mask, ab.double(), work_size)
    else:
        Lw, mw, abw = L, mask, ab
    out = net(encode(Lw, mw, abw)).double()
    if out.shape[-2:] != (H, W):
        out = F.interpolate(out, (H, W), mode="bilinear", align_corners=False)
    out = torch.where(mask, ab.double(), out)
    return out.to(home)
