"""Train the shipped mood CNN: ``assets/music/mood_cnn.safetensors`` + ``mood_cnn.json``.

    OMP_NUM_THREADS=1 .venv/bin/python scripts/train_music.py   # recipe "cnn": ~10 min, 1 thread
    .venv/bin/python scripts/train_music.py --recipe smoke --out /tmp/m.safetensors

Renders the clips (``nm.data.music_clips``, cached under ~/.cache/nomysticism/music: 2,880
training clips of 6 s and 240 held-out ones of 15 s take about 10 min the first time), trains
:class:`nomysticism.music.MoodCNN` on the training pieces and instruments, fits the ridge baseline
on the same clips, and scores both on the held-out pieces and instruments. The JSON record holds
the recipe, the label formula, the times, the loss curve and the scores.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "toolkit"))

from nomysticism import music  # noqa: E402
from nomysticism.assets import atomic_write  # noqa: E402
from nomysticism.data import music as mdata  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipe", default="cnn", choices=list(music.RECIPES))
    ap.add_argument("--out", default=str(ROOT / "toolkit/nomysticism/assets/music/mood_cnn.safetensors"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    r = music.recipe(a.recipe)
    t0 = time.perf_counter()
    tr = mdata.music_clips(r["n_train"], r["seed"], "train", r["seconds"], progress=not a.quiet)
    te = mdata.music_clips(r["n_test"], r["seed"], "test", r["test_seconds"], progress=not a.quiet)
    t_render = time.perf_counter() - t0
    t0 = time.perf_counter()
    specs = music.clip_spectrograms(tr)
    test_specs = music.clip_spectrograms(te)
    t_spec = time.perf_counter() - t0
    torch.manual_seed(r["seed"])
    model = music.MoodCNN(**{k: v for k, v in r["model"].items() if k != "arch"})
    hist = music.train(model, specs, tr.labels(), epochs=r["epochs"], batch_size=r["batch_size"],
                       lr=r["lr"], weight_decay=r["weight_decay"], window=r["window"],
                       seed=r["seed"], progress=not a.quiet)
    t0 = time.perf_counter()
    ridge = music.baseline(tr, r["ridge_alpha"])
    t_ridge = time.perf_counter() - t0
    s = music.scores(model, te, ridge, test_specs)
    loss = hist["loss"]
    every = max(1, len(loss) // 200)
    record = {
        "model": "MoodCNN", "recipe": a.recipe, "settings": r,
        "label_formula": {k: dict(v) for k, v in mdata.LABEL_FORMULA.items()},
        "data": {"train": {"n": len(tr), "pieces": sorted(set(tr.pieces)),
                           "instruments": sorted(set(tr.instruments))},
                 "test": {"n": len(te), "seconds": r["test_seconds"], "pieces": sorted(set(te.pieces)),
                          "instruments": sorted(set(te.instruments))},
                 "what": "Bach chorales (music21 corpus) rendered with FluidSynth + TimGM6mb; "
                         "labels from the formula, not from listeners"},
        "seconds": {"render": round(t_render, 1), "spectrograms": round(t_spec, 1),
                    "train": round(hist["seconds"], 1), "ridge_fit": round(t_ridge, 1)},
        "threads": a.threads, "steps": len(loss), "loss_every": every,
        "loss": [round(sum(loss[i:i + every]) / len(loss[i:i + every]), 5)
                 for i in range(0, len(loss), every)],
        "final_loss": round(sum(loss[-20:]) / len(loss[-20:]), 5),
        "scores": {"cnn": s["cnn"], "ridge": s["ridge"]},
        "ridge": {"features": list(music.FEATURES), "alpha": ridge.alpha,
                  "mean": ridge.mean.tolist(), "scale": ridge.scale.tolist(),
                  "coef": ridge.coef.tolist(), "intercept": ridge.intercept.tolist()},
    }
    out = Path(a.out)
    music.export(model, out, metadata={"recipe": a.recipe, "scores": record["scores"]})
    atomic_write(out.with_suffix(".json"),
                 lambda tmp: Path(tmp).write_text(json.dumps(record, indent=1) + "\n"))
    print(json.dumps({"seconds": record["seconds"], "scores": record["scores"]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
