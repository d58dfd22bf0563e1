"""nomysticism.gan: losses against their formulas, the gradient penalty against a hand-derived gradient,
the image pool, the networks' shapes and receptive field, training moving the losses the expected way,
checkpoints and kill-and-resume equivalence, and the quality metrics against scipy."""

import math

import nomysticism as nm
import numpy as np
import pytest
import torch
from nomysticism import gan
from torch import nn

# ------------------------------------------------------------------------------------------------
# losses
# ------------------------------------------------------------------------------------------------


def _sigmoid64(p):
    return 1.0 / (1.0 + np.exp(-p))


@pytest.mark.parametrize("shape", [(7,), (3, 1, 5, 5)])
def test_losses_match_their_formulas(shape):
    p = torch.randn(shape) * 3
    q = p.double().numpy()
    # vanilla (Goodfellow 2014): -log sigma(p) for real, -log(1 - sigma(p)) for fake
    assert gan.gan_loss(p, True, "vanilla").item() == pytest.approx(-np.log(_sigmoid64(q)).mean(), rel=1e-5)
    assert gan.gan_loss(p, False, "vanilla").item() == pytest.approx(-np.log(1 - _sigmoid64(q)).mean(), rel=1e-5)
    # LSGAN (Mao 2017, a=0, b=c=1)
    assert gan.gan_loss(p, True, "lsgan").item() == pytest.approx(((q - 1) ** 2).mean(), rel=1e-5)
    assert gan.gan_loss(p, False, "lsgan").item() == pytest.approx((q ** 2).mean(), rel=1e-5)
    # Wasserstein critic
    assert gan.gan_loss(p, True, "wgangp").item() == pytest.approx(-q.mean(), rel=1e-5, abs=1e-6)
    assert gan.gan_loss(p, False, "wgangp").item() == pytest.approx(q.mean(), rel=1e-5, abs=1e-6)


def test_d_and_g_losses():
    r, f = torch.randn(9), torch.randn(9)
    rr, ff = r.double().numpy(), f.double().numpy()
    want_d = -(np.log(_sigmoid64(rr)).mean() + np.log(1 - _sigmoid64(ff)).mean())
    assert gan.d_loss(r, f, "vanilla").item() == pytest.approx(want_d, rel=1e-5)
    # non-saturating G loss: -log D(G(z))
    assert gan.g_loss(f, "vanilla").item() == pytest.approx(-np.log(_sigmoid64(ff)).mean(), rel=1e-5)
    assert gan.d_loss(r, f, "wgangp").item() == pytest.approx(ff.mean() - rr.mean(), rel=1e-5, abs=1e-6)
    with pytest.raises(ValueError, match="gan_mode"):
        gan.gan_loss(r, True, "hinge")


def test_gradient_penalty_against_hand_derived_gradient():
    # critic D(x) = sum_i tanh(a_i * x_i): dD/dx_i = a_i (1 - tanh^2(a_i x_i)), computed here in float64
    torch.manual_seed(3)
    a = torch.randn(2, 4, 4)
    critic = lambda x: torch.tanh(a * x).flatten(1).sum(1)  # noqa: E731
    real, fake = torch.randn(5, 2, 4, 4), torch.randn(5, 2, 4, 4)
    eps = torch.rand(5)
    got = gan.gradient_penalty(critic, real, fake, eps=eps, weight=10.0).item()
    R, Fk, A, E = (t.double().numpy() for t in (real, fake, a, eps))
    xh = E[:, None, None, None] * R + (1 - E[:, None, None, None]) * Fk
    g = A * (1 - np.tanh(A * xh) ** 2)
    norms = np.sqrt((g.reshape(5, -1) ** 2).sum(1))
    want = 10.0 * ((norms - 1) ** 2).mean()
    assert got == pytest.approx(want, rel=1e-5)


def test_gradient_penalty_of_a_linear_critic_and_its_gradient_reaches_the_weights():
    # a linear critic has gradient w everywhere: GP = lambda (|w| - 1)^2, d GP / dw = 2 lambda (|w|-1) w/|w|
    lin = nn.Linear(6, 1, bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[0.5, -1.0, 2.0, 0.0, 1.0, -0.5]]))
    w = lin.weight.detach().double().flatten()
    gp = gan.gradient_penalty(lin, torch.randn(4, 6), torch.randn(4, 6), weight=3.0)
    assert gp.item() == pytest.approx(3.0 * (w.norm().item() - 1) ** 2, rel=1e-6)
    gp.backward()
    want = 2 * 3.0 * (w.norm() - 1) * w / w.norm()
    assert torch.allclose(lin.weight.grad.double().flatten(), want, rtol=1e-5)


