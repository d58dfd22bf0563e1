"""``nomysticism restore in.mp4 out.mp4 --target-fps 24``: the old-film pipeline
(``nomysticism.restore.restore``): drop repeated frames, normalise the range, deflicker,
interpolate to the target rate (RIFE by default), optionally upscale. Streamed; the output
appears only when complete."""

from __future__ import annotations


def cmd_restore(args) -> int:
    from .. import restore

    steps = None
    if args.steps:
        steps = tuple(s.strip() for s in args.steps.split(",") if s.strip())
    res = restore.restore(args.input, args.output, target_fps=args.target_fps, steps=steps,
                          recipe_name=args.recipe, method=args.method, device=args.device,
                          progress=not args.quiet)
    print(f"{res.dst}: {res.n_in} frames in, {len(res.repeats)} repeats dropped, {res.n_out} frames "
          f"out at {res.target_fps:g} fps (film rate {res.film_fps:.2f} fps), {res.fps:.1f} frames/s")
    return 0


def add_parser(sub) -> None:
    from ..restore import RECIPES, STEPS

    p = sub.add_parser("restore", help="restore an old film: repeats, range, flicker, frame rate",
                       description=__doc__)
    p.add_argument("input", help="the old film (a video file)")
    p.add_argument("output", help="the restored video (.mp4)")
    p.add_argument("--target-fps", type=float, default=None, help="output frame rate (default 24)")
    p.add_argument("--method", choices=["rife", "flow", "blend", "nearest"], default=None,
                   help="in-between frames (default rife)")
    p.add_argument("--steps", default=None, help=f"comma-separated, some of {','.join(STEPS)}")
    p.add_argument("--recipe", default="default", choices=list(RECIPES))
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when there is one)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_restore)
