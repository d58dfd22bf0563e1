"""Colourisation: automatic (Zhang, Isola & Efros 2016) and from hints (Levin et al. 2004, Zhang et al. 2017).

(a) The procedural world's ambiguous objects (balls red OR blue at the same L, ``nm.colorize.world``):
    the mean chroma of each shipped stage over the truth's, and the PSNR of whole scenes
    (``colorize.world_scores``); the classification model also at a few temperatures T.
    Targets: classification (at the recipe's T) chroma ≥ 0.8× the truth's, the L2 regression's
    ≤ 0.55× (it predicts the mean of red and blue: half the chroma), PSNRs within 1.5 dB.
(b) Held-out photos with 10/20/50/100 hints sampled from the truth (``colorize.sample_hints``),
    averaged over seeds (``colorize.hint_scores``): PSNR of Levin, the hint network (when its
    weights are shipped), the nearest-hint fill and grey.
    Targets: levin ≥ nearest + 1 dB at 50 hints; network ≥ levin at 20 and 50.
(c) Automatic colourisation of the held-out photos (``colorize.photo_scores``): colourfulness
    (Hasler & Süsstrunk 2003, ``nm.metrics.colorfulness``) of the truth, grey and each stage, and
    each stage's PSNR against grey's.
(d) Seconds per Levin update (one ``from_hints`` solve) at 256 px, as the hint widget runs it.

    python bench/colorize.py            # everything (a few minutes on one core)
    python bench/colorize.py --quick    # fewer scenes, one seed, one photo: about a minute
"""

from __future__ import annotations

import argparse
import time

import nomysticism as nm
import torch
from _table import table as _table  # noqa: E402
from nomysticism import colorize as C


def world_part(n: int, temps) -> None:
    """(a) chroma ratio on the ambiguous balls and PSNR, per stage (and per T for the classifier)."""
    print(f"## (a) Procedural world: ambiguous balls ({n} fresh scenes at 32 px)\n")
    avail = set(C.list_pretrained())
    rows, res = [], {}
    for stage in C.STAGES:
        if stage not in avail:
            rows.append((stage, "—", "(not shipped)", "", "", ""))
            continue
        Ts = [None] + (list(temps) if stage == "zhang2016" else [])
        for T in Ts:
            s = C.world_scores(stage, n=n, T=T)
            label = stage if T is None else f"{stage}, T = {T}"
            res[label] = s
            rows.append((label, "—" if s["T"] is None else f"{s['T']:.2f}", f"{s['chroma_ambiguous']:.1f}",
                         f"{s['chroma_truth']:.1f}", f"{s['ratio']:.2f}", f"{s['psnr']:.2f}"))
    _table(("model", "T", "chroma (balls)", "truth", "ratio", "PSNR (dB)"), rows)
    if {"regression", "zhang2016"} <= res.keys():
        cl, l2 = res["zhang2016"], res["regression"]
        psnrs = [res[s]["psnr"] for s in C.STAGES if s in res]
        print("targets:")
        print(f"- classification ratio ≥ 0.80: {cl['ratio']:.2f} {'OK' if cl['ratio'] >= 0.8 else 'MISSED'}")
        print(f"- L2 regression ratio ≤ 0.55: {l2['ratio']:.2f} {'OK' if l2['ratio'] <= 0.55 else 'MISSED'}")
        spread = max(psnrs) - min(psnrs)
        print(f"- stage PSNRs within 1.5 dB: spread {spread:.2f} dB {'OK' if spread <= 1.5 else 'MISSED'}\n")


def _network_ready() -> bool:
    if "network" not in C.METHODS:
        return False
    try:
        C.pretrained_hintnet()
        return True
    except Exception:  # no shipped weights (yet)
        return False


