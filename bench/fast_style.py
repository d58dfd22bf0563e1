"""Feed-forward stylisation speed: milliseconds per image at 256 px, 512 px and 1080p.

CPU rows always (fp32, the shipped width-16 model and the paper's width-32 TransformerNet);
GPU rows when CUDA is available: fp32, bf16 autocast, bf16 + channels_last, and torch.compile
(bf16 + channels_last), with frames per second and the speed-up over fp32 side by side.

    OMP_NUM_THREADS=1 python bench/fast_style.py            # short default
    python bench/fast_style.py --cpu-sizes 256 512 1080p --repeats 5 --gpu-batch 8

Targets (issue 5): 1080p at ≥ 200 frames/s on an H100; 512 px well under 1 s on CPU.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "toolkit"))

from nomysticism import fast_style as fs  # noqa: E402
from nomysticism.runtime import autocast, memory_format  # noqa: E402

SIZES = {"256": (256, 256), "512": (512, 512), "1080p": (1080, 1920)}


def _time(fn, repeats: int, sync=lambda: None) -> float:
    fn()
    sync()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - t)
    return best


def cpu_rows(widths, sizes, repeats):
    rows = []
    for w in widths:
        m = fs.TransformerNet(width=w).eval()
        for s in sizes:
            x = torch.rand(1, 3, *SIZES[s])
            with torch.inference_mode():
                sec = _time(lambda m=m, x=x: m(x), repeats)
            rows.append((f"cpu fp32 w{w}", s, 1, 1000 * sec, 1 / sec))
    return rows


def gpu_rows(widths, sizes, repeats, batch, compile_=True):
    dev = torch.device("cuda")
    rows = []
    sync = torch.cuda.synchronize
    for w in widths:
        base = fs.TransformerNet(width=w).eval().to(dev)
        variants = [("fp32", False, False, False), ("bf16", True, False, False),
                    ("bf16+channels_last", True, True, False)]
        if compile_:
            variants.append(("bf16+cl+compile", True, True, True))
        for s in sizes:
            for name, amp, cl, comp in variants:
                mf = memory_format(dev, cl)
                m = base.to(memory_format=mf)
                f = torch.compile(m) if comp else m
                x = torch.rand(batch, 3, *SIZES[s], device=dev).contiguous(memory_format=mf)

                def run(f=f, x=x, amp=amp):
                    with torch.inference_mode(), autocast(dev, amp):
                        return f(x)

                if comp:
                    for _ in range(2):
                        run()
                sec = _time(run, repeats, sync) / batch
                rows.append((f"cuda {name} w{w}", s, batch, 1000 * sec, 1 / sec))
    return rows


def print_table(rows):
    base = {}
    print(f"{'variant':28s} {'size':>6s} {'batch':>5s} {'ms/image':>10s} {'images/s':>9s} {'× fp32':>7s}")
    for name, s, b, ms, fps in rows:
        dev_w = (name.split()[0], name.split()[-1], s)
        if "fp32" in name:
            base[dev_w] = ms
        ratio = base.get(dev_w, ms) / ms
        print(f"{name:28s} {s:>6s} {b:5d} {ms:10.2f} {fps:9.1f} {ratio:7.2f}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cpu-sizes", nargs="+", default=["256", "512"], choices=list(SIZES))
    p.add_argument("--gpu-sizes", nargs="+", default=["256", "512", "1080p"], choices=list(SIZES))
    p.add_argument("--widths", nargs="+", type=int, default=[16, 32])
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--gpu-batch", type=int, default=8)
    p.add_argument("--no-compile", action="store_true")
    a = p.parse_args(argv)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
    rows = cpu_rows(a.widths, a.cpu_sizes, a.repeats)
    if torch.cuda.is_available():
        print(f"GPU: {torch.cuda.get_device_name()}")
        rows += gpu_rows(a.widths, a.gpu_sizes, a.repeats + 3, a.gpu_batch, compile_=not a.no_compile)
    else:
        print("no CUDA device: GPU rows skipped")
    print_table(rows)


if __name__ == "__main__":
    main()
