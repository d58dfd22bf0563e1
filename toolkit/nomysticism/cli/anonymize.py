"""``nomysticism anonymize in.jpg out.jpg --faces replace --background cartoon``: hide who is in a
photo or a video (``nomysticism.anonymize``, after DeepAnon). ``--level`` picks a named level
(``nomysticism.anonymize.LEVELS``); ``--faces``/``--background``/``--clothes`` override it. A
video (by its suffix) is streamed, with faces tracked between detections; the output appears
only when complete."""

from __future__ import annotations

import time


def cmd_anonymize(args) -> int:
    import warnings

    from .. import anonymize as A
    from ..images import load_image, save_image
    from . import _is_video

    opts = dict(A.LEVELS[args.level]) if args.level else {"faces": "replace", "background": "none",
                                                           "clothes": "none"}
    for k in ("faces", "background", "clothes"):
        if getattr(args, k) is not None:
            opts[k] = getattr(args, k)
    if _is_video(args.input):
        rep = A.anonymize_video(args.input, args.output, detect_every=args.detect_every,
                                seed=args.seed, threshold=args.threshold, max_side=args.max_side,
                                max_frames=args.max_frames, progress=not args.quiet, **opts)
        print(f"{rep.dst}: {rep.frames} frames, {rep.faces_detected} faces detected, "
              f"{rep.frames_rescued} frames rescued by tracking, {rep.fps:.1f} frames/s")
        return 0
    img = load_image(args.input, max_side=args.max_side)
    t = time.perf_counter()
    dets = A.detect_faces(img, threshold=args.threshold)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", A.NoFacesWarning)  # said below, once
        out = A.anonymize(img, seed=args.seed, detections=dets, **opts)
    save_image(out, args.output)
    note = f"{len(dets)} faces" if len(dets) else f"no faces found ({dets.note}); faces unchanged"
    print(f"{args.output}: {out.shape[-1]}x{out.shape[-2]}, {note}, "
          + ", ".join(f"{k}={v}" for k, v in opts.items()) + f", {time.perf_counter() - t:.2f} s")
    return 0


def add_parser(sub) -> None:
    from ..anonymize import BACKGROUNDS, CLOTHES, FACES, LEVELS

    p = sub.add_parser("anonymize", help="replace faces, recolour clothes, cartoonise the background",
                       description=__doc__)
    p.add_argument("input", help="a photo or a video (by suffix)")
    p.add_argument("output", help="the anonymised photo or video")
    p.add_argument("--level", choices=list(LEVELS), default=None,
                   help="a named level (default: faces replaced, nothing else)")
    p.add_argument("--faces", choices=FACES, default=None)
    p.add_argument("--background", choices=BACKGROUNDS, default=None)
    p.add_argument("--clothes", choices=CLOTHES, default=None)
    p.add_argument("--seed", type=int, default=None, help="the clothes' hue shift")
    p.add_argument("--threshold", type=float, default=0.5, help="face detector score threshold")
    p.add_argument("--max-side", type=int, default=None, help="shrink the input to this long side")
    p.add_argument("--detect-every", type=int, default=1, help="video: detect every n-th frame")
    p.add_argument("--max-frames", type=int, default=None, help="video: stop after this many frames")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_anonymize)
