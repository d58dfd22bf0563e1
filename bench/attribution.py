"""Attribution: milliseconds per attribution, ours vs Captum, and the ground-truth scores.

    OMP_NUM_THREADS=1 .venv/bin/python bench/attribution.py            # CPU (+ GPU rows if any)
    .venv/bin/python bench/attribution.py --quick                      # smaller, for a smoke check

Same model, same input, same target for both. Captum's GuidedBackprop/Deconvolution hook only
nn.ReLU modules; on efficientnet_lite0 (ReLU6) they silently return the plain gradient, so the
lite0 rows of those two compare times of *different* results (marked "≠").
"""

from __future__ import annotations

import argparse
import time

import nomysticism as nm
import torch
from nomysticism import attribution as A


def _sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def timeit_pair(fa, fb, reps: int) -> tuple[float, float]:
    """Best-of-``reps`` milliseconds of two functions, measured alternately (a shared, noisy
    machine then slows both alike)."""
    fa(), fb()  # warm-up
    best = [float("inf"), float("inf")]
    for _ in range(reps):
        for k, f in enumerate((fa, fb)):
            _sync()
            t = time.perf_counter()
            f()
            _sync()
            best[k] = min(best[k], time.perf_counter() - t)
    return best[0] * 1e3, best[1] * 1e3


def captum_fns(model, x, t, layer):
    import captum.attr as ca

    return {
        "saliency": lambda: ca.Saliency(model).attribute(x.requires_grad_(True), target=t, abs=True),
        "deconvnet": lambda: ca.Deconvolution(model).attribute(x.requires_grad_(True), target=t),
        "guided": lambda: ca.GuidedBackprop(model).attribute(x.requires_grad_(True), target=t),
        "grad_cam": lambda: ca.LayerAttribution.interpolate(
            ca.LayerGradCam(model, A._resolve_layer(model, layer)).attribute(
                x, target=t, relu_attributions=True), x.shape[-2:], "bilinear"),
    }


def our_fns(model, x, t, layer):
    return {
        "saliency": lambda: A.saliency(model, x, t),
        "deconvnet": lambda: A.deconvnet(model, x, t),
        "guided": lambda: A.guided_backprop(model, x, t),
        "grad_cam": lambda: A.grad_cam(model, x, t, layer),
    }


def speed_rows(cases, reps, dev):
    import warnings

    rows = []
    for label, model, x in cases:
        model = model.to(dev)
        x = x.to(dev)
        t = int(model(x[:1]).argmax())
        layer = model.default_layers["gradcam"]
        ours, theirs = our_fns(model, x, t, layer), captum_fns(model, x, t, layer)
        for method in ours:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                a = ours[method]()
                b = theirs[method]()
                same = float((a - b).abs().max() / b.abs().max().clamp_min(1e-30)) < 1e-4
                ms_ours, ms_captum = timeit_pair(ours[method], theirs[method], reps)
            rows.append((dev.type, label, method, ms_ours, ms_captum, same))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small inputs and few repetitions")
    ap.add_argument("--n-score", type=int, default=500, help="unseen shapes images to score")
    args = ap.parse_args()
    reps = 3 if args.quick else 9
    torch.manual_seed(0)

    shapes_net = nm.models.load("shapesnet")
    lite0 = nm.models.load("efficientnet_lite0")
    vgg = nm.models.load("vgg16", pretrained=False)
    s = 128 if args.quick else 224
    cat = nm.sample_image("chelsea", s)
    shp = nm.data.shapes(16, seed=3).images
    cases = [
        ("shapesnet 1×64²", shapes_net, shp[:1]),
        ("shapesnet 16×64²", shapes_net, shp),
        (f"lite0 1×{s}²", lite0, nm.images.resize(cat, (s, s))),
        (f"vgg16* 1×{s}²", vgg, nm.images.resize(cat, (s, s))),
    ]
    devs = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    print(f"# ms per attribution (best of {reps}), torch {torch.__version__}, "
          f"{torch.get_num_threads()} CPU threads   (* = random weights)")
    print("| device | model, input | method | ours ms | captum ms | captum/ours | same result |")
    print("|---|---|---|---|---|---|---|")
    for dev in devs:
        for d, label, method, mo, mc, same in speed_rows(cases, reps, dev):
            print(f"| {d} | {label} | {method} | {mo:.1f} | {mc:.1f} | {mc / mo:.2f} | "
                  f"{'=' if same else '≠'} |", flush=True)

    n = 100 if args.quick else args.n_score
    data = nm.data.shapes(n, seed=2026)  # unseen: shapesnet trained on other seeds
    t = time.perf_counter()
    rows = A.score_methods(shapes_net, data.images, data.masks, data.labels,
                           methods=["gradient", "deconvnet", "guided", "grad_cam",
                                    "guided_grad_cam", "random"], tolerances=(0, 1, 2, 4))
    print(f"\n# shapesnet on {n} unseen shapes (seed 2026): pointing game at 0/1/2/4 px tolerance, "
          f"share of heat inside the mask ({time.perf_counter() - t:.0f} s)")
    print(A.format_scores(rows))


if __name__ == "__main__":
    main()
