"""The ``nomysticism`` command line: a thin shell over the toolkit's methods.

    nomysticism list-models
    nomysticism stylize --model mosaic photo.jpg out.jpg
    nomysticism stylize --model mosaic --temporal 0.5 clip.mp4 out.mp4     # streamed, any length
    nomysticism train-style --style starry.jpg --data coco/train2014 --out starry.safetensors
    nomysticism train-style --recipe cpu_demo --style mosaic                # the shipped recipe
    nomysticism train-gan --model dcgan --data digits --steps 1500 --batch-size 64 --out runs/dcgan
    torchrun --nproc_per_node=4 --no-python nomysticism train-gan ...      # 4 GPUs (cli/train.py)
    nomysticism colorize old.jpg out.jpg --hints hints.json --max-side 256  # Levin et al. 2004
    nomysticism colorize old.jpg out.jpg                                    # automatic (no hints)

``train-style`` takes its defaults from ``nomysticism.fast_style.RECIPES`` (``--recipe``, default
``"cli"``); every option given on the command line overrides the recipe.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

#: Commands that live in a module of their own, ``cli/<name>.py``, each with ``add_parser(sub)``
#: (it adds its sub-parser and sets ``func``). One module per topic keeps this file small.
COMMAND_MODULES = ("restore", "colorize_video", "anonymize", "mood", "train")

VIDEO_SUFFIXES = {".mp4", ".mkv", ".mov", ".avi", ".webm", ".gif", ".m4v"}


def _is_video(path: str) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def cmd_list_models(args) -> int:
    from .. import fast_style, models

    for kind, title in (("style", "style models (nomysticism stylize --model NAME):"),
                        ("texture", "texture generators (output = a texture the size of the input):")):
        print(title)
        for name in fast_style.list_pretrained(kind):
            m = fast_style.load_pretrained(name)
            n = sum(p.numel() for p in m.parameters())
            extra = f"width={m.config['width']}" if "width" in m.config else f"scales={m.config.get('scales')}"
            print(f"  {name:16s} {m.config['arch']} {extra} norm={m.config.get('norm')} params={n / 1e6:.2f}M")
    print("networks (nm.models.load):")
    for name in models.list_models():
        print(f"  {name}")
    return 0


def cmd_stylize(args) -> int:
    from .. import fast_style
    from ..images import load_image, save_image
    from ..runtime import device

    dev = device(args.device)
    model = fast_style.load_pretrained(args.model, device=dev)
    src, dst = args.input, args.output
    if _is_video(src):
        # streamed: one frame decoded, stylised and encoded at a time; dst appears only when complete
        res = fast_style.stylize_video(model, src, dst, temporal=args.temporal, max_side=args.max_side,
                                       max_frames=args.max_frames, device=dev, keep_frames=False,
                                       progress=not args.quiet)
        n, (h, w) = res["n_frames"], res["size"]
        print(f"{dst}: {n} frames {w}x{h}, {1000 * res['seconds'] / n:.1f} ms/frame, "
              f"flicker {res['flicker']:.3f}")
    else:
        img = load_image(src, max_side=args.max_side)
        out = fast_style.stylize(model, img, device=dev)
        save_image(out, dst)
        print(f"{dst}: {out.shape[-1]}x{out.shape[-2]}")
    return 0


def cmd_colorize(args) -> int:
    import time

    from .. import colorize
    from ..images import load_image, save_image

    img = load_image(args.input, max_side=args.max_side)
    t = time.perf_counter()
    if args.hints:
        hints = colorize.load_hints(args.hints, img.shape[-2:])
        out = colorize.from_hints(img, hints, method=args.method)
        how = f"{len(hints)} hints, {args.method}"
    elif hasattr(colorize, "automatic"):
        out = colorize.automatic(img) if args.model is None else colorize.automatic(img, args.model)
        how = "automatic" + (f" ({args.model})" if args.model else "")
    else:
        raise ValueError("no --hints given and this version has no automatic colouriser "
                         "(nomysticism.colorize.automatic); place hints with the HintEditor widget "
                         "and pass --hints hints.json")
    save_image(out, args.output)
    print(f"{args.output}: {out.shape[-1]}x{out.shape[-2]}, {how}, {time.perf_counter() - t:.2f} s")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="nomysticism", description="No Mysticism toolkit command line")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("list-models", help="list shipped style models and networks")
    s.set_defaults(func=cmd_list_models)

    s = sub.add_parser("stylize", help="stylise an image or a video with a feed-forward model")
    s.add_argument("--model", "-m", default="mosaic", help="a shipped model name or a .safetensors path")
    s.add_argument("--max-side", type=int, default=None, help="shrink the input so its longer side is at most this")
    s.add_argument("--temporal", type=float, default=0.0,
                   help="video: blend weight with the flow-warped previous frame (0 = off, e.g. 0.5)")
    s.add_argument("--max-frames", type=int, default=None, help="video: stop after this many frames")
    s.add_argument("--device", default=None, help="default: cuda, then mps, then cpu")
    s.add_argument("--quiet", "-q", action="store_true")
    s.add_argument("input")
    s.add_argument("output")
    s.set_defaults(func=cmd_stylize)

    s = sub.add_parser("colorize", help="colour a grey photo from hints (Levin et al. 2004) or automatically",
                       description="Only the input's lightness is used. With --hints (a JSON file from "
                                   "the HintEditor widget or nomysticism.colorize.save_hints) the hints' "
                                   "colours are spread over it; without, the automatic colouriser runs.")
    s.add_argument("--hints", default=None,
                   help='hints file {"version": 1, "hints": [{"y", "x", "rgb"}, ...]}, pixel coordinates '
                        "of the image as loaded (after --max-side)")
    s.add_argument("--method", default="levin",
                   help="with --hints: levin (default), nearest, or network when installed")
    s.add_argument("--model", default=None, help="without --hints: the automatic model (default: shipped)")
    s.add_argument("--max-side", type=int, default=None,
                   help="shrink the input so its longer side is at most this (use the size the hints "
                        "were placed at)")
    s.add_argument("input")
    s.add_argument("output")
    s.set_defaults(func=cmd_colorize)

    for name in COMMAND_MODULES:
        importlib.import_module(f".{name}", __name__).add_parser(sub)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, OSError) as e:
        print(f"nomysticism {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
