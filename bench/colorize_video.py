"""Video colourisation with tracked hints (``nomysticism.colorize.video``) against colouring each
frame on its own, on clean moving scenes with known motion (``nm.data.moving_scene``: a camera pan
over a photo at 1–4 px per frame plus three textured discs moving on their own; synthetic data).

Each scene is made grey; three key frames (0, 24, 47) get 30 hints each, sampled from the true
colours (``colorize.sample_hints``). The truth of every hint track is the same tracker fed the
scene's exact flow (``MovingScene.flow``) with its exact occlusions (the forward-backward check on
the true flow).

(a) Hint survival: the share of hint tracks kept (not dropped), dropped by the forward-backward
    check or by leaving the frame; the position error against the true motion (mean and 90th
    percentile, px, over the hint-frames the truth also holds); "stale": the share of carried
    hint-frames the truth has lost (the point is occluded or out of the frame: the hint paints the
    wrong object).
(b) Chroma flicker: mean |ab_t − ab_{t−1}(x + w_true)| over the pixels visible in both frames
    (true flow, true forward-backward check), CIE ab units; the truth's own value is the floor
    (texture resampling). ``nm.metrics.flicker`` (RGB, relative to the clean video's own change)
    beside it. PSNR against the true colour frames and seconds per frame.

    python bench/colorize_video.py            # 3 scenes × every variant (~4 min on one core)
    python bench/colorize_video.py --quick    # one scene
"""

from __future__ import annotations

import argparse
import time

import nomysticism as nm
import numpy as np
import torch
from _table import table as _table  # noqa: E402
from nomysticism import colorize as C
from nomysticism.colorize.video import REACH, track_hints, video

KEYS = (0, 24, 47)
N_HINTS = 30
VARIANTS = {  # label -> video() options
    "each frame on its own, hints stay put": dict(carry="none", smooth=0.0),
    "each frame on its own, tracked, no fb check": dict(check=False, smooth=0.0),
    "each frame on its own, tracked + fb check": dict(smooth=0.0),
    "tracked + fb check + ab smoothing (default)": dict(),
    "true flow + fb check + ab smoothing (oracle)": dict(oracle=True),
}
NETWORK = ("each frame on its own, hints stay put", "tracked + fb check + ab smoothing (default)")


def scene_case(seed: int, size=(144, 192), n=48):
    scene = nm.data.moving_scene(n, size, speed=(1.0, 4.0), objects=3, seed=seed)
    clip = scene.clip()
    hints = {k: C.sample_hints(clip[k:k + 1], N_HINTS, seed=seed * 10 + k) for k in KEYS}
    return scene, clip, nm.color.to_gray(clip), hints


def true_flow(scene):
    return lambda i, j: scene.flow(i, j - i)


def track_errors(est, truth) -> dict:
    """Position error (px) and stale share of ``est``'s carried hint-frames against ``truth``."""
    pairs = {(u.key, u.index, u.step): u for u in truth.tracks}
    err, stale, carried = [], 0, 0
    for e in est.tracks:
        u = pairs[(e.key, e.index, e.step)]
        for t, p in zip(e.frames[1:], e.points[1:]):
            carried += 1
            q = u.at(t)
            if q is None:
                stale += 1
            else:
                err.append(np.hypot(p[0] - q[0], p[1] - q[1]))
    return {"err": float(np.mean(err)), "p90": float(np.percentile(err, 90)),
            "stale": stale / max(carried, 1)}


def true_ab_flicker(ab: torch.Tensor, scene) -> float:
    """mean |ab_t − warp(ab_{t−1}, w_true t→t−1)| over pixels visible in both (true fb check, inside)."""
    h, w = scene.size
    ys, xs = np.mgrid[0:h, 0:w]
    tot = cnt = 0.0
    for t in range(1, ab.shape[0]):
        fw, bw = scene.flow(t, -1), scene.flow(t - 1, 1)
        ok = nm.flow.consistency_mask(fw, bw)
        ok &= (xs + fw[..., 0] >= 0) & (xs + fw[..., 0] <= w - 1) & (ys + fw[..., 1] >= 0) & (ys + fw[..., 1] <= h - 1)
        back = nm.flow.warp(ab[t - 1:t].double(), fw)
        d = (ab[t:t + 1].double() - back).abs().mean(1)[0]
        m = torch.from_numpy(ok)
        tot += float(d[m].sum())
        cnt += float(m.sum())
    return tot / cnt


def run_variant(scene, clip, grey, hints, method, opts, truth) -> dict:
    opts = dict(opts)
    if opts.pop("oracle", False):
        opts["flow"] = true_flow(scene)
    t = time.perf_counter()
    res = video(grey, None, hints, method=method, progress=False, **opts)
    secs = (time.perf_counter() - t) / res.n_frames
    s = res.survival()
    e = track_errors(res.tracks, truth)
    return {"kept": s["kept"], "fb": s["fb"], "left": s["left"], **e,
            "ab_flicker": true_ab_flicker(res.ab, scene),
            "flicker": nm.metrics.flicker(res.frames, clip),
            "psnr": float(nm.metrics.psnr(res.frames, clip).mean()), "s": secs}


def quality_part(seeds) -> None:
    print(f"## (a, b) Tracked hints vs each frame on its own ({len(seeds)} scenes of 48 frames at "
          f"192×144, key frames {KEYS}, {N_HINTS} hints each, reach {REACH})\n")
    results: dict = {}
    floor = []
    for seed in seeds:
        scene, clip, grey, hints = scene_case(seed)
        truth = track_hints(iter(grey), hints, flow=true_flow(scene), progress=False)
        floor.append(true_ab_flicker(nm.color.rgb_to_lab(clip.double())[:, 1:], scene))
        for method in ("levin", "network"):
            for label, opts in VARIANTS.items():
                if method == "network" and label not in NETWORK:
                    continue
                r = run_variant(scene, clip, grey, hints, method, opts, truth)
                results.setdefault((method, label), []).append(r)
        tr = truth.survival()
        print(f"scene {seed}: the truth keeps {100 * tr['kept']:.0f}% of the hint tracks "
              f"({100 * tr['fb']:.0f}% occluded, {100 * tr['left']:.0f}% leave the frame)")
    print()
    rows = []
    for (method, label), rs in results.items():
        m = {k: float(np.mean([r[k] for r in rs])) for k in rs[0]}
        rows.append((method, label, f"{100 * m['kept']:.0f}%", f"{100 * m['fb']:.0f}% / {100 * m['left']:.0f}%",
                     f"{m['err']:.2f} / {m['p90']:.2f}", f"{100 * m['stale']:.1f}%", f"{m['ab_flicker']:.2f}",
                     f"{m['flicker']:.2f}", f"{m['psnr']:.2f}", f"{m['s']:.3f}"))
    rows.append(("truth", "the true colour video", "", "", "", "", f"{np.mean(floor):.2f}", "1.00", "∞", ""))
    _table(("method", "variant", "hints kept", "dropped fb / left", "pos. error mean / p90 px",
            "stale hint-frames", "ab flicker (true flow)", "nm.metrics.flicker", "PSNR dB", "s / frame"), rows)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="one scene")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    quality_part((0,) if args.quick else (0, 1, 2))


if __name__ == "__main__":
    main()
