"""Train the digits judge: the classifier that scores digit GANs (class accuracy, Fréchet distance).

    OMP_NUM_THREADS=1 python scripts/train_gan_digits_judge.py      # ~30 s on one CPU core

Writes toolkit/nomysticism/assets/gan/digits_judge.safetensors (nm.gan.digits_judge()) and
digits_judge.json (the curve). Recipe: scikit-learn digits at 32 px, 1 channel; images 0-1399
train, 1400-1796 held out; random shifts of up to 2 px; Adam 3e-3 with cosine decay, batch 64, 15 epochs; seed 0.
"""

import argparse
import json
import time
from pathlib import Path

import nomysticism as nm
import torch
import torch.nn.functional as F
from nomysticism.checkpoint import save_weights
from nomysticism.gan import JUDGE_DIR, _digits_net


def shift(x, g, k=2):
    dx, dy = (int(v) for v in torch.randint(-k, k + 1, (2,), generator=g))
    return torch.roll(x, (dy, dx), (2, 3))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--out", default=str(JUDGE_DIR / "digits_judge.safetensors"))
    args = ap.parse_args()
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    t0 = time.time()
    x, y = nm.data.digits(32)
    xtr, ytr, xte, yte = x[:1400], y[:1400], x[1400:], y[1400:]
    net = _digits_net()
    opt = torch.optim.Adam(net.parameters(), 3e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.epochs * -(-len(xtr) // 64))
    curve = []
    for ep in range(args.epochs):
        net.train()
        perm = torch.randperm(len(xtr), generator=g)
        for i in range(0, len(perm), 64):
            idx = perm[i:i + 64]
            loss = F.cross_entropy(net(shift(xtr[idx], g)), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        net.eval()
        with torch.no_grad():
            acc = (net(xte).argmax(1) == yte).float().mean().item()
        curve.append({"epoch": ep + 1, "loss": round(loss.item(), 4), "test_acc": round(acc, 4)})
        print(curve[-1])
    save_weights(net.layers, args.out, {"recipe": "scripts/train_gan_digits_judge.py", "test_acc": acc})
    Path(args.out).with_suffix(".json").write_text(json.dumps(
        {"curve": curve, "seconds": round(time.time() - t0), "train": "0-1399", "test": "1400-1796"}, indent=1))
    print(f"saved {args.out} in {time.time() - t0:.0f} s, held-out accuracy {acc:.3f}")


if __name__ == "__main__":
    main()
