"""Music mood map numbers: held-out R² of the CNN against the ridge baseline, and the speed of the
shipped model on a 30-s clip (2 threads). Prints a markdown table.

The held-out clips are the recipe's ``test_seconds`` (15 s) long: the target rows. The same
performances cut to 6 s (the training length: one or two windows) and played for 30 s (the
length of the speed row; short chorales at fast tempi end early, and the silence after them is
left out by ``music.sounding``) are reported beside them.

    OMP_NUM_THREADS=2 .venv/bin/python bench/music.py          # renders (or reads the cache)

Targets (issue 16): held-out R² arousal ≥ 0.8, valence ≥ 0.6; the CNN beats the ridge on both;
a 30-s clip in < 0.5 s on 2 cores.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "toolkit"))

from nomysticism import music  # noqa: E402
from nomysticism.data import music as D  # noqa: E402


def main() -> int:
    torch.set_num_threads(2)
    r = music.recipe("cnn")
    tr = D.music_clips(r["n_train"], r["seed"], "train", r["seconds"], progress=False)
    net = music.load_pretrained()
    ridge = music.baseline(tr, r["ridge_alpha"])
    lengths = sorted({r["seconds"], r["test_seconds"], 30.0})
    clips = {sec: D.music_clips(r["n_test"], r["seed"], "test", sec, progress=False) for sec in lengths}
    by_len = {sec: music.scores(net, te, ridge) for sec, te in clips.items()}
    te, s = clips[r["test_seconds"]], by_len[r["test_seconds"]]
    wave = D.render_score("bwv1.6", D.Performance(seconds=30.0))
    music.mood(wave, music.SR, model=net)  # warm up
    t, cpu = [], []
    for _ in range(5):
        t0, c0 = time.perf_counter(), time.process_time()
        music.mood(wave, music.SR, model=net)
        t.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    c, b = s["cnn"], s["ridge"]
    print(f"held-out: {len(te)} clips of {r['test_seconds']:.0f} s ({len(set(te.pieces))} pieces, "
          f"{len(set(te.instruments))} instruments never trained on)\n")
    ok = lambda good: "yes" if good else "NO"  # noqa: E731
    print("| measure | CNN | ridge | CNN − ridge | target | met |\n|---|---|---|---|---|---|")
    for axis, target in (("arousal", 0.8), ("valence", 0.6)):
        rc, rb = c[f"r2_{axis}"], b[f"r2_{axis}"]
        print(f"| R² {axis} | {rc:.3f} | {rb:.3f} | {rc - rb:+.3f} | CNN ≥ {target}, > ridge | "
              f"{ok(rc >= target and rc > rb)} |")
    for axis in ("arousal", "valence"):
        rc, rb = c[f"rmse_{axis}"], b[f"rmse_{axis}"]
        print(f"| RMSE {axis} | {rc:.3f} | {rb:.3f} | ratio {rc / rb:.2f} | | |")
    for sec in lengths:
        if sec == r["test_seconds"]:
            continue
        for axis in ("arousal", "valence"):
            rc, rb = by_len[sec]["cnn"][f"r2_{axis}"], by_len[sec]["ridge"][f"r2_{axis}"]
            print(f"| R² {axis}, the same clips at {sec:.0f} s | {rc:.3f} | {rb:.3f} | {rc - rb:+.3f} "
                  "| (reported) | |")
    med = sorted(t)[2]
    print(f"| 30-s clip, mood() (s, 2 threads, median of 5) | {med:.3f} | | | < 0.5 | {ok(med < 0.5)} |")
    print(f"| the same, CPU time (s; wall time on a busy machine is longer) | {sorted(cpu)[2]:.3f} "
          "| | | | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
