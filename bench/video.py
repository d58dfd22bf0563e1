"""Video memory: decoding and stylising stream one frame at a time, so memory does not grow with length.

(1) Decode a 600-frame 320×240 clip with ``nm.video.frames``: the growth of resident memory (peak
    RSS during decoding minus RSS before) against the 527 MiB (553 MB) the clip takes as float32 tensors.
    Target: < 60 MiB.
(2) Stylise 100 and 1,000 frames (160×120) with ``nm.fast_style.stylize_video(model, src, dst)``
    and the shipped ``mosaic`` model: the peak RSS growth of each and their ratio.
    Target: 1,000 frames / 100 frames ≤ 1.10. Rows for the default ``keep_frames=None`` (a short
    clip's frames are kept for the caller, a long one streams) and for ``keep_frames=False``.

Each measurement runs in a fresh subprocess, so none inherits another's heap. RSS is sampled in
the loop (every frame) and by a 2 ms background thread, and the larger peak is reported.

    python bench/video.py              # both parts (a few minutes on 2 cores)
    python bench/video.py --part 1     # decoding only
    OMP_NUM_THREADS=4 python bench/video.py --part 2 --lengths 50 500
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1] / "toolkit"))

MB = 2**20
DECODE_TARGET_MB = 60
RATIO_TARGET = 1.10


class PeakRSS:
    """The peak resident set size from ``start`` on, sampled by a thread and by ``sample()`` calls."""

    def __init__(self, interval: float = 0.002):
        import psutil

        self.proc, self.interval = psutil.Process(), interval
        self.base = self.peak = self.proc.memory_info().rss
        self._done = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._done.wait(self.interval):
            self.sample()

    def sample(self) -> int:
        rss = self.proc.memory_info().rss
        self.peak = max(self.peak, rss)
        return rss

    def __enter__(self):
        self.base = self.peak = self.proc.memory_info().rss
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        self._t.join()
        self.sample()

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.base) / MB


def make_clip(path: Path, n: int, h: int, w: int, fps: float = 25.0) -> Path:
    """A moving colour pattern written with nm.video.Writer (one frame in memory at a time)."""
    import numpy as np
    from nomysticism import video

    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    with video.Writer(path, fps=fps) as wr:
        for t in range(n):
            a = np.stack([np.sin((x + 3 * t) / 17), np.cos((y - 2 * t) / 13),
                          np.sin((x + y + 5 * t) / 23)], -1)
            wr.write(np.round(127.5 + 120 * a).astype(np.uint8))
    return path


# --- children: one measurement per process ----------------------------------------------------------

def child_decode(src: str) -> dict:
    import nomysticism as nm

    n, shape = 0, None
    with PeakRSS() as m:
        for fr in nm.video.frames(src):
            n += 1
            shape = tuple(fr.shape)
            m.sample()
    return {"frames": n, "shape": shape, "growth_mb": m.growth_mb,
            "float32_mb": n * fr.numel() * fr.element_size() / MB}


def child_stylize(src: str, dst: str, keep: str) -> dict:
    import torch
    from nomysticism import fast_style

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    model = fast_style.load_pretrained("mosaic")
    with torch.inference_mode():
        model(torch.rand(1, 3, 120, 160))  # warm-up: one-off allocations are not the clip's
    kw = {} if keep == "default" else {"keep_frames": keep == "true"}
    t0 = time.perf_counter()
    with PeakRSS() as m:
        res = fast_style.stylize_video(model, src, dst, temporal=0.0, max_side=None, progress=False,
                                       callback=lambda p: m.sample() and None, **kw)
    return {"frames": res["n_frames"], "growth_mb": m.growth_mb, "seconds": time.perf_counter() - t0,
            "kept": res.get("frames") is not None}


def spawn(*args: str) -> dict:
    # one thread by default: OpenMP's spinning threads slow to a crawl on a shared, busy CPU
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    out = subprocess.run([sys.executable, str(HERE), "--child", *args], capture_output=True, text=True,
                         env=env, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"child {args} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- the table ----------------------------------------------------------------------------------------

def part_decode(tmp: Path, n: int) -> list[str]:
    src = make_clip(tmp / "decode.mp4", n, 240, 320)
    r = spawn("decode", str(src))
    ok = r["growth_mb"] < DECODE_TARGET_MB
    return [f"| decode {r['frames']} frames 320×240 (nm.video.frames) | {r['growth_mb']:.1f} MiB "
            f"| {r['float32_mb']:.0f} MiB as float32 | < {DECODE_TARGET_MB} MiB | {'ok' if ok else 'MISSED'} |"]


def part_stylize(tmp: Path, lengths: tuple[int, int]) -> list[str]:
    short, long = lengths
    src = make_clip(tmp / "stylize.mp4", long, 120, 160)
    src_short = make_clip(tmp / "stylize_short.mp4", short, 120, 160)
    rows = []
    for keep in ("false", "default"):
        rs = spawn("stylize", str(src_short), str(tmp / f"out_{short}_{keep}.mp4"), keep)
        rl = spawn("stylize", str(src), str(tmp / f"out_{long}_{keep}.mp4"), keep)
        ratio = rl["growth_mb"] / max(rs["growth_mb"], 1e-9)
        label = "keep_frames=False" if keep == "false" else "keep_frames=None (default)"
        for r in (rs, rl):
            rows.append(f"| stylize_video {r['frames']} frames 160×120, {label} | {r['growth_mb']:.1f} MiB "
                        f"| {r['seconds']:.1f} s{', frames kept' if r['kept'] else ''} | | |")
        if keep == "false":
            verdict = "ok" if ratio <= RATIO_TARGET else "MISSED"
            rows.append(f"| ratio {long} / {short} frames, {label} | {ratio:.3f} | | ≤ {RATIO_TARGET:.2f} "
                        f"| {verdict} |")
        else:  # the short clip's frames are returned to the caller, by design
            rows.append(f"| ratio {long} / {short} frames, {label} | {ratio:.3f} "
                        f"| {'short clip kept' if rs['kept'] else ''} | | |")
    return rows


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=["1", "2", "all"], default="all")
    ap.add_argument("--decode-frames", type=int, default=600)
    ap.add_argument("--lengths", type=int, nargs=2, default=(100, 1000), metavar=("SHORT", "LONG"))
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        kind, *rest = a.child
        r = child_decode(*rest) if kind == "decode" else child_stylize(*rest)
        print(json.dumps(r))
        return
    rows = ["| measurement | peak RSS growth | for comparison | target | |", "|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if a.part in ("1", "all"):
            rows += part_decode(tmp, a.decode_frames)
            print("\n".join(rows), flush=True)
            rows = []
        if a.part in ("2", "all"):
            rows += part_stylize(tmp, tuple(a.lengths))
            print("\n".join(rows), flush=True)


if __name__ == "__main__":
    main()
