"""Train ShapesNet on the procedural shapes world and ship its weights.

    python scripts/train_shapesnet.py            # ~3 min on 2 CPU cores

Writes toolkit/nomysticism/assets/shapesnet.safetensors and shapesnet_training.json (the curve).
Recipe: 12k train images (seed 0) of 64 px, Adam 3e-3 with cosine decay, batch 64, 5 epochs,
random flips; BatchNorm matters (without it, a run can stay at chance). Fixed seed.
"""

import argparse
import json
import time
from pathlib import Path

import nomysticism as nm
import torch
import torch.nn.functional as F
from nomysticism.checkpoint import save_weights
from tqdm.auto import tqdm

ASSETS = Path(nm.__file__).parent / "assets"


def evaluate(net, data, bs=500):
    net.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(data.labels), bs):
            correct += (net(data.images[i : i + bs]).argmax(1) == data.labels[i : i + bs]).sum().item()
    return correct / len(data.labels)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=12000)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--out", default=str(ASSETS / "shapesnet.safetensors"))
    args = ap.parse_args()
    torch.manual_seed(0)
    t0 = time.time()
    train = nm.data.shapes(args.n, 64, seed=0)
    val = nm.data.shapes(2000, 64, seed=1)
    net = nm.models.load("shapesnet", pretrained=False, frozen=False)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    steps = args.epochs * (args.n // 64)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    curve = []
    for ep in range(args.epochs):
        net.train()
        perm = torch.randperm(args.n)
        bar = tqdm(range(0, args.n - 63, 64), desc=f"epoch {ep + 1}")
        for i in bar:
            idx = perm[i : i + 64]
            x, y = train.images[idx], train.labels[idx]
            flip = torch.rand(len(x)) < 0.5
            x = torch.where(flip[:, None, None, None], x.flip(-1), x)
            loss = F.cross_entropy(net(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            bar.set_postfix(loss=f"{loss.item():.3f}")
        acc = evaluate(net, val)
        curve.append({"epoch": ep + 1, "loss": round(loss.item(), 4), "val_acc": acc})
        print(curve[-1])
    net.eval()
    save_weights(net.layers, args.out, {"recipe": "scripts/train_shapesnet.py", "val_acc": curve[-1]["val_acc"]})
    Path(args.out).with_name("shapesnet_training.json").write_text(
        json.dumps({"curve": curve, "seconds": round(time.time() - t0), "n_train": args.n}, indent=1))
    print(f"saved {args.out} ({Path(args.out).stat().st_size / 1e3:.0f} kB) in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
