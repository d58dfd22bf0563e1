"""``nomysticism mood song.wav [more files] [--plot map.png]``: where tracks sit on the mood map.

Prints each file's valence (sad … happy) and arousal (calm … energetic), both in [-1, 1], and
its circumplex quadrant, from the shipped mood CNN (``nomysticism.music.mood``). ``--plot`` draws
the map of all the files (written atomically). A file that cannot be read is reported by name
after the others are done; the exit status is then 2.
"""

from __future__ import annotations

import json
from pathlib import Path


def cmd_mood(args) -> int:
    from .. import music
    from ..assets import atomic_write

    model = music.load_pretrained(args.model) if args.model else music.load_pretrained()
    results, failed = {}, []
    for f in args.files:
        try:
            wave, sr = music.load_audio(f)
            m = music.mood(wave, sr, model=model)
        except (ValueError, OSError) as e:
            failed.append(f"{f}: {e}")
            continue
        results[f] = m
        if not args.json:
            print(f"{f}\tvalence {m.valence:+.3f}\tarousal {m.arousal:+.3f}\t"
                  f"{music.quadrant(m.valence, m.arousal)}")
    if args.json:
        print(json.dumps({f: {"valence": m.valence, "arousal": m.arousal,
                              "quadrant": music.quadrant(m.valence, m.arousal)}
                          for f, m in results.items()}, indent=1))
    if args.plot and results:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        ax = music.plot_mood_map({Path(f).stem: m for f, m in results.items()})
        atomic_write(args.plot, lambda tmp: ax.figure.savefig(tmp, dpi=120, bbox_inches="tight"))
        plt.close(ax.figure)
        print(f"{args.plot}: the mood map of {len(results)} file(s)")
    if failed:
        raise ValueError(f"{len(failed)} of {len(args.files)} file(s) failed:\n  " + "\n  ".join(failed))
    return 0


def add_parser(sub) -> None:
    s = sub.add_parser("mood", help="valence and arousal of audio files (a CNN on spectrograms)",
                       description=__doc__.splitlines()[0] + " The model is trained on music "
                       "rendered here (Bach chorales, labels from a formula), not on listeners' "
                       "ratings.")
    s.add_argument("files", nargs="+", help="WAV / FLAC / OGG files (anything libsndfile reads)")
    s.add_argument("--plot", default=None, help="write the mood map of all files to this PNG")
    s.add_argument("--model", default=None, help="a .safetensors from nomysticism.music.export "
                   "(default: the shipped mood_cnn)")
    s.add_argument("--json", action="store_true", help="print JSON instead of lines")
    s.set_defaults(func=cmd_mood)