def test_gradient_penalty_passes_labels_to_a_conditional_critic():
    D = gan.ConditionalDiscriminator(3, ndf=8, size=16, channels=1, norm="layer")
    x, y = torch.rand(4, 1, 16, 16), torch.tensor([0, 1, 2, 0])
    gp = gan.gradient_penalty(D, x, torch.rand(4, 1, 16, 16), y)
    assert gp.ndim == 0 and gp.item() > 0


# ------------------------------------------------------------------------------------------------
# image pool, LR schedule
# ------------------------------------------------------------------------------------------------


def test_image_pool_fills_then_swaps_about_half():
    torch.manual_seed(0)
    pool = gan.ImagePool(10)
    first = torch.arange(10.0).view(10, 1, 1, 1)
    out = pool.query(first)
    assert torch.equal(out, first) and len(pool.images) == 10  # filling: returned as is
    stored = torch.cat(pool.images).flatten().tolist()
    new = torch.arange(100.0, 400.0).view(300, 1, 1, 1)
    seen_old, swaps = set(), 0
    for chunk in new.split(10):
        before = set(torch.cat(pool.images).flatten().tolist())
        got = pool.query(chunk)
        assert got.shape == chunk.shape and len(pool.images) == 10
        for g, c in zip(got.flatten().tolist(), chunk.flatten().tolist()):
            if g != c:
                swaps += 1
                assert g in before or g in chunk.flatten().tolist()  # an image that was in the pool
                seen_old.add(g)
    assert 0.4 < swaps / 300 < 0.6  # p = 1/2
    assert seen_old & set(stored)  # old fakes come back
    off = gan.ImagePool(0)
    assert torch.equal(off.query(new[:5]), new[:5]) and off.images == []


def test_image_pool_state_round_trip():
    pool = gan.ImagePool(3)
    pool.query(torch.rand(5, 3, 4, 4))
    p2 = gan.ImagePool(50)
    p2.load_state_dict(pool.state_dict())
    assert p2.size == 3 and all(torch.equal(a, b) for a, b in zip(p2.images, pool.images))


def test_linear_decay_as_in_the_paper():
    # 100 constant + 100 decaying "epochs" (junyanz: 1 - max(0, e - n_epochs) / (n_epochs_decay + 1))
    assert gan.linear_decay(1, 200) == 1.0
    assert gan.linear_decay(100, 200) == 1.0
    assert gan.linear_decay(101, 200) == pytest.approx(1 - 1 / 101)
    assert gan.linear_decay(200, 200) == pytest.approx(1 - 100 / 101)
    assert gan.linear_decay(50, 200, n_decay=200) == pytest.approx(1 - 50 / 201)


# ------------------------------------------------------------------------------------------------
# networks
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [16, 32, 64])
def test_dcgan_shapes_and_init(size):
    m = gan.DCGAN(size=size, channels=3, ngf=8, ndf=8)
    x = m.generate(n=2)
    assert x.shape == (2, 3, size, size) and 0 <= x.min() and x.max() <= 1
    assert m.D(torch.rand(2, 3, size, size)).shape == (2,)
    w = m.G.layers.up1[0].weight
    assert abs(w.std().item() - 0.02) < 0.003 and abs(w.mean().item()) < 0.002  # N(0, 0.02)
    assert isinstance(m.D.layers.down2[2], nn.LeakyReLU) and m.D.layers.down2[2].negative_slope == 0.2
    assert isinstance(m.D.layers.down2[1], nn.BatchNorm2d)
    g = m.opts["G"].param_groups[0]
    assert g["lr"] == 2e-4 and g["betas"][0] == 0.5 and m.nz == 100


def test_wgangp_critic_has_no_batch_norm():
    m = gan.DCGAN(size=32, ngf=8, ndf=8, gan_mode="wgangp")
    assert not any(isinstance(x, nn.BatchNorm2d) for x in m.D.modules())
    assert m.n_critic == 5


