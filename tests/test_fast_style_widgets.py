"""The fast-style widgets: CSS classes, and the primary control changes the output."""

import nomysticism as nm
import torch
from nomysticism import fast_style as fs
from nomysticism.widgets import fast_style as wfs


def _classes(w):
    return set(w._dom_classes)


def test_fast_stylizer_changes_with_the_photo():
    w = wfs.FastStylizer(image="chelsea", size=128)
    assert "nm-widget" in _classes(w.box) and "nm-primary" in _classes(w.image_picker)
    assert "nm-output" in _classes(w.output)
    before = w.output.value
    w.image_picker.value = "coffee"
    assert w.output.value != before and "ms" in w.info.value


def test_toggle_and_frame_compare():
    a, b = torch.zeros(1, 3, 16, 16), torch.ones(1, 3, 16, 16)
    t = wfs.ToggleCompare({"a": a, "b": b})
    first = t.view.value
    t.toggle.value = "b"
    assert t.view.value != first and "nm-primary" in _classes(t.toggle)
    clip = fs.synthetic_clip(4, (32, 48))
    f = wfs.FrameCompare(clip, clip.flip(1), clip)
    v0 = f.view.value
    f.slider.value = 3
    assert f.view.value != v0 and "flicker" in f.text.value


def test_training_monitor_runs_and_stops():
    torch.manual_seed(0)
    net = nm.models.load("shapesnet", pretrained=False)
    loss = fs.PerceptualLoss(net, style_image=nm.sample_image("dots", 32), style_weight=10.0)
    m = wfs.TrainingMonitor(fs.TransformerNet(width=4), None, nm.data.random_crops(4, 32), every=2, steps=4,
                            batch_size=2, image_size=32, loss=loss, probe=nm.sample_image("coffee", 32))
    assert "nm-primary" in _classes(m.runner.run_button)
    m.runner.start()
    assert m.runner.join(60)
    assert m.runner.error is None, m.runner.error
    assert m.history["step"] == [2, 4] and m.plot.value
