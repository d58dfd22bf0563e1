"""GAN widgets: they build, carry the CSS classes the browser tests use, and change their output."""

import nomysticism as nm
import torch
from nomysticism import gan
from nomysticism.widgets import gan as wg


def _classes(w):
    return set(w._dom_classes)


def test_training_monitor_runs_stops_and_goes_on():
    torch.manual_seed(0)
    x, _ = nm.data.digits(16)
    m = gan.DCGAN(size=16, channels=1, ngf=8, ndf=8)
    mon = wg.TrainingMonitor(m, x, steps=6, update_every=2, batch_size=8)
    assert "nm-widget" in _classes(mon.box) and "nm-primary" in _classes(mon.runner.run_button)
    assert "nm-output" in _classes(mon.samples)
    before = mon.samples.value
    mon.runner.start()
    assert mon.runner.join(60) and mon.runner.error is None
    assert mon.run.step == 6 and mon.samples.value != before and mon.curves.value
    mon.steps.value = 4  # Start again: 4 more steps, from step 6
    mon.runner.start()
    assert mon.runner.join(60)
    assert mon.run.step == 10 and mon.run.history["step"] == list(range(1, 11))


def test_latent_interpolator_slider_changes_the_image():
    m = gan.DCGAN(size=16, channels=1, ngf=8, ndf=8)
    w = wg.LatentInterpolator(m, n=5)
    assert "nm-primary" in _classes(w.slider) and "nm-output" in _classes(w.image)
    a = w.image.value
    w.slider.value = 1.0
    assert w.image.value != a
    assert torch.allclose(w.current, m.generate(w.z1[None]).expand(-1, 3, -1, -1), atol=1e-6)
    c = gan.ConditionalGAN(3, size=16, channels=1, ngf=8, ndf=8)
    wc = wg.LatentInterpolator(c, classes=["x", "y", "z"])
    b = wc.image.value
    wc.cls.value = 2
    assert wc.image.value != b


def test_condition_toggle_and_judge():
    m = gan.pretrained("cgan_digits") if (gan.JUDGE_DIR / "cgan_digits.safetensors").exists() else \
        gan.ConditionalGAN(10, size=32, channels=1, ngf=8, ndf=8)
    w = wg.ConditionToggle(m, n=8, judge=gan.digits_judge())
    a = w.image.value
    w.toggle.value = 3
    assert w.image.value != a and "agrees on" in w.verdict.value and 0 <= w.accuracy <= 1
    assert "nm-primary" in _classes(w.toggle)


def test_cycle_viewer():
    A, B = nm.data.cartoon_domains(4, 32)
    m = gan.CycleGAN(ngf=4, ndf=4, n_blocks=1)
    clf = gan.train_domain_classifier(A, B, steps=5)
    w = wg.CycleViewer(m, A, B, classifier=clf)
    assert "nm-output" in _classes(w.views[1])
    a = w.views[0].value
    w.direction.value = "B→A"
    assert w.views[0].value != a and "P(A)" in w.caption.value