def test_conditional_generator_is_the_posters_shape():
    G = gan.ConditionalGenerator(n_classes=20, nz=100, ngf=8, size=64)
    assert G.linear.in_features == 120  # z of 100 + 20-way one-hot
    x = G(torch.randn(3, 100), torch.tensor([0, 5, 19]))
    assert x.shape == (3, 3, 64, 64)
    # the label matters: same z, different class -> different image
    G.eval()
    z = torch.randn(1, 100)
    assert not torch.allclose(G(z, torch.tensor([0])), G(z, torch.tensor([1])))
    D = gan.ConditionalDiscriminator(20, ndf=8, size=64)
    assert D.layers.down1[0].in_channels == 3 + 20


def test_resnet_generator_and_patchgan():
    G = gan.ResnetGenerator(3, ngf=8, n_blocks=6)
    assert sum(k.startswith("res") for k in G.layers._modules) == 6
    assert any(isinstance(m, nn.InstanceNorm2d) for m in G.modules())
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    assert G(x).shape == x.shape
    D = gan.PatchDiscriminator(3, ndf=8)
    assert D(torch.rand(1, 3, 256, 256)).shape == (1, 1, 30, 30)  # junyanz: 30x30 patches at 256 px


def test_patchgan_receptive_field_is_70():
    torch.manual_seed(0)
    D = gan.PatchDiscriminator(1, ndf=4, norm="none")
    for m in D.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.constant_(m.weight, 0.1)
            nn.init.zeros_(m.bias)
        if isinstance(m, nn.LeakyReLU):
            m.negative_slope = 1.0  # linear network: the gradient's support is the receptive field
    x = torch.zeros(1, 1, 160, 160, requires_grad=True)
    out = D(x)
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    rows = (x.grad[0, 0].abs() > 0).any(1).nonzero()
    cols = (x.grad[0, 0].abs() > 0).any(0).nonzero()
    assert rows.max() - rows.min() + 1 == 70 and cols.max() - cols.min() + 1 == 70


# ------------------------------------------------------------------------------------------------
# training moves the losses the expected way
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits():
    return nm.data.digits(16)


def test_d_accuracy_rises_against_an_untrained_generator(digits):
    torch.manual_seed(0)
    m = gan.DCGAN(size=16, channels=1, ngf=8, ndf=8)
    m.n_critic = 10**9  # G never steps
    g0 = {k: v.clone() for k, v in m.G.named_parameters()}
    run = gan.train(m, digits[0], 40, batch_size=32, progress=False, sample_every=1000)
    acc, ld = run.history["D_acc"], run.history["loss_D"]
    assert np.mean(acc[:3]) < 0.65 and np.mean(acc[-5:]) > 0.8
    assert np.mean(ld[-5:]) < 0.7 * np.mean(ld[:3])
    assert all(torch.equal(v, dict(m.G.named_parameters())[k]) for k, v in g0.items())


def test_generator_loss_falls_against_a_frozen_discriminator(digits):
    torch.manual_seed(0)
    m = gan.DCGAN(size=16, channels=1, ngf=8, ndf=8, gan_mode="lsgan")
    for g in m.opts["D"].param_groups:
        g["lr"] = 0.0
    run = gan.train(m, digits[0], 30, batch_size=32, progress=False, sample_every=1000)
    lg = run.history["loss_G"]
    assert np.mean(lg[-5:]) < 0.85 * np.mean(lg[:3])


def test_wgangp_critic_separates_real_from_fake(digits):
    torch.manual_seed(0)
    m = gan.DCGAN(size=16, channels=1, ngf=8, ndf=8, gan_mode="wgangp")
    m.n_critic = 10**9
    run = gan.train(m, digits[0], 25, batch_size=32, progress=False, sample_every=1000)
    gap = np.array(run.history["D_real"]) - np.array(run.history["D_fake"])
    assert gap[-5:].mean() > gap[:2].mean() + 0.5 and run.history["loss_D"][-1] < run.history["loss_D"][0]


def test_cyclegan_step_lowers_cycle_error():
    torch.manual_seed(0)
    A, B = nm.data.cartoon_domains(16, 32)  # the 70x70 PatchGAN needs >= 32 px
    m = gan.CycleGAN(ngf=8, ndf=8, n_blocks=2, pool_size=4, lr=1e-3)
    e0 = gan.cycle_error(m, A, B)
    run = gan.train(m, (A, B), 30, batch_size=4, progress=False, sample_every=30)
    e1 = gan.cycle_error(m, A, B)
    assert e1["A→B→A"] < 0.8 * e0["A→B→A"] and e1["B→A→B"] < 0.8 * e0["B→A→B"]
    assert run.history["lr"][-1] < run.history["lr"][0]  # linear decay over the second half
    assert run.last_samples.shape == (24, 3, 32, 32)


