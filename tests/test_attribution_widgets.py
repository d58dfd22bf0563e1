"""The attribution widgets: CSS hooks for the browser tests, Run/Stop, and pictures that come from
the toolkit (compared with a direct call)."""

import threading

import nomysticism as nm
import pytest
import torch
from nomysticism import attribution as A
from nomysticism.widgets import attribution as WA
from nomysticism.widgets.base import png_bytes


def classes_of(w):
    return set(w._dom_classes)


def all_children(w):
    out = [w]
    for c in getattr(w, "children", ()):
        out.extend(all_children(c))
    return out


def check_marks(widget):
    kids = all_children(widget.box)
    assert "nm-widget" in classes_of(widget.box)
    assert sum("nm-primary" in classes_of(k) for k in kids) == 1
    assert sum("nm-output" in classes_of(k) for k in kids) == 1


@pytest.fixture(scope="module")
def shapes_data():
    return nm.data.shapes(24, seed=31)


def test_unit_explorer(shapesnet, shapes_data):
    w = WA.UnitExplorer(shapesnet, shapes_data.images, k=4)
    check_marks(w)
    assert w.runner.join(60) and w.runner.error is None
    ref = A.top_patches(shapesnet, shapes_data.images, w.layer.value, 0, k=4)
    assert torch.equal(w.result.image_index, ref.image_index)
    first = w.view.value
    w.layer.value = "relu4_2"
    assert w.channel.max == 63
    w.channel.value = 9
    w.runner.join(60)
    w.rule.value = "guided"
    w.runner.join(60)
    assert w.result.image_index.tolist() == A.top_patches(
        shapesnet, shapes_data.images, "relu4_2", 9, k=4, project=False).image_index.tolist()
    assert w.view.value != first


def test_saliency_explorer_overlay_follows_the_slider(shapesnet, shapes_data):
    ims = shapes_data.images[:3]
    w = WA.SaliencyExplorer(shapesnet, ims)
    check_marks(w)
    top = int(shapesnet(ims[:1]).argmax())
    assert w.cls.value == top
    heat = A.heatmap(A.saliency(shapesnet, ims[:1], top))
    w.opacity.value = 0.3
    assert w.view.value == png_bytes(A.overlay(ims[:1], heat, alpha=0.3))
    before = w.view.value
    w.opacity.value = 0.9
    assert w.view.value != before
    w.image.value = "image 2"
    assert w.cls.value == int(shapesnet(ims[2:3]).argmax())


def test_class_model_viewer_runs_live_and_stops(shapesnet):
    w = WA.ClassModelViewer(shapesnet, size=32, steps=20)
    check_marks(w)
    shown = []
    w.view.observe(lambda ch: shown.append(1), names="value")
    w.runner.start()
    assert w.runner.join(60) and w.runner.error is None
    assert len(shown) >= 4  # updated while growing (every 5 steps), then the final image
    assert w.result.shape == (1, 3, 32, 32)
    w.steps.value = 1000
    w.runner.start()
    w.runner.stop()
    assert w.runner.join(60)
    assert "score" in w.score.value


def test_method_comparison(shapesnet, shapes_data):
    w = WA.MethodComparison(shapesnet, shapes_data.images[:2], masks=shapes_data.masks[:2])
    check_marks(w)
    first = w.view.value
    assert first[:4] == b"\x89PNG"
    w.image.value = "image 1"
    assert w.view.value != first


def test_deepdream_widget_stop(shapesnet, shapes_data):
    w = WA.DeepDreamWidget(shapesnet, shapes_data.images[:1], size=48)
    check_marks(w)
    w.octaves.value, w.iterations.value = 2, 3
    w.runner.start()
    assert w.runner.join(60) and w.runner.error is None
    ref = A.deepdream(shapesnet, nm.images.resize(shapes_data.images[:1], 48), w.layer.value,
                      octaves=2, steps=3, step_size=w.step.value, seed=1, progress=False)
    torch.testing.assert_close(w.result, ref)
    # Stop: a long dream returns early with an image
    w.iterations.value = 50
    w.octaves.value = 6
    w.runner.start()
    w.runner.stop()
    assert w.runner.join(60) and w.result.shape == (1, 3, 48, 48)


def test_stop_event_ends_class_model_early(shapesnet):
    stop = threading.Event()
    steps = []

    def cb(i, img):
        steps.append(i)
        if i >= 10:
            stop.set()

    A.class_model(shapesnet, 1, size=32, steps=500, progress=False, callback=cb, callback_every=5,
                  stop=stop)
    assert steps == [5, 10]
