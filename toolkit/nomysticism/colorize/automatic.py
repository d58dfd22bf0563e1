"""Automatic colourisation: a network guesses ab from L alone (Zhang, Isola & Efros 2016).

    import nomysticism as nm
    from nomysticism import colorize
    grey = nm.color.to_gray(nm.sample_image("chelsea", 256))
    out = colorize.automatic(grey)                        # the shipped Zhang-2016 model
    out = colorize.automatic(grey, "regression")          # the L2 baseline (eq. 1)

Three stages on one small network (:class:`~.nets.ColorNet`), each shipped in
``nomysticism/assets/colorize/<name>.safetensors`` with a ``<name>.json`` training record:

1. ``"regression"``: eq. 1, L2 on ab. Where colour is ambiguous it predicts the mean: grey-ish;
2. ``"zhang2016"``: eq. 2–5, classification over the ab bins with soft targets, class
   rebalancing and the annealed mean at temperature T;
3. ``"perceptual"``: the regression plus a pretrained network's feature loss
   (:class:`~.nets.FeatureLoss`, EfficientNet-Lite0): the student project's "second network".

- :func:`automatic`: colour one image (RGB or grey; only its L is read, and kept);
- :func:`train`: the loop for any stage, on :class:`nomysticism.progress.Loop` and
  :class:`nomysticism.checkpoint.TrainingRun` (bit-for-bit resume), on
  :func:`nomysticism.runtime.device`;
- :func:`world_scores`, :func:`photo_scores`: the numbers of ``bench/colorize.py`` (chroma on the
  world's ambiguous objects, PSNR, colourfulness on the held-out photos);
- :func:`training_data`: the procedural world + random crops of the training photos (+ a folder);
- :func:`export`, :func:`load_model`, :func:`list_pretrained`, :func:`pretrained_info`,
  :func:`load_pretrained`: models as safetensors with their config in the header.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .. import checkpoint as ckpt
from ..assets import asset_path
from ..checkpoint import TrainingRun
from ..color import rgb_to_lab
from ..data import ImageFolder, random_crops
from ..metrics import psnr
from ..progress import Loop
from ..runtime import device as pick_device
from ..runtime import module_device
from . import zhang2016 as Z
from .nets import ColorNet, FeatureLoss, lab_rgb
from .recipes import DEFAULT_MODEL, HELD_OUT_PHOTOS, RECIPES, STAGES
from .world import chroma, world

__all__ = ["automatic", "predict_ab", "train", "training_data", "export", "load_model",
           "list_pretrained", "pretrained_info", "load_pretrained", "world_scores", "photo_scores"]

_FOLDER = "colorize"
_R = RECIPES["zhang2016"]


# --- models as files ---

def export(model: ColorNet, path, metadata: dict | None = None) -> Path:
    """Save a trained :class:`ColorNet` as safetensors, its config (and ``metadata``) in the header."""
    return ckpt.save_module(model, path, metadata)


_header = ckpt.read_metadata


def load_model(path, device=None) -> ColorNet:
    """Rebuild a network written by :func:`export` (safetensors only, no pickle; eval mode)."""
    meta = _header(path)
    if "config" not in meta:
        raise ValueError(f"{path}: no 'config' in the safetensors header (not written by export())")
    cfg = json.loads(meta["config"])
    if cfg.pop("arch", None) != "ColorNet":
        raise ValueError(f"{path}: not a ColorNet")
    model = ckpt.load_weights(ColorNet(**cfg), path)
    model.metadata = meta
    return model.eval().to(device or "cpu")


def list_pretrained() -> list[str]:
    """Names of the shipped automatic colourisers (``assets/colorize/<name>.safetensors`` holding a
    ColorNet; the folder also holds Zhang et al. 2017's hint network)."""
    return [n for n, cfg in ckpt.shipped_configs(_FOLDER).items() if cfg.get("arch") == "ColorNet"]


def pretrained_info(name: str) -> dict:
    """A shipped model's training record (``assets/colorize/<name>.json``): recipe, seconds, losses."""
    return ckpt.shipped_record(_FOLDER, name, list_pretrained())


def load_pretrained(name: str = DEFAULT_MODEL, device=None) -> ColorNet:
    """A shipped model by name (:func:`list_pretrained`), or the path of a file from :func:`export`."""
    if Path(name).suffix == ".safetensors" and Path(name).exists():
        return load_model(name, device)
    names = list_pretrained()
    if name not in names:
        raise ValueError(f"no shipped colourisation model {name!r}; available: "
                         f"{', '.join(names) or 'none'} (or the path of a .safetensors file)")
    with asset_path(f"{_FOLDER}/{name}.safetensors") as p:
        return load_model(p, device)


# --- inference ---

_LOADED: dict[str, ColorNet] = {}  # shipped models by name, loaded once (read-only use)


def _as_model(model) -> ColorNet:
    if model is None or isinstance(model, (str, Path)):
        name = str(model or DEFAULT_MODEL)
        if name not in _LOADED:
            _LOADED[name] = load_pretrained(name)
        return _LOADED[name]
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a ColorNet, a shipped name or a path, not {type(model).__name__}")
    return model


@torch.no_grad()
def predict_ab(model: ColorNet, L: torch.Tensor, T: float | None = None, size: int | None = None
               ) -> torch.Tensor:
    """Zhang et al. 2016, eq. 1 or 5: ab (N,2,H,W) for lightness L (N,1,H,W) in [0, 100].

    A larger image is shrunk so that the network runs at ``size`` (the longer side; None: as
    given; smaller images are never enlarged) and its ab is upsampled bilinearly to L's size, as
    the paper does (it predicts at ¼ resolution).
    """
    was = model.training
    model.eval()
    dev = module_device(model)
    H, W = L.shape[-2:]
    x = L.to(dev, torch.float32)
    if size is not None and max(H, W) > size:
        s = size / max(H, W)
        x = F.interpolate(x, size=(max(1, round(H * s)), max(1, round(W * s))), mode="bilinear",
                          antialias=True, align_corners=False)
    ab = model.predict_ab(x, T)
    if ab.shape[-2:] != (H, W):
        ab = F.interpolate(ab, size=(H, W), mode="bilinear", align_corners=False)
    model.train(was)
    return ab


def automatic(image: torch.Tensor, model=None, *, T: float | None = None,
              size: int | str | None = "auto") -> torch.Tensor:
    """Zhang et al. 2016, eq. 5 (or eq. 1 for a regression model): colour ``image`` from its L alone.

    ``image``: (1,3,H,W) / (3,H,W) RGB in [0, 1] or a grey (1,1,H,W); only its CIE L is read (its
    colours never are) and the output keeps it: RGB = Lab → sRGB of (L, predicted ab), clipped
    to the gamut. ``model``: None (the shipped ``"zhang2016"``), a shipped name
    (:func:`list_pretrained`), a path, or a :class:`ColorNet`. ``T``: the annealed-mean
    temperature (default: the model's). ``size``: the longest side the network runs at (``"auto"``:
    the model's recipe's ``work_size``; None: the image's own size); larger images are shrunk for
    the network and its ab upsampled. Returns (1,3,H,W) float32 on the
    image's device.
    """
    from . import lightness

    net = _as_model(model)
    if size == "auto":
        size = int(json.loads(getattr(net, "metadata", {}).get("recipe", "{}")).get("work_size", 0)) or None
    L = lightness(image)
    ab = predict_ab(net, L, T, size).to(L)
    return lab_rgb(L, ab).to(device=image.device, dtype=torch.float32)


# --- measurements (bench/colorize.py, the training records) ---

def world_scores(model, n: int = 300, size: int = 32, seed: int = 123, T: float | None = None) -> dict:
    """Zhang et al. 2016, §3.1 on the procedural world: the mean chroma on the ambiguous balls (the
    network's and the truth's) and the PSNR of whole images, on ``n`` fresh scenes (``seed``)."""
    net = _as_model(model)
    w = world(n, size, seed=seed)
    L = rgb_to_lab(w.images.double())[:, :1]
    rgb = lab_rgb(L, predict_ab(net, L, T).double()).float()
    got, truth = chroma(rgb, w.ambiguous), chroma(w.images, w.ambiguous)
    return {"chroma_ambiguous": got, "chroma_truth": truth, "ratio": got / truth,
            "chroma_all": chroma(rgb), "chroma_all_truth": chroma(w.images),
            "psnr": float(psnr(rgb, w.images).mean()),
            "T": None if net.out == "ab" else (T if T is not None else net.T)}


def photo_scores(model, photos=HELD_OUT_PHOTOS, side: int = 128, T: float | None = None,
                 size: int | str | None = "auto") -> dict:
    """Each photo (``nm.sample_image`` at ``side``) coloured from its L: PSNR and colourfulness
    (Hasler & Süsstrunk 2003) of the result, of the truth, and of the grey picture (ab = 0)."""
    from ..images import sample_image
    from ..metrics import colorfulness

    net, out = _as_model(model), {}
    for name in photos:
        x = sample_image(name, max_side=side)
        L = rgb_to_lab(x.double())[:, :1]
        grey = lab_rgb(L, torch.zeros_like(L).expand(-1, 2, -1, -1)).float()
        y = automatic(x, net, T=T, size=size)
        out[name] = {"psnr": float(psnr(y, x)), "psnr_grey": float(psnr(grey, x)),
                     "colorfulness": float(colorfulness(y)), "colorfulness_truth": float(colorfulness(x)),
                     "colorfulness_grey": float(colorfulness(grey))}
    return out


# --- training ---

def training_data(recipe: dict | str = "zhang2016", folder=None, n_folder: int | None = None,
                  ) -> torch.Tensor:
    """The recipe's training images (N,3,S,S): ``n_world`` scenes of :func:`world` and ``n_crops``
    random crops of ``train_photos`` (``nm.data.random_crops``), plus up to ``n_folder`` images of
    ``folder`` (``nm.data.ImageFolder``, e.g. COCO). The held-out photos are never used."""
    r = RECIPES[recipe] if isinstance(recipe, str) else recipe
    S, seed = r["size"], r["seed"]
    parts = [world(r["n_world"], S, seed=seed).images]
    if r["n_crops"]:
        parts.append(random_crops(r["n_crops"], S, seed=seed, sources=list(r["train_photos"]),
                                  scale=tuple(r["crop_scale"])))
    if folder is not None:
        ds = ImageFolder(folder, S)
        n = len(ds) if n_folder is None else min(n_folder, len(ds))
        parts.append(torch.stack([ds[i] for i in range(n)]))
    return torch.cat(parts)


@torch.no_grad()
def _preview(model: ColorNet, L: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """The batch's first 8 images as coloured now (from this step's output, no new forward pass)."""
    out = out[:8].detach()
    ab = Z.annealed_mean(out, model.bins, model.T, logits=True) if model.out == "bins" else out
    return lab_rgb(L[:8], ab).cpu()


def train(model: ColorNet, data: torch.Tensor, *, stage: str = "zhang2016", steps: int = _R["steps"],
          batch_size: int = _R["batch_size"], lr: float = _R["lr"], seed: int = _R["seed"],
          regression: str = "l2", lam: float = Z.LAMBDA, sigma: float = Z.SIGMA, k: int = Z.K,
          prior: torch.Tensor | None = None, feature_loss: FeatureLoss | None = None,
          feature_weight: float = 1.0, device=None, checkpoint=None, checkpoint_every: int = 100,
          resume: bool = True, progress: bool = True, callback: Callable | None = None,
          callback_every: int = 25, stop=None) -> dict:
    """Zhang et al. 2016, eq. 1 (``stage="regression"``), eq. 2–4 (``"zhang2016"``) or eq. 1 plus a
    feature loss (``"perceptual"``): train ``model`` with Adam on ``data`` (N,3,S,S) RGB in [0,1].

    ``"zhang2016"``: targets soft-encoded (``k`` nearest bins, ``sigma``), weighted by the class
    rebalancing of ``prior`` (default: the data's smoothed bin distribution) with ``lam``.
    ``"perceptual"``: ``regression`` + ``feature_weight`` × ``feature_loss`` (default
    :class:`FeatureLoss`) between the colourised and the true RGB. Batch s is drawn (with random
    flips) from a generator seeded by (seed, s), so a run resumed from ``checkpoint`` (saved
    atomically every ``checkpoint_every`` steps and at the end) matches an uninterrupted one.
    Every ``callback_every`` steps the mean loss is logged and ``callback(step, image, history)``
    (or ``callback(progress)``) runs; True or ``stop`` ends the run.
    Returns ``{"step", "loss", "seconds", "stage"}``.
    """
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {', '.join(STAGES)}, not {stage!r}")
    if (model.out == "bins") != (stage == "zhang2016"):
        raise ValueError(f"stage {stage!r} needs a ColorNet with out="
                         f"{'bins' if stage == 'zhang2016' else 'ab'}, not {model.out!r}")
    dev = pick_device(device)
    model.to(dev).train()
    lab_all = torch.cat([rgb_to_lab(b) for b in data.float().split(256)])  # (N,3,S,S), once
    weights = None
    if stage == "zhang2016":
        if prior is None:
            prior = Z.empirical_prior(lab_all[:, 1:].split(256), model.bins.cpu(), sigma)
        weights = Z.rebalance_weights(prior, lam).float().to(dev)
    if stage == "perceptual":
        feature_loss = (feature_loss or FeatureLoss()).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    run = TrainingRun(model, opt, checkpoint, total=steps, log_every=callback_every, every=checkpoint_every,
                      resume=resume, map_location=dev, stage=stage)
    start = run.start
    loop = Loop(steps, start=start, progress=progress, callback=callback, every=callback_every,
                stop=stop, desc=f"colorize {stage}")
    step = start
    for step in loop:
        g = torch.Generator().manual_seed(seed * 1_000_003 + step)
        idx = torch.randint(len(lab_all), (batch_size,), generator=g)
        flip = torch.rand(batch_size, generator=g) < 0.5
        lab = lab_all[idx]
        lab = torch.where(flip[:, None, None, None], lab.flip(-1), lab).to(dev)
        L, ab = lab[:, :1], lab[:, 1:]
        out = model(L)
        if stage == "zhang2016":
            loss = Z.classification_loss(out, Z.soft_encode(ab, model.bins, k, sigma), weights)
        else:
            loss = Z.regression_loss(out, ab, regression)
            if stage == "perceptual":
                rgb = data[idx].float()
                rgb = torch.where(flip[:, None, None, None], rgb.flip(-1), rgb).to(dev)
                loss = loss + feature_weight * feature_loss(lab_rgb(L, out), rgb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        value = float(loss.detach())
        run.record(step, value)
        loop.report(step, image=lambda L=L, out=out: _preview(model, L, out), info=run.history,
                    postfix={"loss": f"{value:.4g}"})
    loop.finish()
    hist = run.finish(step)
    model.eval()
    return hist
