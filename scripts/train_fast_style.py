"""Train the shipped feed-forward style model(s): ``toolkit/nomysticism/assets/fast_style/<name>.*``.

The recipe (Johnson et al. 2016, scaled down to run on one CPU core in about ten minutes):

- TransformerNet with width 16 (half the paper's 32; ~0.42 M parameters, 1.7 MB), instance norm,
  nearest-upsample + conv;
- loss network EfficientNet-Lite0 (offline ImageNet weights; VGG-16 is used instead with
  ``--loss-net vgg16`` when its weights are cached); style layers stem, block1–3 with relative Gram
  errors, content block2;
- data: 2,000 random 128-px crops of the bundled photos (``nm.data.random_crops``), or ``--data DIR``
  (COCO train2014 for real use, ideally 256 px, batch 4, 40k steps on a GPU);
- Adam, lr 2e-3, batch 2, 1,000 steps; checkpoints every 100 steps (resumable: rerun the same
  command after an interruption).

``--arch texture`` trains an Ulyanov et al. 2016 texture network instead (5 scales, 8 channels per
scale, batch norm as in the paper; no content term; 128-px outputs, batch 4, Adam lr 1e-2, 300 steps):
``python scripts/train_fast_style.py --arch texture --style mosaic`` makes ``mosaic_texture``.

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


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--style", default="mosaic", help="a sample style name or an image path")
    p.add_argument("--name", default=None, help="model name (default: the style's name)")
    p.add_argument("--data", default=None, help="an image folder (COCO); default: bundled photos")
    p.add_argument("--n-crops", type=int, default=2000)
    p.add_argument("--arch", default="transformer", choices=["transformer", "texture"])
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--norm", default="instance", choices=["instance", "batch"])
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--style-size", type=int, default=256)
    p.add_argument("--batch", type=int, default=None)
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--content-weight", type=float, default=None)
    p.add_argument("--style-weight", type=float, default=None)
    p.add_argument("--tv-weight", type=float, default=None)
    p.add_argument("--loss-net", default="efficientnet_lite0")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default=None)
    p.add_argument("--checkpoint", default=None, help="default: /tmp/fast_style_<name>.pt")
    p.add_argument("--out-dir", default=str(ASSETS))
    p.add_argument("--preview-dir", default="/tmp")
    p.add_argument("--no-progress", action="store_true")
    a = p.parse_args(argv)
    defaults = {"transformer": dict(batch=2, steps=1000, lr=2e-3, content_weight=1.0, style_weight=200.0, tv_weight=1e-3),
                "texture": dict(batch=4, steps=300, lr=1e-2, content_weight=0.0, style_weight=1.0, tv_weight=0.0)}
    for k, v in defaults[a.arch].items():
        if getattr(a, k) is None:
            setattr(a, k, v)

    name = a.name or Path(a.style).stem + ("_texture" if a.arch == "texture" else "")
    out_dir = Path(a.out_dir)
    ck = a.checkpoint or f"/tmp/fast_style_{name}.pt"
    torch.manual_seed(a.seed)
    if a.arch == "texture":
        model = fs.TextureNetwork(scales=5, channels=8, norm="batch")
    else:
        model = fs.TransformerNet(width=a.width, norm=a.norm)
    style = fs._as_style_image(a.style)
    data = None if a.arch == "texture" else (a.data or nm.data.random_crops(a.n_crops, a.size, seed=a.seed))
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
                    loss=loss, seed=a.seed, device=a.device, checkpoint=ck, checkpoint_every=100,
                    log_every=10, progress=not a.no_progress, callback=cb)
    wall = time.time() - t0
    recipe = {k: v for k, v in vars(a).items() if k not in ("out_dir", "preview_dir", "no_progress",
                                                            "checkpoint", "device")}
    recipe.update({
        "architecture": model.config, "parameters": sum(p.numel() for p in model.parameters()),
        "style_layers": loss.style_layers, "content_layers": loss.content_layers,
        "relative_style": loss.relative_style, "optimizer": "Adam",
        "script": "scripts/train_fast_style.py",
    })
    env = {"torch": torch.__version__, "device": str(a.device or ("cuda" if torch.cuda.is_available() else "cpu")),
           "threads": torch.get_num_threads(), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
           "platform": platform.platform(), "train_seconds": hist["seconds"], "wall_seconds_this_run": wall}
    out_dir.mkdir(parents=True, exist_ok=True)
    fs.export(model, out_dir / f"{name}.safetensors", metadata={"name": name, "recipe": recipe})
    curve = {"step": hist["step"], "loss": hist["loss"], "content": hist["content"],
             "style": hist["style"], "tv": hist["tv"]}
    tmp = out_dir / f".{name}.json.tmp"
    tmp.write_text(json.dumps({"name": name, "recipe": recipe, "environment": env, "curve": curve}, indent=1))
    os.replace(tmp, out_dir / f"{name}.json")
    for img in ("chelsea", "astronaut"):
        nm.save_image(fs.stylize(model, nm.sample_image(img, 384)), Path(a.preview_dir) / f"fast_style_{name}_{img}.png")
    print(f"done: {hist['step'][-1] if hist['step'] else 0} steps in {hist['seconds']:.0f} s; "
          f"final loss {hist['loss'][-1]:.4g} (first logged {hist['loss'][0]:.4g})")


if __name__ == "__main__":
    main()