def _tiny_cyclegan(**kw):
    torch.manual_seed(0)
    return gan.CycleGAN(ngf=4, ndf=4, n_blocks=1, pool_size=3, **kw)


def _by_hand(G, x, images=True):
    """G's output computed independently of translate()/generate(): eval mode, inputs [0,1] -> [-1,1]
    (images only; noise goes in as it is), output [-1,1] -> [0,1]."""
    was = G.training
    G.eval()
    with torch.no_grad():
        y = ((G(x * 2 - 1 if images else x) + 1) / 2).clamp(0, 1)
    G.train(was)
    return y


def test_cyclegan_samples_stay_on_the_cpu_and_translate_follows_the_weights():
    A, B = nm.data.cartoon_domains(6, 32)
    # on a GPU, model.to("cuda") used to drag sample_A/B along and samples() then mixed devices
    moved = _tiny_cyclegan(sample_images=(A, B)).to("meta")
    assert moved.sample_A.device.type == "cpu" and moved.sample_B.device.type == "cpu"
    m = _tiny_cyclegan(sample_images=(A, B)).to("cpu")
    s = m.samples()
    assert s.shape == (24, 3, 32, 32) and s.device.type == "cpu"
    G_AB, G_BA = m.nets["G_AB"], m.nets["G_BA"]
    ab = _by_hand(G_AB, A[:4])
    torch.testing.assert_close(s[:4], A[:4])
    torch.testing.assert_close(s[4:8], ab)
    torch.testing.assert_close(s[8:12], _by_hand(G_BA, ab))
    torch.testing.assert_close(s[16:20], _by_hand(G_BA, B[:4]))
    # what CycleViewer shows: one image in, one float CPU image in [0,1] of the same shape out
    t = m.translate(A[2:3].double(), "AB")
    assert t.shape == (1, 3, 32, 32) and t.dtype == torch.float32 and t.device.type == "cpu"
    assert 0 <= t.min() and t.max() <= 1
    # the input goes to wherever the generator's weights are (here: weights on meta, input on CPU)
    seen = []

    class Seen(Exception):
        pass

    def hook(_, args):
        seen.append(args[0].device.type)
        raise Seen

    G_BA.to("meta").register_forward_pre_hook(hook)
    with pytest.raises(Seen):
        m.translate(B[:1], "BA")
    assert seen == ["meta"]


def _buffers(net):
    return {k: v.clone() for k, v in net.named_buffers()}


@pytest.mark.parametrize("training", [True, False])
def test_sampling_runs_in_eval_mode_and_restores_the_mode(training):
    A, B = nm.data.cartoon_domains(6, 32)
    m = _tiny_cyclegan(norm="batch", sample_images=(A, B))
    m.train_mode(training)
    before = {k: _buffers(m.nets[k]) for k in ("G_AB", "G_BA")}
    # a fresh batch-norm net in eval mode uses running mean 0 / var 1: compute that by hand first
    expected = _by_hand(m.nets["G_AB"], A)
    assert all(m.nets[k].training == training for k in m.nets)
    out = m.translate(A, "AB")
    m.samples()
    gan.cycle_error(m, A, B)
    torch.testing.assert_close(out, expected)
    for k in ("G_AB", "G_BA"):
        assert m.nets[k].training == training
        after = _buffers(m.nets[k])
        assert any("running_mean" in n for n in after)
        for n, v in before[k].items():
            assert torch.equal(v, after[n]), (k, n)

    d = gan.DCGAN(size=16, channels=1, ngf=8, ndf=8)
    d.train_mode(training)
    before = _buffers(d.G)
    z = torch.randn(5, 100)
    expected = _by_hand(d.G, z, images=False)
    torch.testing.assert_close(d.generate(z), expected)
    assert d.G.training == training
    assert all(torch.equal(v, _buffers(d.G)[n]) for n, v in before.items())


