"""GAN training speed (steps per second) and measured quality, as a table.

    OMP_NUM_THREADS=1 python bench/gan.py            # CPU rows (~1 min); GPU rows when CUDA is there
    python bench/gan.py --steps 50 --size 64          # bigger
    OMP_NUM_THREADS=1 python bench/gan.py --cyclegan-steps 300 --variants lsgan,no-identity   # ~2 min


Rows: DCGAN / cGAN / DCGAN-WGAN-GP / CycleGAN on CPU, and on CUDA in fp32 and in bf16 autocast with
channels_last (ratios side by side). Quality columns come from the shipped demo generators
(assets/gan/*.json, made by scripts/train_gan_demos.py) and from a fresh measurement with the judges:
class accuracy by the digits judge and the Fréchet distance on its features.
"""

import argparse
import json
import time

import nomysticism as nm
import torch
from nomysticism import gan


def speed(make, data, steps, batch, dev, amp):
    torch.manual_seed(0)
    m = make()
    m.amp = amp
    gan.train(m, data, 3, batch_size=batch, device=dev, progress=False, sample_every=10**9)  # warm-up
    if dev == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    gan.train(m, data, steps, batch_size=batch, device=dev, progress=False, sample_every=10**9)
    if dev == "cuda":
        torch.cuda.synchronize()
    return steps / (time.perf_counter() - t)


CYCLEGAN_VARIANTS = {"lsgan": ("lsgan", {}), "wgangp": ("wgangp", {"gan_mode": "wgangp"}),
                     "no-identity": ("lsgan, no identity", {"lambda_id": 0.0})}


