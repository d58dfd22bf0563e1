"""The ``nomysticism`` command line: a thin shell over the toolkit's methods.

    nomysticism list-models
    nomysticism stylize --model mosaic photo.jpg out.jpg
    nomysticism stylize --model mosaic --temporal 0.5 clip.mp4 out.mp4     # streamed, any length
    nomysticism train-style --style starry.jpg --data coco/train2014 --out starry.safetensors
    nomysticism train-style --recipe cpu_demo --style mosaic                # the shipped recipe
    nomysticism colorize old.jpg out.jpg --hints hints.json --max-side 256  # Levin et al. 2004
    nomysticism colorize old.jpg out.jpg                                    # automatic (no hints)

``train-style`` takes its defaults from ``nomysticism.fast_style.RECIPES`` (``--recipe``, default
``"cli"``); every option given on the command line overrides the recipe.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

VIDEO_SUFFIXES = {".mp4", ".mkv", ".mov", ".avi", ".webm", ".gif", ".m4v"}

# train-style option -> recipe key (nomysticism.fast_style.recipes)
_RECIPE_OPTIONS = {"steps": "steps", "batch": "batch_size", "size": "image_size", "lr": "lr",
                   "loss_net": "loss_net", "content_weight": "content_weight",
                   "style_weight": "style_weight", "tv_weight": "tv_weight", "style_size": "style_size",
                   "n_crops": "n_crops", "checkpoint_every": "checkpoint_every", "seed": "seed"}


def _is_video(path: str) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def cmd_list_models(args) -> int:
    from . import fast_style, models

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
    from . import fast_style
    from .images import load_image, save_image
    from .runtime import device

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


def cmd_train_style(args) -> int:
    from . import fast_style

    r = fast_style.recipe(args.recipe, **{k: getattr(args, o) for o, k in _RECIPE_OPTIONS.items()})
    out = Path(args.out or f"{Path(args.style).stem}.safetensors")
    config = dict(r["model"])
    if config["arch"] == "TransformerNet":
        config.update({k: v for k, v in (("width", args.width), ("norm", args.norm)) if v is not None})
    elif args.norm is not None:
        config["norm"] = args.norm
    model = fast_style.build_model(config)
    data = args.data if args.data else r["n_crops"]
    net = fast_style.loss_network(r["loss_net"])
    loss = fast_style.PerceptualLoss(net, content_weight=r["content_weight"],
                                     style_weight=fast_style.style_weight_for(net.name, r["style_weight"]),
                                     tv_weight=r["tv_weight"], style_size=r["style_size"])
    kw = fast_style.train_kwargs(r)
    for k in ("loss_net", "content_weight", "style_weight", "tv_weight", "style_size"):
        kw.pop(k)  # in the loss
    hist = fast_style.train(
        model, args.style, data, loss=loss, device=args.device,
        checkpoint=args.checkpoint or str(out.with_suffix(".ckpt.pt")),
        workers=args.workers, progress=not args.quiet, **kw,
    )
    fast_style.export(model, out, metadata={"style": str(args.style), "steps": r["steps"],
                                            "recipe": args.recipe})
    last = hist["loss"][-1] if hist["loss"] else float("nan")
    print(f"{out}: trained {r['steps']} steps in {hist['seconds']:.0f} s, final loss {last:.4g}")
    return 0


def cmd_colorize(args) -> int:
    import time

    from . import colorize
    from .images import load_image, save_image

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

    from .fast_style.recipes import RECIPES

    names, cli = list(RECIPES), RECIPES["cli"]
    m = cli["model"]
    s = sub.add_parser("train-style", help="train a TransformerNet for a style image (Johnson et al. 2016)",
                       description="Defaults come from the recipe (nomysticism.fast_style.RECIPES); "
                                   "the values shown are those of the 'cli' recipe.")
    s.add_argument("--recipe", default="cli", choices=names,
                   help="the training recipe the other options default to (cpu_demo: the shipped mosaic)")
    s.add_argument("--style", required=True, help="style image path or a sample name (mosaic, swirl, ...)")
    s.add_argument("--data", default=None, help="a folder of content images (e.g. COCO train2014); "
                   "default: random crops of the bundled photos")
    s.add_argument("--out", default=None, help="output .safetensors (default: <style>.safetensors)")
    s.add_argument("--steps", type=int, default=None, help=f"default {cli['steps']}")
    s.add_argument("--batch", type=int, default=None, help=f"default {cli['batch_size']}")
    s.add_argument("--size", type=int, default=None, help=f"training crop size, default {cli['image_size']}")
    s.add_argument("--style-size", type=int, default=None, help="resize the style image (default: as is)")
    s.add_argument("--width", type=int, default=None, help=f"TransformerNet width, default {m['width']}")
    s.add_argument("--norm", default=None, choices=["instance", "batch"], help=f"default {m['norm']}")
    s.add_argument("--lr", type=float, default=None, help=f"default {cli['lr']:g}")
    s.add_argument("--loss-net", default=None, help=f"vgg16, efficientnet_lite0 or auto (default {cli['loss_net']})")
    s.add_argument("--content-weight", type=float, default=None, help=f"default {cli['content_weight']:g}")
    s.add_argument("--style-weight", type=float, default=None,
                   help="default: by loss network (STYLE_WEIGHTS: 200 for efficientnet_lite0, a relative "
                        "Gram error; 10 for VGG)")
    s.add_argument("--tv-weight", type=float, default=None, help=f"default {cli['tv_weight']:g}")
    s.add_argument("--n-crops", type=int, default=None,
                   help=f"offline data: number of random crops, default {cli['n_crops']}")
    s.add_argument("--checkpoint", default=None, help="resumable checkpoint (default: <out>.ckpt.pt)")
    s.add_argument("--checkpoint-every", type=int, default=None, help=f"default {cli['checkpoint_every']}")
    s.add_argument("--workers", type=int, default=0, help="data-loading processes for --data")
    s.add_argument("--seed", type=int, default=None, help=f"default {cli['seed']}")
    s.add_argument("--device", default=None, help="default: cuda, then mps, then cpu")
    s.add_argument("--quiet", "-q", action="store_true")
    s.set_defaults(func=cmd_train_style)

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