def test_settings_lowered_by_a_callback_survive_resume(tmp_path):
    data = nm.data.cartoon_domains(8, 32)
    ck = tmp_path / "c.pt"

    def lower(run):
        run.model.clip_grad, run.model.lambda_cycle, run.model.lambda_id = 0.25, 3.0, 0.1

    m = _tiny_cyclegan(clip_grad=1.0)
    gan.train(m, data, 2, batch_size=2, progress=False, checkpoint=ck, callback=lower, callback_every=1)
    m2 = _tiny_cyclegan(clip_grad=1.0)
    run = gan.train(m2, data, 2, batch_size=2, progress=False, checkpoint=ck)
    assert run.step == 2
    assert (m2.clip_grad, m2.lambda_cycle, m2.lambda_id) == (0.25, 3.0, 0.1)

    d = gan.DCGAN(size=16, channels=1, ngf=8, ndf=8, clip_grad=1.0)
    d.clip_grad = 0.5
    d2 = gan.DCGAN(size=16, channels=1, ngf=8, ndf=8, clip_grad=1.0)
    d2.load_state_dict(d.state_dict())
    assert d2.clip_grad == 0.5


def test_cyclegan_wgangp_uses_critic_betas_and_n_critic():
    assert all(o.param_groups[0]["betas"] == (0.5, 0.999) for o in _tiny_cyclegan().opts.values())
    assert _tiny_cyclegan().n_critic == 1
    m = _tiny_cyclegan(gan_mode="wgangp")
    assert m.n_critic == 5
    assert all(o.param_groups[0]["betas"] == (0.0, 0.9) for o in m.opts.values())
    assert _tiny_cyclegan(gan_mode="wgangp", betas=(0.5, 0.99)).opts["G"].param_groups[0]["betas"] == (0.5, 0.99)

    m = _tiny_cyclegan(gan_mode="wgangp", n_critic=3)
    A, B = nm.data.cartoon_domains(8, 32)
    g_moved, d_moved = [], []
    for step in range(1, 7):
        g0, d0 = _params_of(m, "G_AB"), _params_of(m, "D_B")
        out = m.train_step(m.draw((A, B), 2), step, 100)
        g_moved.append(not torch.equal(g0, _params_of(m, "G_AB")))
        d_moved.append(not torch.equal(d0, _params_of(m, "D_B")))
        # every step reports every loss (history columns stay aligned); G's are NaN before it steps
        assert set(out) >= {"loss_G", "loss_cycle", "loss_idt", "loss_D_A", "loss_D_B"}
        assert math.isnan(out["loss_G"]) == (step < 3)
    assert g_moved == [False, False, True, False, False, True]  # 3 critic steps per generator step
    assert all(d_moved)
    run = gan.train(_tiny_cyclegan(gan_mode="wgangp", n_critic=3), (A, B), 4, batch_size=2,
                    progress=False, sample_every=10)
    assert len({len(v) for v in run.history.values()}) == 1, {k: len(v) for k, v in run.history.items()}


def _params_of(m, name):
    return torch.cat([p.detach().flatten().clone() for p in m.nets[name].parameters()])


# ------------------------------------------------------------------------------------------------
# checkpoints: round trip, kill and resume
# ------------------------------------------------------------------------------------------------


def _params(m):
    return {f"{n}.{k}": v.clone() for n, net in m.nets.items() for k, v in net.state_dict().items()}


class Kill(Exception):
    pass


def _killer(at):
    def cb(run):
        if run.step == at:
            raise Kill
    return cb


