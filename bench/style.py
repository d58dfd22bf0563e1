"""Gatys style transfer: seconds per L-BFGS step and peak memory at 128/256/512 px (CPU; GPU when available).

    python bench/style.py                       # CPU, efficientnet_lite0, 3 timed steps per size (short)
    python bench/style.py --steps 20 --networks efficientnet_lite0 vgg19
    python bench/style.py --gpu-steps 500       # on a GPU: also the issue's target row (VGG-19, 512 px)

Each row runs ``nm.style.transfer`` (chelsea × mosaic, the network's default layers) for one warm-up
step, then ``--steps`` timed steps. VGG runs with random weights (``pretrained=False``): the speed does
not depend on the weights. GPU rows compare precisions (fp32, tf32, bf16+channels_last): the final
loss of each must stay within 1% of fp32's (the column ``loss/fp32``). Ratios are to the first row of
the same network and device. Peak memory: CUDA ``max_memory_allocated``; on CPU the growth of the
process's resident memory during the run (sampled; weights and images loaded before are not counted).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time

import nomysticism as nm
import torch
from nomysticism import style as S


class PeakRSS:
    """Peak resident memory growth of this process while the block runs (sampled every 2 ms)."""

    def __enter__(self):
        import psutil

        self.proc = psutil.Process(os.getpid())
        self.base = self.peak = self.proc.memory_info().rss
        self.done = threading.Event()
        self.t = threading.Thread(target=self._poll, daemon=True)
        self.t.start()
        return self

    def _poll(self):
        while not self.done.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.002)

    def __exit__(self, *exc):
        self.done.set()
        self.t.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)

    @property
    def mb(self) -> float:
        return (self.peak - self.base) / 2**20


def get_net(name: str, dev: torch.device):
    if name.startswith("vgg"):
        return nm.models.load(name, pretrained=False, pooling="avg", device=dev)
    return nm.models.load(name, device=dev)


def run_one(net, size: int, steps: int, dev: torch.device, precision: str = "fp32"):
    content, style = nm.sample_image("chelsea"), nm.sample_image("mosaic")
    kw = dict(size=size, network=net, progress=False, precision=precision, init="content")
    if dev.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        S.transfer(content, style, steps=1, **kw)  # warm-up (cudnn autotune, allocator, caches)
        torch.cuda.synchronize()
        t = time.perf_counter()
        r = S.transfer(content, style, steps=steps, **kw)
        torch.cuda.synchronize()
        secs = time.perf_counter() - t
        peak = torch.cuda.max_memory_allocated() / 2**20
    else:
        with PeakRSS() as m:  # the warm-up step is inside: the allocator keeps what it took
            S.transfer(content, style, steps=1, **kw)
            t = time.perf_counter()
            r = S.transfer(content, style, steps=steps, **kw)
            secs = time.perf_counter() - t
        peak = m.mb
    return secs / steps, peak, r.history[-1]["total"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 512])
    ap.add_argument("--steps", type=int, default=3, help="timed L-BFGS steps per CPU row")
    ap.add_argument("--gpu-steps", type=int, default=100, help="timed steps per GPU row")
    ap.add_argument("--networks", nargs="+", default=["efficientnet_lite0"],
                    help="efficientnet_lite0, vgg19 (random weights), vgg16, shapesnet")
    ap.add_argument("--gpu-networks", nargs="+", default=["efficientnet_lite0", "vgg19"])
    ap.add_argument("--no-cpu", action="store_true")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    a = ap.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)

    rows = []
    print(f"torch {torch.__version__}, CPU threads {torch.get_num_threads()}, "
          f"cuda {'yes: ' + torch.cuda.get_device_name() if torch.cuda.is_available() else 'no'}")
    hdr = (f"{'network':<19}{'device':<7}{'precision':<10}{'size':>5}{'steps':>6}{'s/step':>9}{'× 1st':>7}"
           f"{'500 steps s':>12}{'peak MB':>9}{'final loss':>12}{'loss/fp32':>10}")
    print(hdr)
    print("-" * len(hdr))

    def emit(name, dev, prec, size, steps, sps, peak, loss, first, ref_loss):
        ratio = sps / first if first else 1.0
        lr = loss / ref_loss if ref_loss else float("nan")
        print(f"{name:<19}{dev:<7}{prec:<10}{size:>5}{steps:>6}{sps:>9.4f}{ratio:>7.2f}{sps * 500:>12.1f}"
              f"{peak:>9.0f}{loss:>12.4g}{lr:>10.4f}", flush=True)
        rows.append(dict(network=name, device=dev, precision=prec, size=size, sps=sps, peak=peak, loss=loss))

    if not a.no_cpu:
        cpu = torch.device("cpu")
        for name in a.networks:
            net = get_net(name, cpu)
            first = None
            for size in a.sizes:
                sps, peak, loss = run_one(net, size, a.steps, cpu)
                first = first or sps
                emit(name, "cpu", "fp32", size, a.steps, sps, peak, loss, first, loss)
    if torch.cuda.is_available():
        gpu = torch.device("cuda")
        for name in a.gpu_networks:
            net = get_net(name, gpu)
            first = None
            for size in a.sizes:
                ref = None
                for prec in ("fp32", "tf32", "bf16"):
                    sps, peak, loss = run_one(net, size, a.gpu_steps, gpu, prec)
                    ref = ref or loss
                    first = first or sps
                    emit(name, "cuda", prec, size, a.gpu_steps, sps, peak, loss, first, ref)
        print("\ntarget (issue 4): VGG-19, 512 px, 500 L-BFGS steps in ≤ 2 s on an H100; loss within 1% of fp32")
    return rows


if __name__ == "__main__":
    sys.exit(0 if main() is not None else 1)
