"""Train the shipped automatic colourisers: ``toolkit/nomysticism/assets/colorize/<stage>.*``.

One small ColorNet (~0.35 M parameters, 1.4 MB) per stage of ``nomysticism.colorize.RECIPES``
(the one place for every setting; the options below override them):

- ``regression``: Zhang et al. 2016, eq. 1 (L2 on ab) — the greyish baseline;
- ``zhang2016``: eq. 2–5 — classification over the in-gamut ab bins, soft-encoded targets, class
  rebalancing (λ = ½), annealed mean (the model's T is the paper's 0.38);
- ``perceptual``: eq. 1 + an EfficientNet-Lite0 feature loss (the student project's second network).

Data: 1,500 procedural world scenes + 1,500 random crops of the training photos (never the held-out
ones), 32 px; ``--data DIR`` adds an image folder (``nm.data.ImageFolder``). Checkpoints go to
``--checkpoint-dir`` every 100 steps (rerun the same command to resume). Each model is written as
``<stage>.safetensors`` (config + recipe in the header) and ``<stage>.json`` (recipe, seconds,
final loss, loss curve, environment, and the scores of ``colorize.world_scores`` over a range of
T and ``colorize.photo_scores`` on the held-out photos).

    OMP_NUM_THREADS=1 python scripts/train_colorize.py            # all three, ~10 min on 1 thread
    OMP_NUM_THREADS=1 python scripts/train_colorize.py --stage zhang2016 --steps 100
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "toolkit"))

import nomysticism as nm  # noqa: E402
from nomysticism import colorize as cz  # noqa: E402

ASSETS = ROOT / "toolkit" / "nomysticism" / "assets" / "colorize"
TEMPERATURES = (1.0, 0.38, 0.2, 0.1, 0.05, 0.02, 0.01)


def _train_one(stage: str, a, data_cache: dict) -> dict:
    r = cz.recipe(stage, steps=a.steps, seed=a.seed)
    key = (r["n_world"], r["n_crops"], r["size"], r["seed"], tuple(r["train_photos"]))
    if key not in data_cache:
        data_cache[key] = cz.training_data(r, folder=a.data, n_folder=a.n_folder)
    data = data_cache[key]
    torch.manual_seed(r["seed"])
    net = cz.ColorNet(**r["model"])
    kw = {}
    if stage == "zhang2016":
        kw = {"k": r["k"], "sigma": r["sigma"], "lam": r["lam"]}
    if stage == "perceptual":
        kw = {"feature_loss": cz.FeatureLoss(r["feature_net"], r["feature_layers"], r["feature_scale"]),
              "feature_weight": r["feature_weight"]}

    def cb(step, image, hist):
        if step % 100 == 0 and hist["loss"]:
            print(f"  {stage} step {step:4d}  loss {hist['loss'][-1]:.4g}", flush=True)

    hist = cz.train(net, data, stage=stage, steps=r["steps"], batch_size=r["batch_size"], lr=r["lr"],
                    seed=r["seed"], regression=r["regression"], device=a.device,
                    checkpoint=Path(a.checkpoint_dir) / f"colorize_{stage}.pt", checkpoint_every=100,
                    progress=not a.no_progress, callback=cb, callback_every=25, **kw)
    r.update({"architecture": net.config, "parameters": sum(p.numel() for p in net.parameters()),
              "n_images": len(data), "data_folder": a.data, "optimizer": "Adam",
              "script": "scripts/train_colorize.py"})
    out = Path(a.out_dir) / f"{stage}.safetensors"
    cz.export(net, out, metadata={"name": stage, "recipe": r})
    net = cz.load_model(out)  # scored as shipped (its recipe's work_size included)
    Ts = TEMPERATURES if stage == "zhang2016" else (None,)
    scores = {"world": [cz.world_scores(net, T=T) for T in Ts],
              "photos": cz.photo_scores(net, r["held_out"]),
              "train_photos": cz.photo_scores(net, r["train_photos"])}
    env = {"torch": torch.__version__, "device": str(nm.runtime.device(a.device)),
           "threads": torch.get_num_threads(), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
           "platform": platform.platform()}
    record = {"name": stage, "recipe": r, "seconds": round(hist["seconds"], 1),
              "final_loss": hist["loss"][-1], "bytes": out.stat().st_size,
              "curve": {"step": hist["step"], "loss": hist["loss"]}, "scores": scores,
              "environment": env}
    text = json.dumps(record, indent=1)
    nm.assets.atomic_write(Path(a.out_dir) / f"{stage}.json", lambda tmp: Path(tmp).write_text(text))
    return record


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--stage", default="all", choices=["all", *cz.STAGES])
    p.add_argument("--steps", type=int, default=None, help="default: the recipe's")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--data", default=None, help="an image folder to add to the training data")
    p.add_argument("--n-folder", type=int, default=None, help="at most this many folder images")
    p.add_argument("--device", default=None)
    p.add_argument("--checkpoint-dir", default="/tmp")
    p.add_argument("--out-dir", default=str(ASSETS))
    p.add_argument("--no-progress", action="store_true")
    a = p.parse_args(argv)
    stages = cz.STAGES if a.stage == "all" else (a.stage,)
    cache: dict = {}
    t0 = time.time()
    for stage in stages:
        rec = _train_one(stage, a, cache)
        w = rec["scores"]["world"]
        best = max(w, key=lambda s: s["ratio"])
        print(f"{stage}: {rec['recipe']['parameters']} parameters, {rec['bytes'] / 1e6:.2f} MB, "
              f"{rec['seconds']:.0f} s, final loss {rec['final_loss']:.4g}; world: chroma ratio "
              f"{w[0]['ratio']:.2f} at T={w[0]['T']} (best {best['ratio']:.2f} at T={best['T']}), "
              f"PSNR {w[0]['psnr']:.2f} dB", flush=True)
        for name, s in rec["scores"]["photos"].items():
            print(f"  held-out {name}: PSNR {s['psnr']:.2f} (grey {s['psnr_grey']:.2f}), colourfulness "
                  f"{s['colorfulness']:.1f} (truth {s['colorfulness_truth']:.1f})", flush=True)
    print(f"done in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
