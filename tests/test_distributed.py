"""nomysticism.distributed: torchrun + DistributedDataParallel on the CPU (gloo, 2 processes).

The references are independent of the code under test: one ordinary process at the full batch (no
process group, no DDP, no sharding) for the weights, ``torch.randperm`` for the sampler's order, and
the files on disk / a record of every atomic write for "only rank 0 writes".

One ``torchrun --nproc_per_node=2`` launch runs this file as its worker (``__main__`` below) with
every distributed scenario, so the start-up cost (two interpreters importing torch) is paid once;
a second launch runs ``nomysticism train-gan`` itself under torchrun, and again to resume.
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path

import nomysticism as nm
import pytest
import torch
from nomysticism import distributed, gan
from nomysticism import fast_style as fs
from nomysticism.models import LayeredNet
from torch import nn

STEPS, BATCH = 6, 4  # global batch 4: 2 processes x 2
# weights after 6 Adam steps, 2 x 2 vs 1 x 4: float32 rounding of the gradient average, grown by Adam
# (measured 2.4e-5; 1 x 2 vs 1 x 4, a wrong global batch, differs by ~3e-2)
TOL = 1e-4
CYC_TOL = 1e-6  # CycleGAN, 4 steps at lr 2e-4 (measured 5e-8; at half the batch ~1e-3)


# ---- the scenarios (run by the 1-process reference here and by each rank in the worker) --------------

def _tiny_loss():
    torch.manual_seed(5)
    layers = OrderedDict(conv1=nn.Conv2d(3, 6, 3, padding=1), relu1=nn.ReLU(), pool1=nn.MaxPool2d(2),
                         conv2=nn.Conv2d(6, 8, 3, padding=1), relu2=nn.ReLU())
    net = LayeredNet(layers, mean=(0.4, 0.5, 0.6), std=(0.2, 0.25, 0.3), classes=["a"], name="tiny")
    return fs.PerceptualLoss(net.eval().requires_grad_(False), style_layers=["relu1", "relu2"],
                             content_layers=["relu2"], style_weight=10.0, tv_weight=1e-3,
                             style_image=nm.sample_image("stripes", 32))


def style_run(batch=BATCH, steps=STEPS, **kw):
    """TransformerNet without norm layers on 8 crops: the weights and the history.

    Not instance norm: a conv bias right before a norm has a zero true gradient, so Adam (whose
    first step is lr·sign(g)) turns rounding noise into ±lr steps of it, and the runs part ways
    (not a DDP matter: any change of summation order does it)."""
    torch.manual_seed(7)
    model = fs.TransformerNet(width=4, norm="none")
    data = nm.data.random_crops(8, 32, seed=0)
    kw = {"progress": False, **kw}
    hist = fs.train(model, None, data, loss=_tiny_loss(), steps=steps, batch_size=batch, image_size=32,
                    lr=5e-3, log_every=1, device="cpu", **kw)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}, hist


def cyclegan_run(batch=BATCH, steps=4, **kw):
    """CycleGAN with instance norm and the image pool off (a pool is per process: see the docs)."""
    torch.manual_seed(0)
    m = gan.CycleGAN(ngf=4, ndf=4, n_blocks=1, pool_size=0)
    A, B = nm.data.cartoon_domains(8, 32, seed=0)
    run = gan.train(m, (A, B), steps, batch_size=batch, seed=3, sample_every=1000, device="cpu",
                    progress=False, **kw)
    return {f"{n}.{k}": v.detach().clone() for n, net in m.nets.items() for k, v in net.state_dict().items()}, run


def dcgan_run(steps=4, **kw):
    """DCGAN (batch norm in G; WGAN-GP, a critic step without G every other step)."""
    torch.manual_seed(0)
    m = gan.DCGAN(size=16, channels=1, ngf=4, ndf=4, gan_mode="wgangp", n_critic=2, n_samples=4)
    x, _ = nm.data.digits(16)
    run = gan.train(m, x[:64], steps, batch_size=BATCH, seed=1, sample_every=2, device="cpu", **kw)
    return m, run


def _max_diff(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k].double() - b[k].double()).abs().max()) for k in a if a[k].is_floating_point())


# ---- the worker: python -m torch.distributed.run --nproc_per_node=2 tests/test_distributed.py OUT ----------

def _worker(out: Path) -> None:
    import threading

    import torch.distributed as dist
    from nomysticism import cli

    torch.set_num_threads(1)
    ctx = distributed.init()
    assert ctx.distributed and ctx.backend == "gloo" and ctx.device.type == "cpu"
    writes: list[str] = []
    real_atomic_write = nm.checkpoint.atomic_write

    def recording(path, write):  # every checkpoint and weights file goes through here
        writes.append(Path(path).name)
        return real_atomic_write(path, write)

    nm.checkpoint.atomic_write = recording
    res: dict = {"rank": ctx.rank}

    # 1. fast-style: 2 x 2 vs 1 x 4; the bar on rank 0 only
    err, sys.stderr = sys.stderr, io.StringIO()
    try:
        sd, hist = style_run(progress=True)
    finally:
        res["stderr"], sys.stderr = sys.stderr.getvalue(), err
    res["style_loss"] = hist["loss"]
    # 2. resume: stopped at step 3 by a callback (it runs on rank 0; every rank stops), then resumed
    ck = out / "style.ckpt.pt"
    _, h1 = style_run(checkpoint=ck, checkpoint_every=100, callback=lambda step, o, h: step == 3)
    res["style_stopped_at"] = h1["step"][-1]
    sd_resumed, h2 = style_run(checkpoint=ck)
    res["style_resume_diff"] = _max_diff(sd, sd_resumed)
    res["style_resumed_loss"] = h2["loss"]
    # a stop event set on rank 1 only (a widget's Stop) ends rank 0 too, after the same step
    ev = threading.Event()
    if ctx.rank == 1:
        ev.set()
    _, h3 = style_run(steps=4, stop=ev)
    res["stopped_by_rank1_at"] = h3["step"][-1]
    # 3. CycleGAN: 2 x 2 vs 1 x 4
    sd_cyc, run_cyc = cyclegan_run()
    # 4. DCGAN with batch norm and critic-only steps: runs; the ranks' parameters agree
    m, run_dc = dcgan_run(checkpoint=out / "dcgan.ckpt.pt", checkpoint_every=2, progress=False)
    res["dcgan_samples"] = len(run_dc.samples)
    res["dcgan_params"] = torch.cat([p.detach().flatten().double() for n in m.nets.values()
                                     for p in n.parameters()]).tolist()
    # 5. the train-style command inside a running group (it must leave the group running)
    rc = cli.main(["train-style", "-q", "--style", "stripes", "--steps", "2", "--batch", "2", "--size", "32",
                   "--width", "4", "--n-crops", "4", "--loss-net", "efficientnet_lite0",
                   "--out", str(out / "tiny.safetensors")])
    res["train_style_rc"] = rc
    res["writes"] = writes
    everyone = [None] * ctx.world_size
    dist.all_gather_object(everyone, res)
    if ctx.is_main:
        torch.save({"style": sd, "cyclegan": sd_cyc}, out / "weights.pt")
        (out / "result.json").write_text(json.dumps({"ranks": everyone, "cyclegan_history": run_cyc.history}))
    distributed.shutdown()


# ---- the tests ----------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _torchrun(args, timeout=240) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    for k in distributed.TORCHRUN_VARS:
        env.pop(k, None)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_addr=127.0.0.1",
           f"--master_port={_free_port()}", *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-6000:]
    return r


@pytest.fixture(scope="module")
def two(tmp_path_factory):
    """One torchrun launch of the worker: per-rank results, rank 0's weights, the run folder."""
    out = tmp_path_factory.mktemp("ddp")
    _torchrun([__file__, str(out)])
    res = json.loads((out / "result.json").read_text())
    return {"ranks": sorted(res["ranks"], key=lambda r: r["rank"]), "cyclegan_history": res["cyclegan_history"],
            "weights": torch.load(out / "weights.pt", weights_only=True), "out": out}