def cyclegan_quality(steps, size=32, variants=tuple(CYCLEGAN_VARIANTS), clf_steps=300):
    """Zhu 2017 measured on the offline photo/cartoon domains (notebook 11's settings): cycle error,
    how much G_AB changes an image, and how often a domain classifier (trained on real A vs B)
    accepts the translations; one row per variant (keys of ``CYCLEGAN_VARIANTS``)."""
    A, B = nm.data.cartoon_domains(400, size, seed=0)
    At, Bt = nm.data.cartoon_domains(100, size, seed=1)
    clf = gan.train_domain_classifier(A, B, steps=clf_steps)
    print(f"# CycleGAN, {steps} steps, {size} px, ngf 16, 6 blocks, batch 4; domain classifier on held-out "
          f"real: A {gan.acceptance(clf, At, 'A'):.0%}, B {gan.acceptance(clf, Bt, 'B'):.0%}")
    print("| variant | steps/s | cycle A→B→A | cycle B→A→B | change A→B | G_AB(a) accepted as B | "
          "G_BA(b) accepted as A | colour shift of G_BA |")
    print("|---|---|---|---|---|---|---|---|")
    for name, kw in (CYCLEGAN_VARIANTS[v] for v in variants):
        torch.manual_seed(0)
        m = gan.CycleGAN(ngf=16, ndf=16, n_blocks=6, **kw)
        run = gan.train(m, (A, B), steps, batch_size=4, progress=False, sample_every=10**9)
        e = gan.cycle_error(m, At, Bt)
        ba = m.translate(Bt, "BA")
        shift = (ba.mean((0, 2, 3)) - Bt.mean((0, 2, 3))).abs().sum().item()
        print(f"| {name} | {run.steps_per_s:.2f} | {e['A→B→A']:.3f} | {e['B→A→B']:.3f} | {e['change A→B']:.3f} | "
              f"{gan.acceptance(clf, m.translate(At, 'AB'), 'B'):.0%} | {gan.acceptance(clf, ba, 'A'):.0%} | "
              f"{shift:.3f} |", flush=True)
        nm.save_image(nm.images.grid(m.samples(), 4), f"/tmp/cyclegan_{name.replace(' ', '_').replace(',', '')}.png")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--cyclegan-steps", type=int, default=0,
                    help="instead: train small CycleGANs (see --variants) this many steps each at --size "
                         "px and report cycle error and domain-classifier acceptance")
    ap.add_argument("--variants", default=",".join(CYCLEGAN_VARIANTS),
                    help="comma-separated CycleGAN variants: " + ", ".join(CYCLEGAN_VARIANTS))
    args = ap.parse_args()
    if args.cyclegan_steps:
        variants = [v.strip() for v in args.variants.split(",") if v.strip()]
        unknown = [v for v in variants if v not in CYCLEGAN_VARIANTS]
        if unknown:
            ap.error(f"unknown --variants {unknown}; choose from {list(CYCLEGAN_VARIANTS)}")
        cyclegan_quality(args.cyclegan_steps, args.size, variants)
        return
    s = args.size
    x, y = nm.data.digits(s)
    x3 = x.expand(-1, 3, -1, -1).contiguous()
    A, B = nm.data.cartoon_domains(32, s)
    cases = [
        ("DCGAN (ngf 64, batch 64)", lambda: gan.DCGAN(s, 3), x3, 64),
        ("cGAN 10 classes (ngf 64, batch 64)", lambda: gan.ConditionalGAN(10, s, 3), (x3, y), 64),
        ("DCGAN WGAN-GP (batch 64)", lambda: gan.DCGAN(s, 3, gan_mode="wgangp"), x3, 64),
        ("CycleGAN 6 blocks (ngf 64, batch 1)", lambda: gan.CycleGAN(n_blocks=6), (A, B), 1),
    ]
    print(f"# training speed at {s} px, steps/s (torch {torch.__version__}, {torch.get_num_threads()} CPU threads)")
    gpu = torch.cuda.is_available()
    head = "| model | CPU |" + (" CUDA fp32 | CUDA bf16+channels_last | bf16 / fp32 | CUDA / CPU |" if gpu else "")
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for name, make, data, batch in cases:
        steps = max(2, args.steps // (4 if "Cycle" in name else 1))
        cpu = speed(make, data, steps, batch, "cpu", False)
        row = f"| {name} | {cpu:.2f} |"
        if gpu:
            f32 = speed(make, data, args.steps * 10, batch, "cuda", False)
            bf = speed(make, data, args.steps * 10, batch, "cuda", True)
            row += f" {f32:.1f} | {bf:.1f} | {bf / f32:.2f}× | {f32 / cpu:.0f}× |"
        print(row, flush=True)

    print("\n# measured quality of the shipped demo generators (32 px); judges: digits_judge, shapesnet")
    digits_x, digits_y = nm.data.digits(32)
    S = nm.data.shapes(500, 32, seed=1)
    sets = {"digits": (digits_x[1400:], digits_y[1400:], gan.digits_judge(), None, 1, 10),
            "shapes": (S.images, S.labels, nm.models.load("shapesnet"), 64, 3, 5)}
    print("| generator | steps | train time (1 core) | class accuracy | Fréchet distance (judge features) |")
    print("|---|---|---|---|---|")
    for name in ("dcgan_digits", "cgan_digits", "cgan_shapes"):
        held, held_y, judge, jsize, ch, k = sets[name.split("_")[1]]
        path = gan.JUDGE_DIR / f"{name}.json"
        if not path.exists():
            print(f"| {name} | (not trained: scripts/train_gan_demos.py {name}) | | | |")
            continue
        info = json.loads(path.read_text())
        m = gan.pretrained(name)
        torch.manual_seed(1)
        labels = torch.arange(500) % k
        z = torch.randn(500, 100)
        cond = isinstance(m, gan.ConditionalGAN)
        fake = m.generate(z, y=labels) if cond else m.generate(z)
        acc = f"{gan.class_accuracy(judge, fake, labels, size=jsize):.1%}" if cond else "–"
        print(f"| {name} | {info['steps']} | {info['seconds']} s | {acc} | "
              f"{gan.fid(judge, held, fake, size=jsize):.2f} |")
    for key, (held, held_y, judge, jsize, ch, k) in sets.items():
        other = digits_x[:500] if key == "digits" else nm.data.shapes(500, 32, seed=2).images
        print(f"| real {key} (held-out vs other real) | | | {gan.class_accuracy(judge, held, held_y, size=jsize):.1%} | "
              f"{gan.fid(judge, held, other, size=jsize):.2f} |")
        untrained = gan.DCGAN(32, ch, ngf=32).generate(torch.randn(500, 100))
        print(f"| untrained generator ({key}) | 0 | | {1 / k:.0%} (chance) | "
              f"{gan.fid(judge, held, untrained, size=jsize):.2f} |")


if __name__ == "__main__":
    main()
