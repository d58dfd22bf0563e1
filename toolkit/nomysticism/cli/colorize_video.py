"""``nomysticism colorize-video in.mp4 out.mp4 --hints hints.json``: colour a grey film from hints on
key frames, carried along by optical flow (:func:`nomysticism.colorize.video.video`).

The hints file maps key frame numbers to hints, each list in the single-image format::

    {"version": 1, "keyframes": {"0": [{"y": 40, "x": 60, "rgb": [0.9, 0.2, 0.1]}],
                                 "48": [{"y": 35, "x": 70, "rgb": [0.9, 0.2, 0.1]}]}}

(a single-image file from ``nomysticism colorize`` / the hint widget is read as key frame 0).
Coordinates are pixels of the frames as colourised, i.e. after ``--max-side``. The video is read
twice (tracking, then colouring), never held whole; ``out`` appears only when it is complete.
"""

from __future__ import annotations


def cmd_colorize_video(args) -> int:
    from ..colorize.video import REACH, SMOOTH, load_video_hints, video

    hints = load_video_hints(args.hints)
    res = video(args.input, args.output, hints, method=args.method,
                carry="none" if args.no_tracking else "flow", check=not args.no_check,
                smooth=SMOOTH if args.smooth is None else args.smooth,
                reach=REACH if args.reach is None else args.reach, flow=args.flow,
                max_side=args.max_side, max_frames=args.max_frames, device=args.device,
                progress=not args.quiet)
    s = res.survival()
    h, w = res.size
    secs = res.seconds["track"] + res.seconds["colorize"]
    print(f"{args.output}: {res.n_frames} frames {w}x{h}, {len(hints)} key frames, "
          f"{s['tracks']} hint tracks: {100 * s['kept']:.0f}% kept, {100 * s['fb']:.0f}% dropped by "
          f"the forward-backward check, {100 * s['left']:.0f}% left the frame; "
          f"ab flicker {res.ab_flicker:.2f}; {secs:.1f} s")
    return 0


def add_parser(sub) -> None:
    s = sub.add_parser(
        "colorize-video", help="colour a grey video from hints on key frames, carried by optical flow",
        description="Levin et al. 2004 (or Zhang et al. 2017's hint network) on every frame, with the "
                    "key frames' hints carried forward and backward by DIS optical flow, dropped where "
                    "the forward-backward check fails, and the chroma smoothed along the flow.")
    s.add_argument("input", help="the grey (or colour: only its lightness is read) video")
    s.add_argument("output", help="the coloured video (.mp4, .mkv, .webm, .gif)")
    s.add_argument("--hints", required=True,
                   help='JSON {"version": 1, "keyframes": {"<frame>": [{"y", "x", "rgb"}, ...]}}')
    s.add_argument("--method", default="levin", help="levin (default), network or nearest")
    s.add_argument("--max-side", type=int, default=None, help="shrink frames to this longer side first")
    s.add_argument("--max-frames", type=int, default=None, help="stop after this many frames")
    s.add_argument("--reach", type=int, default=None,
                   help="carry each hint at most this many frames from its key frame (default 48)")
    s.add_argument("--smooth", type=float, default=None,
                   help="temporal blend of the chroma with the previous frame, 0-1 (default 0.5; 0 = off)")
    s.add_argument("--flow", default="dis", choices=("dis", "farneback"), help="optical flow method")
    s.add_argument("--no-check", action="store_true", help="keep hints that fail the forward-backward check")
    s.add_argument("--no-tracking", action="store_true",
                   help="leave hints at their pixel in every frame (the per-frame baseline)")
    s.add_argument("--device", default=None, help="for --method network: cuda, mps or cpu")
    s.add_argument("--quiet", "-q", action="store_true")
    s.set_defaults(func=cmd_colorize_video)