@pytest.fixture(scope="module")
def one():
    """The references: one plain process (no process group) at the full batch, and at half of it."""
    torch.set_num_threads(1)
    return {"style": style_run(), "style_half": style_run(batch=2), "cyclegan": cyclegan_run(),
            "cyclegan_half": cyclegan_run(batch=2)}


def test_outside_torchrun_nothing_starts(monkeypatch):
    for k in distributed.TORCHRUN_VARS:
        monkeypatch.delenv(k, raising=False)
    ctx = distributed.init("cpu")
    assert (ctx.rank, ctx.world_size, ctx.backend, ctx.distributed, ctx.is_main) == (0, 1, None, False, True)
    assert not torch.distributed.is_initialized()
    assert ctx.mean([1.5, 2.0]) == [1.5, 2.0] and ctx.any(True) and not ctx.any(False)
    assert ctx.local_batch(5) == 5 and torch.equal(ctx.shard(torch.arange(3)), torch.arange(3))
    with distributed.session("cpu") as c:
        assert c.world_size == 1
    monkeypatch.setenv("WORLD_SIZE", "2")  # half a torchrun environment: say what is missing
    with pytest.raises(RuntimeError, match="RANK"):
        distributed.init("cpu")


def test_the_batch_size_is_global():
    ctx = distributed.Context(rank=1, world_size=2)
    assert ctx.local_batch(8) == 4
    with pytest.raises(ValueError, match="multiple of the number of processes"):
        ctx.local_batch(5)
    assert ctx.shard(torch.arange(6)).tolist() == [3, 4, 5]


