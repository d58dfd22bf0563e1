"""Zhang et al. 2017, §3.2: the simulated user, training on it, and the evaluation with random
hints (§4) — the training side of :mod:`.hintnet`.

- :func:`sample_count`, :func:`sample_patches`, :func:`patch_hints`, :func:`simulate_hints`:
  the simulated user of §3.2;
- :func:`training_data`: random crops of the training photos (+ optional :func:`~.world.world` scenes);
- :func:`train_hintnet`: Adam on the Huber loss, with :class:`~nomysticism.progress.Loop` and
  :class:`~nomysticism.checkpoint.TrainingRun` (bit-for-bit resume);
- :func:`hint_scores`: PSNR on the held-out photos against Levin, nearest and grey.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from ..checkpoint import TrainingRun
from ..color import hue_shift, lab_to_rgb, rgb_to_lab
from ..data import random_crops
from ..metrics import psnr
from ..progress import Loop
from ..runtime import device as pick_device
from .hintnet import HINT_HELD_OUT_PHOTOS, RECIPE, HintNet, encode

__all__ = ["sample_count", "sample_patches", "patch_hints", "simulate_hints", "training_data",
           "train_hintnet", "hint_scores"]

# --- the simulated user (§3.2) ---

def sample_count(n: int, p: float = 1 / 8, generator: torch.Generator | None = None) -> torch.Tensor:
    """Zhang et al. 2017, §3.2: ``n`` numbers of hints, geometric on {0, 1, 2, …} with parameter
    ``p`` (P(k) = (1−p)^k p, mean 1/p − 1 = 7 for p = 1/8)."""
    return torch.empty(n, dtype=torch.float64).geometric_(p, generator=generator).long() - 1


def sample_patches(H: int, W: int, k: int, max_patch: int = 2, gaussian: float = 0.5,
                   generator: torch.Generator | None = None) -> list[tuple[int, int, int]]:
    """Zhang et al. 2017, §3.2: ``k`` hint patches ``(y, x, N)`` (top-left corner, side) in an H × W
    image: N uniform in 1..``max_patch``; the corner uniform, or with probability ``gaussian`` drawn
    from a Gaussian about the centre (σ = a quarter of the free range, clipped), as in the
    authors' code."""
    out = []
    for _ in range(int(k)):
        n = int(torch.randint(1, max_patch + 1, (1,), generator=generator))
        n = min(n, H, W)
        centred = float(torch.rand(1, generator=generator)) < gaussian
        z = torch.randn(2, generator=generator) if centred else torch.rand(2, generator=generator)
        pos = []
        for size, t in zip((H, W), z.tolist()):
            free = size - n + 1                      # corners 0 .. size − n
            v = (free / 2 + free / 4 * t) if centred else t * free
            pos.append(min(max(int(v), 0), size - n))
        out.append((pos[0], pos[1], n))
    return out