def hints_part(photos, seeds, counts, side: int) -> None:
    """(b) PSNR against the number of hints sampled from the truth."""
    methods = (["network"] if _network_ready() else []) + ["levin", "nearest", "grey"]
    print(f"## (b) Hints sampled from the truth: PSNR (dB) at {side} px, mean over "
          f"{len(photos)} photo(s) × {len(seeds)} seed(s)\n")
    if "network" not in methods:
        print("(the hint network is registered but its weights are not shipped: not scored)\n")
    t = time.perf_counter()
    res = C.hint_scores(methods, photos=photos, counts=counts, seeds=seeds, side=side)
    mean = res["mean"]
    _table(("method", *[f"{c} hints" for c in counts]), [(m, *[f"{mean[m][c]:.2f}" for c in counts])
                                                         for m in methods])
    print(f"photos: {', '.join(photos)}; {time.perf_counter() - t:.0f} s\n")
    print("targets:")
    if 50 in counts:
        d = mean["levin"][50] - mean["nearest"][50]
        print(f"- levin ≥ nearest + 1 dB at 50: +{d:.2f} dB {'OK' if d >= 1 else 'MISSED'}")
    if "network" in mean:
        for c in (20, 50):
            if c in counts:
                d = mean["network"][c] - mean["levin"][c]
                print(f"- network ≥ levin at {c}: {d:+.2f} dB {'OK' if d >= 0 else 'MISSED'}")
    else:
        print("- network ≥ levin at 20 and 50: not measured (no shipped hint network)")
    print()


def auto_part(photos, side: int) -> None:
    """(c) colourfulness and PSNR of the automatic stages on the held-out photos."""
    print(f"## (c) Automatic colourisation of held-out photos ({side} px)\n")
    stages = [s for s in C.STAGES if s in set(C.list_pretrained())]
    scores = {s: C.photo_scores(s, photos=photos, side=side) for s in stages}
    rows = []
    for p in photos:
        any_s = scores[stages[0]][p]
        rows.append((p, "truth", f"{any_s['colorfulness_truth']:.1f}", "—", "—"))
        rows.append((p, "grey", f"{any_s['colorfulness_grey']:.1f}", f"{any_s['psnr_grey']:.2f}", "0.00"))
        for s in stages:
            r = scores[s][p]
            rows.append((p, s, f"{r['colorfulness']:.1f}", f"{r['psnr']:.2f}", f"{r['psnr'] - r['psnr_grey']:+.2f}"))
    _table(("photo", "colouring", "colourfulness", "PSNR (dB)", "PSNR − grey's"), rows)


def levin_part(repeats: int) -> None:
    """(d) seconds per Levin update at 256 px (50 hints, the astronaut)."""
    img = nm.sample_image("astronaut", max_side=256)
    hints = C.sample_hints(img, 50, seed=0)
    C.from_hints(img, hints)  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        C.from_hints(img, hints)
        times.append(time.perf_counter() - t)
    print(f"## (d) Levin update at {tuple(img.shape[-2:])} px, 50 hints, {torch.get_num_threads()} thread(s)\n")
    _table(("repeats", "median (s)", "min (s)"), [(repeats, f"{sorted(times)[len(times) // 2]:.3f}",
                                                   f"{min(times):.3f}")])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a small run: fewer scenes, one seed, one photo")
    ap.add_argument("--part", choices=list("abcd"), nargs="*", help="only these parts")
    args = ap.parse_args(argv)
    parts = set(args.part or "abcd")
    t0 = time.perf_counter()
    if "a" in parts:
        world_part(100 if args.quick else 300, (0.2, 1.0) if args.quick else (0.1, 0.2, 0.38, 0.6, 1.0))
    if "b" in parts:
        photos = ["astronaut"] if args.quick else list(C.HINT_HELD_OUT_PHOTOS)
        hints_part(photos, [0] if args.quick else [0, 1, 2], (10, 20, 50, 100), 128 if args.quick else 256)
    if "c" in parts:
        auto_part(list(C.HELD_OUT_PHOTOS), 128 if args.quick else 256)
    if "d" in parts:
        levin_part(3 if args.quick else 10)
    print(f"total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