@pytest.mark.parametrize("make,data_kind", [
    (lambda: gan.DCGAN(size=16, channels=1, ngf=8, ndf=8), "x"),
    (lambda: gan.DCGAN(size=16, channels=1, ngf=8, ndf=8, gan_mode="wgangp", n_critic=2), "x"),
    (lambda: gan.ConditionalGAN(10, size=16, channels=1, ngf=8, ndf=8), "xy"),
    (lambda: gan.CycleGAN(ngf=4, ndf=4, n_blocks=1, pool_size=3), "ab"),
    # n_critic 4: the checkpoint (step 5) falls between G steps, so the last G losses must be saved too
    (lambda: gan.CycleGAN(ngf=4, ndf=4, n_blocks=1, pool_size=3, gan_mode="wgangp", n_critic=4), "ab"),
], ids=["dcgan", "wgangp", "cgan", "cyclegan", "cyclegan-wgangp"])
def test_kill_and_resume_is_bit_for_bit(tmp_path, digits, make, data_kind):
    x, y = digits
    data = {"x": x, "xy": (x, y), "ab": nm.data.cartoon_domains(12, 32)}[data_kind]
    N = 9
    kw = dict(batch_size=6, progress=False, sample_every=4, seed=11)
    torch.manual_seed(123)
    ref = make()
    ref_run = gan.train(ref, data, N, **kw)

    torch.manual_seed(123)
    m1 = make()
    ck = tmp_path / "run.pt"
    with pytest.raises(Kill):  # "killed" at step 7; the last checkpoint is at step 5
        gan.train(m1, data, N, checkpoint=ck, checkpoint_every=5, callback=_killer(7), callback_every=1, **kw)
    assert nm.checkpoint.load_checkpoint(ck)["step"] == 5
    torch.manual_seed(999)  # a fresh process: other weights, other random state
    m2 = make()
    torch.randn(17)
    run2 = gan.train(m2, data, N, checkpoint=ck, **kw)
    assert run2.step == N
    a, b = _params(ref), _params(m2)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    for k, v in ref_run.history.items():  # NaN (G's losses before its first step) equals NaN here
        np.testing.assert_array_equal(v, run2.history[k], err_msg=k)
    for (o1, o2) in zip(ref.opts.values(), m2.opts.values()):
        s1, s2 = o1.state_dict()["state"], o2.state_dict()["state"]
        assert all(torch.equal(s1[i]["exp_avg"], s2[i]["exp_avg"]) for i in s1)
    assert torch.equal(ref_run.last_samples, run2.last_samples)


def test_checkpoint_is_weights_only_and_stop_saves(tmp_path, digits):
    import threading

    m = gan.DCGAN(size=16, channels=1, ngf=8, ndf=8)
    ck = tmp_path / "c.pt"
    stop = threading.Event()

    def cb(run):
        if run.step == 3:
            stop.set()

    run = gan.train(m, digits[0], 50, batch_size=4, progress=False, checkpoint=ck, checkpoint_every=100,
                    callback=cb, callback_every=1, stop=stop)
    assert run.stopped and run.step == 3
    st = torch.load(ck, weights_only=True)  # no pickled code inside
    assert st["step"] == 3 and set(st["model"]["nets"]) == {"G", "D"} and len(st["history"]["loss_D"]) == 3
    assert not list(tmp_path.glob(".*.tmp"))  # atomic write left no temp file


# ------------------------------------------------------------------------------------------------
# metrics
# ------------------------------------------------------------------------------------------------