def patch_hints(ab: torch.Tensor, patches: Sequence[tuple[int, int, int]]
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """Zhang et al. 2017, §3.2: one image's hints from its own chroma ``ab`` (2,H,W): each patch
    ``(y, x, N)`` gets M = 1 and U_ab = the patch's mean ab (a later patch overwrites an earlier
    one where they overlap). Returns mask (1,H,W) bool and U_ab (2,H,W)."""
    mask = torch.zeros(1, *ab.shape[-2:], dtype=torch.bool, device=ab.device)
    hint = torch.zeros_like(ab)
    for y, x, n in patches:
        mask[:, y:y + n, x:x + n] = True
        hint[:, y:y + n, x:x + n] = ab[:, y:y + n, x:x + n].mean((1, 2), keepdim=True)
    return mask, hint


def simulate_hints(ab: torch.Tensor, p: float = 1 / 8, max_patch: int = 9,
                   patch_ref: int | None = 256, gaussian: float = 0.5,
                   generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Zhang et al. 2017, §3.2's simulated user for a batch ``ab`` (B,2,H,W): a geometric number of
    patch hints per image (:func:`sample_count`, :func:`sample_patches`, :func:`patch_hints`).

    Patch sides are uniform in 1..``max_patch`` (the paper's 9) at ``patch_ref`` = 256 px, scaled
    to min(H, W): 1..2 at 64 px (``patch_ref=None``: unscaled). Returns mask (B,1,H,W) bool and
    U_ab (B,2,H,W).
    """
    B, _, H, W = ab.shape
    if patch_ref is not None:
        max_patch = max(1, round(max_patch * min(H, W) / patch_ref))
    counts = sample_count(B, p, generator)
    out = [patch_hints(ab[i], sample_patches(H, W, int(counts[i]), max_patch, gaussian, generator))
           for i in range(B)]
    return torch.stack([m for m, _ in out]), torch.stack([h for _, h in out])



# --- data and training (§3.1–3.2) ---

def training_data(recipe: dict | None = None) -> torch.Tensor:
    """Zhang et al. 2017, §3.2's training images, offline: ``n_crops`` random crops (``size`` px) of
    the recipe's training photos (``nm.data.random_crops``) and ``n_world`` procedural scenes
    (:func:`~.world.world`), (N,3,S,S) RGB in [0, 1]."""
    r = {**RECIPE, **(recipe or {})}
    parts = [random_crops(r["n_crops"], r["size"], seed=r["seed"], sources=list(r["train_photos"]),
                          scale=tuple(r["crop_scale"]))]
    if r["n_world"]:
        from .world import world

        parts.append(world(r["n_world"], size=r["size"], seed=r["seed"]).images)
    return torch.cat(parts)


def _batch(data: torch.Tensor, step: int, r: dict, dev) -> tuple[torch.Tensor, ...]:
    """Batch ``step``: drawn, flipped, hue-rotated and hinted from a generator seeded by
    (seed, step) alone, so a resumed run sees the same batches."""
    g = torch.Generator().manual_seed(int(r["seed"]) * 1_000_003 + step)
    B = r["batch_size"]
    idx = torch.randint(len(data), (B,), generator=g)
    flip = torch.rand(B, generator=g) < 0.5
    turn = torch.rand(B, generator=g) * (torch.rand(B, generator=g) < r["hue"])
    rgb = data[idx].float()
    rgb = torch.where(flip[:, None, None, None], rgb.flip(-1), rgb)
    rgb = hue_shift(rgb, turn[:, None, None, None]).clamp(0, 1)   # colours of any hue (ours)
    lab = rgb_to_lab(rgb)
    mask, hint = simulate_hints(lab[:, 1:], r["p"], r["max_patch"], r["patch_ref"], r["gaussian"], g)
    return lab[:, :1].to(dev), mask.to(dev), hint.to(dev), lab[:, 1:].to(dev)


def _preview(L, ab_pred) -> torch.Tensor:
    return lab_to_rgb(torch.cat([L[:8], ab_pred[:8]], 1).detach().float(), clip=True).cpu()


def train_hintnet(model: HintNet, data: torch.Tensor, *, steps: int = RECIPE["steps"],
                  recipe: dict | None = None, device=None, checkpoint=None, checkpoint_every: int = 100,
                  resume: bool = True, progress: bool = True, callback: Callable | None = None,
                  callback_every: int = 25, stop=None) -> dict:
    """Zhang et al. 2017, §3.1, eq. 1: θ* = argmin E[ℓ_δ(F(X, U_l), Y_ab)], §3.2's hints, Adam.

    ``data`` (N,3,S,S) RGB in [0, 1]; ``recipe`` overrides :data:`RECIPE` (batch_size, lr — ×0.1
    after ``lr_decay_at`` of the steps —, seed, p, gaussian, hue: the fraction of images whose hue
    is rotated by a uniform turn, delta: the Huber δ in ab units). The loss is in ab units. A run
    resumed from ``checkpoint`` (saved atomically every ``checkpoint_every`` steps and at the end)
    matches an uninterrupted one bit for bit. Every ``callback_every`` steps the mean loss is
    logged and the callback (``callback(step, image, history)`` or ``callback(progress)``) runs;
    True or ``stop`` ends the run. Returns ``{"step": [...], "loss": [...], "seconds"}``.
    """
    r = {**RECIPE, **(recipe or {}), "steps": steps}
    dev = pick_device(device)
    model.to(dev).train()
    opt = torch.optim.Adam(model.parameters(), lr=r["lr"])
    run = TrainingRun(model, opt, checkpoint, total=steps, log_every=callback_every, every=checkpoint_every,
                      resume=resume, map_location=dev)
    start = run.start
    decay_at = math.ceil(r["lr_decay_at"] * steps)
    loop = Loop(steps, start=start, progress=progress, callback=callback, every=callback_every,
                stop=stop, desc="hint network")
    step = start
    for step in loop:
        for grp in opt.param_groups:
            grp["lr"] = r["lr"] * (0.1 if step >= decay_at else 1.0)
        L, mask, hint, ab = _batch(data, step, r, dev)
        pred = model(encode(L, mask, hint))
        loss = F.smooth_l1_loss(pred, ab, beta=r["delta"])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        value = float(loss.detach())
        run.record(step, value)
        loop.report(step, image=lambda L=L, pred=pred: _preview(L, pred), info=run.history,
                    postfix={"loss": f"{value:.4g}"})
    loop.finish()
    hist = run.finish(step)
    model.eval()
    return hist


# --- evaluation ---

def hint_scores(methods: Sequence[str] = ("network", "levin", "nearest", "grey"),
                photos: Sequence[str] = HINT_HELD_OUT_PHOTOS, counts: Sequence[int] = (10, 20, 50, 100),
                seeds: Sequence[int] = (0, 1, 2), side: int = 256, **options) -> dict:
    """Zhang et al. 2017, §4's evaluation with random hints (PSNR against their number), here on
    bundled photos: hints sampled from the truth (:func:`~.hints.sample_hints`), PSNR
    (``nm.metrics.psnr``) of the colourised RGB, averaged over ``seeds`` and ``photos``.

    Returns ``{"mean": {method: {count: dB}}, "per_photo": {photo: {method: {count: dB}}}}``;
    ``"grey"`` is the lightness alone (ab = 0). ``options`` go to the ``"network"`` method.
    """
    from ..images import sample_image
    from . import METHODS, from_hints, lightness
    from .hints import sample_hints

    per = {}
    for name in photos:
        img = sample_image(name, max_side=side)
        per[name] = {}
        for m in methods:
            if m != "grey" and m not in METHODS:
                raise ValueError(f"unknown method {m!r}")
            row = {}
            for n in counts:
                vals = []
                for s in seeds:
                    if m == "grey":
                        out = lab_to_rgb(F.pad(lightness(img), (0, 0, 0, 0, 0, 2)), clip=True)
                    else:
                        opts = options if m == "network" else {}
                        out = from_hints(img, sample_hints(img, n, seed=s), method=m, **opts)
                    vals.append(float(psnr(out.float(), img)))
                row[int(n)] = sum(vals) / len(vals)
            per[name][m] = row
    mean = {m: {int(n): sum(per[p][m][n] for p in photos) / len(photos) for n in counts}
            for m in methods}
    return {"mean": mean, "per_photo": per, "photos": list(photos), "counts": [int(n) for n in counts],
            "seeds": list(seeds), "side": side}
