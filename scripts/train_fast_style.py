"""Train the shipped feed-forward style model(s): ``toolkit/nomysticism/assets/fast_style/<name>.*``.

The recipes live in ``nomysticism.fast_style.RECIPES`` (one place for every default; each option given
here overrides them):

- ``RECIPES["cpu_demo"]`` (``--arch transformer``, makes ``mosaic``; Johnson et al. 2016 scaled down to
  run on one CPU core in about ten minutes): TransformerNet width 16 (half the paper's 32; ~0.42 M
  parameters, 1.7 MB), instance norm, nearest-upsample + conv; loss network EfficientNet-Lite0 (offline
  ImageNet weights; ``--loss-net vgg16`` when its weights are cached), style layers stem, block1–3 with
  relative Gram errors, content block2; 2,000 random 128-px crops of the bundled photos
  (``nm.data.random_crops``), or ``--data DIR`` (COCO train2014 for real use, ideally 256 px, batch 4,
  40k steps on a GPU); Adam lr 2e-3, batch 2, 1,000 steps; checkpoints every 100 steps (resumable:
  rerun the same command after an interruption).
- ``RECIPES["cpu_texture"]`` (``--arch texture``, makes ``mosaic_texture``): an Ulyanov et al. 2016
  texture network (5 scales, 8 channels per scale, batch norm as in the paper; no content term;
  128-px outputs, batch 4, Adam lr 1e-2, 300 steps):
  ``python scripts/train_fast_style.py --arch texture --style mosaic``.

Writes ``<name>.safetensors`` (weights + architecture + recipe in the header),
``<name>.json`` (recipe, training curve, timings) and preview images into ``--preview-dir``.

    OMP_NUM_THREADS=1 python scripts/train_fast_style.py --style mosaic
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
from nomysticism import fast_style as fs  # noqa: E402

ASSETS = ROOT / "toolkit" / "nomysticism" / "assets" / "fast_style"
# option -> recipe key (nomysticism.fast_style.recipes)
OPTIONS = {"n_crops": "n_crops", "size": "image_size", "style_size": "style_size", "batch": "batch_size",
           "steps": "steps", "lr": "lr", "content_weight": "content_weight", "style_weight": "style_weight",
           "tv_weight": "tv_weight", "loss_net": "loss_net", "seed": "seed"}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--style", default="mosaic", help="a sample style name or an image path")
    p.add_argument("--name", default=None, help="model name (default: the style's name)")
    p.add_argument("--data", default=None, help="an image folder (COCO); default: bundled photos")
    p.add_argument("--arch", default="transformer", choices=["transformer", "texture"])
    p.add_argument("--recipe", default=None, choices=list(fs.RECIPES),
                   help="default: cpu_demo (transformer) or cpu_texture (texture)")
    p.add_argument("--n-crops", type=int, default=None)
    p.add_argument("--width", type=int, default=None)
    p.add_argument("--norm", default=None, choices=["instance", "batch"])
    p.add_argument("--size", type=int, default=None)
    p.add_argument("--style-size", type=int, default=None)
    p.add_argument("--batch", type=int, default=None)
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--content-weight", type=float, default=None)
    p.add_argument("--style-weight", type=float, default=None)
    p.add_argument("--tv-weight", type=float, default=None)
    p.add_argument("--loss-net", default=None)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--device", default=None)
    p.add_argument("--checkpoint", default=None, help="default: /tmp/fast_style_<name>.pt")
    p.add_argument("--out-dir", default=str(ASSETS))
    p.add_argument("--preview-dir", default="/tmp")
    p.add_argument("--no-progress", action="store_true")
    a = p.parse_args(argv)
    a.recipe = a.recipe or ("cpu_texture" if a.arch == "texture" else "cpu_demo")
    r = fs.recipe(a.recipe)
    for opt, key in OPTIONS.items():  # unset options take the recipe's value
        if getattr(a, opt) is None:
            setattr(a, opt, r[key])
    for opt in ("width", "norm"):
        if getattr(a, opt) is None:
            setattr(a, opt, r["model"].get(opt))

    name = a.name or Path(a.style).stem + ("_texture" if a.arch == "texture" else "")
    out_dir = Path(a.out_dir)
    ck = a.checkpoint or f"/tmp/fast_style_{name}.pt"
    torch.manual_seed(a.seed)
    config = dict(r["model"], norm=a.norm)
    if config["arch"] == "TransformerNet":
        config["width"] = a.width
    model = fs.build_model(config)
    style = fs._as_style_image(a.style)
    data = None if not model.takes_content else (a.data or nm.data.random_crops(a.n_crops, a.size, seed=a.seed))
    loss = fs.PerceptualLoss(a.loss_net, content_weight=a.content_weight, style_weight=a.style_weight,
                             tv_weight=a.tv_weight, style_size=a.style_size)
    loss.set_style(style)
    probe = nm.sample_image("chelsea", 256)

    def cb(step, out, hist):
        if step % 100 == 0:
            print(f"step {step:5d}  loss {hist['loss'][-1]:.4g}  content {hist['content'][-1]:.4g}  "
                  f"style {hist['style'][-1]:.4g}  tv {hist['tv'][-1]:.4g}", flush=True)
        if step % 300 == 0:
            nm.save_image(fs.stylize(model, probe), Path(a.preview_dir) / f"fast_style_{name}_{step}.png")
            model.train()

    t0 = time.time()
    hist = fs.train(model, style, data, steps=a.steps, batch_size=a.batch, image_size=a.size, lr=a.lr,
                    loss=loss, seed=a.seed, device=a.device, checkpoint=ck,
                    checkpoint_every=r["checkpoint_every"], log_every=r["log_every"],
                    progress=not a.no_progress, callback=cb)
    wall = time.time() - t0
    recipe = {k: v for k, v in vars(a).items() if k not in ("out_dir", "preview_dir", "no_progress",
                                                            "checkpoint", "device")}
    recipe.update({
        "architecture": model.config, "parameters": sum(p.numel() for p in model.parameters()),
        "style_layers": loss.style_layers, "content_layers": loss.content_layers,
        "relative_style": loss.relative_style, "optimizer": "Adam",
        "script": "scripts/train_fast_style.py",
    })
    env = {"torch": torch.__version__, "device": str(nm.runtime.device(a.device)),
           "threads": torch.get_num_threads(), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
           "platform": platform.platform(), "train_seconds": hist["seconds"], "wall_seconds_this_run": wall}
    out_dir.mkdir(parents=True, exist_ok=True)
    fs.export(model, out_dir / f"{name}.safetensors", metadata={"name": name, "recipe": recipe})
    curve = {"step": hist["step"], "loss": hist["loss"], "content": hist["content"],
             "style": hist["style"], "tv": hist["tv"]}
    record = json.dumps({"name": name, "recipe": recipe, "environment": env, "curve": curve}, indent=1)
    nm.assets.atomic_write(out_dir / f"{name}.json", lambda tmp: Path(tmp).write_text(record))
    for img in ("chelsea", "astronaut"):
        nm.save_image(fs.stylize(model, nm.sample_image(img, 384)), Path(a.preview_dir) / f"fast_style_{name}_{img}.png")
    print(f"done: {hist['step'][-1] if hist['step'] else 0} steps in {hist['seconds']:.0f} s; "
          f"final loss {hist['loss'][-1]:.4g} (first logged {hist['loss'][0]:.4g})")


if __name__ == "__main__":
    main()