def test_sampler_is_distributedsampler_and_the_ranks_make_the_global_batch():
    n, seed = 10, 3
    for epoch in range(3):  # one process: torch.randperm under seed + epoch (DistributedSampler's rule)
        ref = torch.randperm(n, generator=torch.Generator().manual_seed(seed + epoch)).tolist()
        assert distributed.epoch_order(n, seed, epoch) == ref
        assert distributed.epoch_order(n, seed, epoch, distributed.Context(1, 2)) == ref[1::2]
    # fast_style's batches: for every step (across epoch ends) the two ranks' batches of 2 are, together,
    # the one-process batch of 4
    one = fs._Batches(torch.zeros(n, 3, 4, 4), 4, 4, seed)
    ranks = [fs._Batches(torch.zeros(n, 3, 4, 4), 4, 2, seed, ctx=distributed.Context(r, 2)) for r in (0, 1)]
    for step in range(12):
        got = ranks[0].indices(step) + ranks[1].indices(step)
        assert sorted(got) == sorted(one.indices(step)), step
    # a set that does not split evenly: DistributedSampler pads each epoch by repeating its start
    odd = [distributed.epoch_order(7, seed, 0, distributed.Context(r, 2)) for r in (0, 1)]
    ref = torch.randperm(7, generator=torch.Generator().manual_seed(seed)).tolist()
    assert len(odd[0]) == len(odd[1]) == 4 and sorted(odd[0] + odd[1]) == sorted(ref + ref[:1])


def test_gan_draws_are_slices_of_one_global_draw():
    m = gan.DCGAN(size=16, channels=1, ngf=4, ndf=4)
    torch.manual_seed(11)
    ref_idx, ref_z = torch.randint(0, 50, (6,)), torch.randn(6, m.nz)
    parts = []
    for r in (0, 1):
        m._ctx = distributed.Context(r, 2)
        torch.manual_seed(11)
        parts.append((m._randint(50, 3), m._randn(3, m.nz)))
    m.undistribute()
    assert torch.equal(torch.cat([p[0] for p in parts]), ref_idx)
    assert torch.equal(torch.cat([p[1] for p in parts]), ref_z)


