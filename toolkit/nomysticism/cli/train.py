"""``nomysticism train-style`` and ``nomysticism train-gan``: the long jobs, on one process or many.

    nomysticism train-style --style starry.jpg --data coco/train2014 --out starry.safetensors
    nomysticism train-gan --model dcgan --data digits --steps 1500 --batch-size 64 --out runs/dcgan
    torchrun --nproc_per_node=4 --no-python nomysticism train-gan --model cyclegan --data photos/ --out runs/cyc

Under ``torchrun`` each process trains on ``cuda:LOCAL_RANK`` (NCCL; gloo on CPUs) in
DistributedDataParallel; the batch size given is the global batch, split over the processes; only
rank 0 prints, shows the bar and writes files (:mod:`nomysticism.distributed`). Run the same
command again and it resumes from the checkpoint it left (``--no-resume`` starts afresh).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

# train-style option -> recipe key (nomysticism.fast_style.recipes)
_RECIPE_OPTIONS = {"steps": "steps", "batch": "batch_size", "size": "image_size", "lr": "lr",
                   "loss_net": "loss_net", "content_weight": "content_weight",
                   "style_weight": "style_weight", "tv_weight": "tv_weight", "style_size": "style_size",
                   "n_crops": "n_crops", "checkpoint_every": "checkpoint_every", "seed": "seed"}

GAN_MODELS = ("dcgan", "cgan", "cyclegan")


def cmd_train_style(args) -> int:
    from .. import distributed, fast_style

    with distributed.session(args.device) as ctx:
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
        if ctx.is_main:
            fast_style.export(model, out, metadata={"style": str(args.style), "steps": r["steps"],
                                                    "recipe": args.recipe, "processes": ctx.world_size})
            last = hist["loss"][-1] if hist["loss"] else float("nan")
            on = f" on {ctx.world_size} processes" if ctx.distributed else ""
            print(f"{out}: trained {r['steps']} steps{on} in {hist['seconds']:.0f} s, final loss {last:.4g}")
    return 0


# --- train-gan ------------------------------------------------------------------------------------

def _folder(root: Path, size: int):
    from ..data import ImageFolder

    return ImageFolder(root, size)


def _subdirs(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir())


def gan_data(model: str, data: str, size: int, n_images: int, seed: int = 0):
    """(data for :func:`nomysticism.gan.train`, channels, n_classes) for ``--model`` and ``--data``.

    - ``digits``: scikit-learn's 1,797 digits (1 channel, 10 classes); CycleGAN: A = the digits,
      B = the same digits with the ink inverted (shuffled, so unpaired);
    - ``shapes``: ``n_images`` procedural shapes (3 channels, 5 classes); CycleGAN: A = circles,
      B = squares;
    - ``cartoon`` (CycleGAN): photo crops ↔ cartoon crops (:func:`nomysticism.data.cartoon_domains`);
    - a folder: DCGAN, every image in it; cGAN, one sub-folder per class; CycleGAN, ``A/`` and ``B/``
      (or ``trainA/`` and ``trainB/`` as in Zhu et al.'s data sets).
    """
    import torch

    from .. import data as D

    if data == "digits":
        x, y = D.digits(size)
        if model == "cyclegan":
            g = torch.Generator().manual_seed(seed)
            return (x, 1 - x[torch.randperm(len(x), generator=g)]), 1, None
        return (x if model == "dcgan" else (x, y)), 1, 10
    if data == "shapes":
        s = D.shapes(n_images, size, seed=seed)
        if model == "cyclegan":
            circle, square = (D.SHAPE_CLASSES.index(c) for c in ("circle", "square"))
            return (s.images[s.labels == circle], s.images[s.labels == square]), 3, None
        return (s.images if model == "dcgan" else (s.images, s.labels)), 3, len(s.classes)
    if data == "cartoon":
        if model != "cyclegan":
            raise ValueError("--data cartoon is a pair of domains: use it with --model cyclegan")
        return D.cartoon_domains(n_images, size, seed=seed), 3, None
    root = Path(data)
    if not root.is_dir():
        raise FileNotFoundError(f"--data {data}: not digits, shapes, cartoon or a folder")
    if model == "dcgan":
        return _folder(root, size), 3, None
    subs = _subdirs(root)
    if model == "cyclegan":
        names = {p.name: p for p in subs}
        for a, b in (("A", "B"), ("trainA", "trainB")):
            if a in names and b in names:
                return (_folder(names[a], size), _folder(names[b], size)), 3, None
        raise FileNotFoundError(f"--data {root}: CycleGAN needs sub-folders A/ and B/ (or trainA/ and trainB/)")
    if len(subs) < 2:
        raise FileNotFoundError(f"--data {root}: a conditional GAN needs one sub-folder per class (found "
                                f"{len(subs)})")
    sets = [_folder(p, size) for p in subs]
    labels = torch.cat([torch.full((len(s),), i, dtype=torch.long) for i, s in enumerate(sets)])
    return (torch.utils.data.ConcatDataset(sets), labels), 3, len(sets)


def cmd_train_gan(args) -> int:
    import torch

    from .. import distributed, gan
    from ..checkpoint import save_weights
    from ..images import grid, save_image

    r = gan.recipe(args.model, steps=args.steps, batch_size=args.batch_size, size=args.size, lr=args.lr,
                   seed=args.seed, gan_mode=args.gan_mode, checkpoint_every=args.checkpoint_every,
                   sample_every=args.sample_every, n_images=args.n_images, ngf=args.ngf, ndf=args.ndf)
    if r["steps"] < 1:
        raise ValueError(f"--steps must be at least 1, not {r['steps']}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"--out {out}: exists and is not a folder")
    with distributed.session(args.device) as ctx:
        ctx.local_batch(r["batch_size"])  # a clear error before any work
        data, channels, n_classes = gan_data(args.model, args.data, r["size"], r["n_images"], r["seed"])
        torch.manual_seed(r["seed"])  # the same initial weights on every process
        common = {"lr": r["lr"], **({"gan_mode": r["gan_mode"]} if r["gan_mode"] else {})}
        if args.model == "cyclegan":
            model = gan.CycleGAN(channels, r["ngf"], r["ndf"], n_blocks=r["n_blocks"], **common)
            kwargs = {"channels": channels, "ngf": r["ngf"], "ndf": r["ndf"], "n_blocks": r["n_blocks"]}
        else:
            kwargs = {"size": r["size"], "channels": channels, "ngf": r["ngf"], "ndf": r["ndf"]}
            if args.model == "cgan":
                kwargs["n_classes"] = n_classes
            model = (gan.DCGAN if args.model == "dcgan" else gan.ConditionalGAN)(**kwargs, **common)
        kwargs.update(common)
        if ctx.is_main:
            out.mkdir(parents=True, exist_ok=True)
        ctx.barrier()
        ckpt = out / "checkpoint.pt"
        t0 = time.perf_counter()
        run = gan.train(model, data, r["steps"], batch_size=r["batch_size"], seed=r["seed"],
                        sample_every=r["sample_every"], checkpoint=ckpt, checkpoint_every=r["checkpoint_every"],
                        resume=not args.no_resume, progress=not args.quiet, device=args.device)
        if ctx.is_main:
            cls = type(model).__name__
            if args.model == "cyclegan":
                for k in ("G_AB", "G_BA"):
                    save_weights(model.nets[k], out / f"{k}.safetensors", {"class": cls, "kwargs": json.dumps(kwargs)})
            else:
                gan.save_generator(model, out / "generator.safetensors",
                                   {"class": cls, "kwargs": kwargs, "steps": run.step})
            if run.last_samples is not None:
                save_image(grid(run.last_samples, 8), out / "samples.png")
            last = {k: v[-1] for k, v in run.history.items() if k != "step" and v}
            record = {"model": args.model, "data": args.data, "recipe": r, "steps": run.step,
                      "processes": ctx.world_size, "seconds": round(time.perf_counter() - t0, 1),
                      "steps_per_s": round(run.steps_per_s, 3), "last_losses": last}
            from ..assets import atomic_write

            atomic_write(out / "train.json", lambda tmp: Path(tmp).write_text(json.dumps(record, indent=1)))
            on = f" on {ctx.world_size} processes" if ctx.distributed else ""
            losses = ", ".join(f"{k} {v:.3g}" for k, v in last.items())
            print(f"{out}: {cls} at step {run.step}{on} ({ckpt.name}), {losses}")
    return 0


def add_parser(sub) -> None:
    from ..fast_style.recipes import RECIPES
    from ..gan.recipes import RECIPES as GAN_RECIPES

    names, cli = list(RECIPES), RECIPES["cli"]
    m = cli["model"]
    s = sub.add_parser("train-style", help="train a TransformerNet for a style image (Johnson et al. 2016)",
                       description="Defaults come from the recipe (nomysticism.fast_style.RECIPES); "
                                   "the values shown are those of the 'cli' recipe. Works under "
                                   "torchrun --nproc_per_node=N (--batch is then the global batch).")
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
    s.add_argument("--device", default=None, help="default: cuda (cuda:LOCAL_RANK under torchrun), then mps, then cpu")
    s.add_argument("--quiet", "-q", action="store_true")
    s.set_defaults(func=cmd_train_style)

    d = GAN_RECIPES["dcgan"]
    s = sub.add_parser("train-gan", help="train a DCGAN, conditional GAN or CycleGAN; resumable",
                       description="Writes into --out: checkpoint.pt (resumable: run the same command "
                                   "again), generator.safetensors (G_AB/G_BA for CycleGAN), samples.png "
                                   "and train.json. Defaults: nomysticism.gan.RECIPES. Works under "
                                   "torchrun --nproc_per_node=N (--batch-size is then the global batch).")
    s.add_argument("--model", required=True, choices=GAN_MODELS)
    s.add_argument("--data", required=True,
                   help="digits, shapes, cartoon (CycleGAN) or a folder (cGAN: one sub-folder per class; "
                        "CycleGAN: A/ and B/ or trainA/ and trainB/)")
    s.add_argument("--out", required=True, help="the run's folder")
    s.add_argument("--steps", type=int, default=None, help=f"total steps (default {d['steps']})")
    s.add_argument("--batch-size", type=int, default=None,
                   help=f"global batch (default {d['batch_size']}; CycleGAN "
                        f"{GAN_RECIPES['cyclegan']['batch_size']})")
    s.add_argument("--size", type=int, default=None, help=f"image size (default {d['size']})")
    s.add_argument("--ngf", type=int, default=None, help="generator width")
    s.add_argument("--ndf", type=int, default=None, help="discriminator width")
    s.add_argument("--gan-mode", default=None, choices=["vanilla", "lsgan", "wgangp"],
                   help="default: the model's (vanilla for DCGAN/cGAN, lsgan for CycleGAN)")
    s.add_argument("--lr", type=float, default=None, help=f"default {d['lr']:g}")
    s.add_argument("--n-images", type=int, default=None, help="procedural data: how many images")
    s.add_argument("--checkpoint-every", type=int, default=None, help=f"default {d['checkpoint_every']}")
    s.add_argument("--sample-every", type=int, default=None, help=f"default {d['sample_every']}")
    s.add_argument("--seed", type=int, default=None, help=f"default {d['seed']}")
    s.add_argument("--no-resume", action="store_true", help="start afresh even if --out has a checkpoint")
    s.add_argument("--device", default=None, help="default: cuda (cuda:LOCAL_RANK under torchrun), then mps, then cpu")
    s.add_argument("--quiet", "-q", action="store_true")
    s.set_defaults(func=cmd_train_gan)