def test_frechet_distance_against_scipy():
    import scipy.linalg

    rng = np.random.default_rng(0)
    a = rng.normal(size=(300, 6))
    b = rng.normal(size=(250, 6)) @ rng.normal(size=(6, 6)) * 0.7 + 0.3
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    want = ((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean)
    assert gan.frechet_distance(torch.from_numpy(a), torch.from_numpy(b)) == pytest.approx(want, rel=1e-6)
    assert gan.frechet_distance(torch.from_numpy(a), torch.from_numpy(a)) == pytest.approx(0, abs=1e-8)


def test_class_accuracy_counts_matches():
    # a "judge" that reads the class off the image's mean brightness band
    from collections import OrderedDict

    from nomysticism.models import LayeredNet

    net = LayeredNet(OrderedDict(pool=nn.AdaptiveAvgPool2d(1), flatten=nn.Flatten(1), fc=nn.Linear(1, 3)), mean=(0.0,), std=(1.0,), classes=["a", "b", "c"], name="t")
    with torch.no_grad():
        net.layers.fc.weight.copy_(torch.tensor([[0.0], [10.0], [30.0]]))
        net.layers.fc.bias.copy_(torch.tensor([0.0, -5.0, -22.0]))
    x = torch.tensor([0.1, 0.6, 0.95, 0.1]).view(4, 1, 1, 1).expand(4, 1, 4, 4)  # classes 0, 1, 2, 0
    acc, per = gan.class_accuracy(net, x, torch.tensor([0, 1, 1, 2]), per_class=True)
    assert acc == 0.5 and per == [1.0, 0.5, 0.0]


def test_digits_judge_reads_held_out_digits():
    judge = gan.digits_judge()
    x, y = nm.data.digits(32)
    assert gan.class_accuracy(judge, x[1400:], y[1400:]) > 0.93  # trained on 0-1399 only
    real_vs_real = gan.fid(judge, x[1400:1600], x[:200])
    noise = gan.fid(judge, x[1400:1600], torch.rand(200, 1, 32, 32))
    assert noise > 5 * real_vs_real


def test_domain_classifier_and_acceptance():
    A, B = nm.data.cartoon_domains(48, 32, seed=3)
    clf = gan.train_domain_classifier(A[:32], B[:32], steps=60)
    assert gan.acceptance(clf, B[32:], "B") > 0.8 and gan.acceptance(clf, A[32:], "A") > 0.8


def test_interpolate_ends_and_slerp_norm():
    torch.manual_seed(0)
    m = gan.DCGAN(size=16, channels=1, ngf=8, ndf=8)
    z0, z1 = torch.randn(100), torch.randn(100)
    ims = gan.interpolate(m, z0, z1, [0.0, 0.5, 1.0])
    assert torch.allclose(ims[0], m.generate(z0[None])[0], atol=1e-6)
    assert torch.allclose(ims[2], m.generate(z1[None])[0], atol=1e-6)
    # slerp between orthogonal vectors of norm 10 stays on the sphere; lerp's midpoint has norm 10/sqrt(2)
    e0, e1 = torch.zeros(100), torch.zeros(100)
    e0[0], e1[1] = 10.0, 10.0
    zs = gan.slerp(e0, e1, [0.25, 0.5])
    assert torch.allclose(zs.norm(dim=1), torch.tensor([10.0, 10.0]))
    assert torch.allclose(zs[0, :2], torch.tensor([10 * math.cos(math.pi / 8), 10 * math.sin(math.pi / 8)]))
    assert gan.slerp(e0, e1, 0.5, spherical=False).norm().item() == pytest.approx(10 / math.sqrt(2))
    cm = gan.ConditionalGAN(3, size=16, channels=1, ngf=8, ndf=8)
    assert gan.interpolate(cm, e0, e1, [0.2, 0.7], y=2).shape == (2, 1, 16, 16)


# ------------------------------------------------------------------------------------------------
# data: GAN domains
# ------------------------------------------------------------------------------------------------


def test_cartoon_domains():
    A, B = nm.data.cartoon_domains(6, 32, seed=0)
    assert A.shape == B.shape == (6, 3, 32, 32) and 0 <= B.min() and B.max() <= 1
    levels = torch.unique(B)
    assert {round(v, 4) for v in levels.tolist()} <= {0.0, 0.3333, 0.6667, 1.0}  # posterised to 4 levels
    assert (B == 0).all(1).float().mean() > 0.01  # some black edge pixels
    x = torch.tensor([0.0, 0.2, 0.5, 0.9]).view(1, 1, 2, 2)
    assert nm.data.posterize(x, 3).flatten().tolist() == [0.0, 0.0, 0.5, 1.0]


def test_trains_from_an_image_folder(tmp_path):
    for i in range(3):
        nm.save_image(torch.rand(1, 3, 20, 24), tmp_path / f"im{i}.png")
    ds = nm.data.ImageFolder(tmp_path, size=16)
    m = gan.DCGAN(size=16, ngf=8, ndf=8)
    run = gan.train(m, ds, 2, batch_size=4, progress=False)
    assert run.step == 2 and len(run.history["loss_D"]) == 2


def test_shipped_demo_generators_measured_quality():
    """The shipped cGAN draws the digit it is asked for (as read by the separately trained judge), and
    the shipped DCGAN is far closer to real digits than an untrained generator (Fréchet distance)."""
    judge = gan.digits_judge()
    x, _ = nm.data.digits(32)
    g = torch.Generator().manual_seed(7)
    labels = torch.arange(300) % 10
    z = torch.randn(300, 100, generator=g)
    cgan = gan.pretrained("cgan_digits")
    assert gan.class_accuracy(judge, cgan.generate(z, y=labels), labels) > 0.85
    untrained = gan.ConditionalGAN(10, size=32, channels=1, ngf=32, ndf=32)
    assert gan.class_accuracy(judge, untrained.generate(z, y=labels), labels) < 0.35
    dcgan = gan.pretrained("dcgan_digits")
    d_demo = gan.fid(judge, x[1400:], dcgan.generate(z))
    d_untrained = gan.fid(judge, x[1400:], gan.DCGAN(32, 1, ngf=32).generate(z))
    d_real = gan.fid(judge, x[1400:], x[:300])
    assert d_real < d_demo < 0.1 * d_untrained
