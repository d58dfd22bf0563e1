"""Train the small demo GANs that notebooks 09 and 10 load (nm.gan.pretrained(name)).

    OMP_NUM_THREADS=1 python scripts/train_gan_demos.py             # all three, ~30 min on one CPU core
    OMP_NUM_THREADS=1 python scripts/train_gan_demos.py cgan_digits

Writes toolkit/nomysticism/assets/gan/<name>.safetensors (the generator only, float16, with its
settings in the metadata) and <name>.json (steps, time, losses, and the measured quality: class
accuracy by the digits judge and the Fréchet distance on its features, against held-out digits).
Recipe: all 1,797 scikit-learn digits at 32 px, 1 channel (scored against digits 1400+, which the
judge never saw in training but the GAN did), or 4,000 procedural shapes at 32 px (scored against
500 unseen ones, judged by shapesnet); DCGAN defaults (Adam 2e-4,
β1 0.5, N(0, 0.02)) with ngf = ndf = 32, batch 64; seed 0. Runs are checkpointed to /tmp and resume
if killed.
"""

import argparse
import json
import time
from pathlib import Path

import nomysticism as nm
import torch
from nomysticism import gan

DEMOS = {
    "dcgan_digits": dict(cls="DCGAN", kw=dict(size=32, channels=1, ngf=32, ndf=32), steps=1500),
    "cgan_digits": dict(cls="ConditionalGAN", kw=dict(n_classes=10, size=32, channels=1, ngf=32, ndf=32),
                        steps=1500),
    # shapes: 5 classes, 3 channels, judged by shapesnet (at 64 px)
    "cgan_shapes": dict(cls="ConditionalGAN", kw=dict(n_classes=5, size=32, channels=3, ngf=32, ndf=32),
                        steps=2000),
}


def data_for(name):
    """(train images, train labels, held-out images, held-out labels, judge, judge size)."""
    if name.endswith("shapes"):
        tr, te = nm.data.shapes(4000, 32, seed=0), nm.data.shapes(500, 32, seed=1)
        return tr.images, tr.labels, te.images, te.labels, nm.models.load("shapesnet"), 64
    x, y = nm.data.digits(32)
    return x, y, x[1400:], y[1400:], gan.digits_judge(), None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("names", nargs="*", default=list(DEMOS))
    ap.add_argument("--steps", type=int, default=None)
    args = ap.parse_args()
    for name in args.names:
        x, y, x_te, y_te, judge, jsize = data_for(name)
        spec = DEMOS[name]
        steps = args.steps or spec["steps"]
        torch.manual_seed(0)
        model = getattr(gan, spec["cls"])(**spec["kw"])
        data = x if spec["cls"] == "DCGAN" else (x, y)
        t0 = time.time()
        run = gan.train(model, data, steps, batch_size=64, seed=0, sample_every=steps,
                        checkpoint=f"/tmp/nm_gan_demo_{name}.pt", checkpoint_every=250)
        took = time.time() - t0
        torch.manual_seed(1)
        n_cls = int(y.max()) + 1
        labels = torch.arange(1000) % n_cls
        fake = model.generate(torch.randn(1000, model.nz), y=labels) if spec["cls"] != "DCGAN" \
            else model.generate(torch.randn(1000, model.nz))
        quality = {"fid_judge": round(gan.fid(judge, x_te, fake, size=jsize), 3),
                   "fid_judge_real_vs_real": round(gan.fid(judge, x_te, x[:500], size=jsize), 3),
                   "judge": judge.name}
        if spec["cls"] != "DCGAN":
            quality["class_accuracy"] = round(gan.class_accuracy(judge, fake, labels, size=jsize), 4)
            quality["judge_on_real_held_out"] = round(gan.class_accuracy(judge, x_te, y_te, size=jsize), 4)
        path = gan.save_generator(model, gan.JUDGE_DIR / f"{name}.safetensors",
                                  {"class": spec["cls"], "kwargs": spec["kw"], "steps": steps})
        hist = {k: [round(v, 4) for v in vals[::25]] for k, vals in run.history.items()}
        Path(path).with_suffix(".json").write_text(json.dumps(
            {"steps": steps, "seconds": round(took), "quality": quality, "history_every_25": hist}, indent=1))
        nm.save_image(nm.images.grid(run.last_samples, 8), f"/tmp/{name}.png")
        print(name, f"{took:.0f} s", quality)


if __name__ == "__main__":
    main()