@pytest.mark.slow
def test_two_processes_at_half_the_batch_end_with_one_process_weights(two, one):
    ref, ref_hist = one["style"]
    assert _max_diff(ref, two["weights"]["style"]) < TOL
    assert _max_diff(ref, one["style_half"][0]) > 100 * TOL  # the tolerance tells a wrong batch apart
    for r in two["ranks"]:  # the logged losses are the global batch's, on every rank
        assert r["style_loss"] == pytest.approx(ref_hist["loss"], rel=1e-4)
    # CycleGAN (instance norm, no pool): the GAN loop's sharded draws, 4 nets in DDP
    cyc, run = one["cyclegan"]
    assert _max_diff(cyc, two["weights"]["cyclegan"]) < CYC_TOL
    assert _max_diff(cyc, one["cyclegan_half"][0]) > 100 * CYC_TOL
    assert two["cyclegan_history"]["loss_cycle"] == pytest.approx(run.history["loss_cycle"], rel=1e-4)


@pytest.mark.slow
def test_batch_norm_model_runs_and_the_ranks_agree(two):
    r0, r1 = two["ranks"]
    assert r0["dcgan_params"] == r1["dcgan_params"]  # DDP: identical parameters after every step
    assert r0["dcgan_samples"] == 2 and r1["dcgan_samples"] == 0  # sample grids on rank 0 only


@pytest.mark.slow
def test_only_rank_0_writes(two):
    r0, r1 = two["ranks"]
    assert r1["writes"] == [] and r1["stderr"] == ""  # no file, no progress bar on rank 1
    assert "train:" in r0["stderr"] and "/6" in r0["stderr"]  # the bar of the 6-step run
    assert {"style.ckpt.pt", "dcgan.ckpt.pt", "tiny.safetensors", "tiny.ckpt.pt"} <= set(r0["writes"])
    assert r0["train_style_rc"] == r1["train_style_rc"] == 0
    assert fs.load_pretrained(str(two["out"] / "tiny.safetensors")).config["width"] == 4
    assert not [p for p in two["out"].iterdir() if ".tmp" in p.name]  # atomic writes only


@pytest.mark.slow
def test_resume_under_two_processes(two, one):
    for r in two["ranks"]:
        assert r["style_stopped_at"] == 3  # rank 0's callback stopped both ranks at step 3
        assert r["style_resume_diff"] == 0.0  # stop + resume == uninterrupted, bit for bit
        assert r["style_resumed_loss"] == r["style_loss"]
        assert r["stopped_by_rank1_at"] == 1  # rank 1's stop event ended rank 0 too
    assert _max_diff(one["style"][0], two["weights"]["style"]) < TOL


@pytest.mark.slow
def test_train_gan_command_under_torchrun_writes_and_resumes(tmp_path):
    out = tmp_path / "run"
    cmd = ["--no-python", "nomysticism", "train-gan", "-q", "--model", "cgan", "--data", "shapes",
           "--n-images", "40", "--batch-size", "8", "--size", "16", "--ngf", "8", "--ndf", "8",
           "--checkpoint-every", "2", "--sample-every", "2", "--out", str(out)]
    _torchrun([*cmd, "--steps", "3"])
    assert nm.checkpoint.load_checkpoint(out / "checkpoint.pt")["step"] == 3
    r = _torchrun([*cmd, "--steps", "5"])  # the same command, more steps: resumes from step 3
    assert r.stdout.count("ConditionalGAN at step 5 on 2 processes") == 1  # printed by rank 0 only
    st = nm.checkpoint.load_checkpoint(out / "checkpoint.pt")
    assert st["step"] == 5 and st["history"]["step"] == [1, 2, 3, 4, 5]
    rec = json.loads((out / "train.json").read_text())
    assert rec["processes"] == 2 and rec["steps"] == 5 and rec["recipe"]["batch_size"] == 8
    assert {p.name for p in out.iterdir()} == {"checkpoint.pt", "generator.safetensors", "samples.png",
                                                "train.json"}


if __name__ == "__main__":
    _worker(Path(sys.argv[1]))
