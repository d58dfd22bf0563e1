"""Music mood map numbers: held-out R² of the CNN against the ridge baseline, and the speed of the
shipped model on a 30-s clip (2 threads). Prints a markdown table.

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
    te = D.music_clips(r["n_test"], r["seed"], "test", r["seconds"], progress=False)
    net = music.load_pretrained()
    s = music.scores(net, te, music.baseline(tr, r["ridge_alpha"]))
    wave = D.render_score("bwv1.6", D.Performance(seconds=30.0))
    music.mood(wave, music.SR, model=net)  # warm up
    t = []
    for _ in range(5):
        t0 = time.perf_counter()
        music.mood(wave, music.SR, model=net)
        t.append(time.perf_counter() - t0)
    c, b = s["cnn"], s["ridge"]
    print(f"held-out: {len(te)} clips ({len(set(te.pieces))} pieces, {len(set(te.instruments))} "
          "instruments never trained on)\n")
    print("| measure | CNN | ridge | target |\n|---|---|---|---|")
    print(f"| R² arousal | {c['r2_arousal']:.3f} | {b['r2_arousal']:.3f} | CNN ≥ 0.8, > ridge |")
    print(f"| R² valence | {c['r2_valence']:.3f} | {b['r2_valence']:.3f} | CNN ≥ 0.6, > ridge |")
    print(f"| RMSE arousal | {c['rmse_arousal']:.3f} | {b['rmse_arousal']:.3f} | |")
    print(f"| RMSE valence | {c['rmse_valence']:.3f} | {b['rmse_valence']:.3f} | |")
    print(f"| 30-s clip, mood() (s, 2 threads, median of 5) | {sorted(t)[2]:.3f} | | < 0.5 |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
