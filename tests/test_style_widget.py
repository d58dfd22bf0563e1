"""The layer-weight widget: sliders set in Python reach the loss, the image changes, Stop stops."""

import datetime
import time

import pytest
from nomysticism import style as S
from nomysticism.widgets.style import StyleTransferWidget


@pytest.fixture
def widget():
    w = StyleTransferWidget(content="chelsea", style="mosaic", size=40, steps=6, update_every=2)
    yield w
    w.stop()
    w.runner.join(30)


def test_widget_runs_and_the_image_changes(widget):
    assert "nm-widget" in widget.box._dom_classes
    assert "nm-output" in widget.output._dom_classes
    before = widget.output.value
    widget.sliders["stem"].value = 100.0
    widget.sliders["block1"].value = 10.0 ** widget.OFF_EXP  # leftmost: off
    widget.tv_weight.value = 10.0
    widget.run()
    assert widget.runner.join(60), "the run did not finish"
    assert widget.runner.error is None, widget.runner.error
    assert widget.output.value != before
    r = widget.result
    assert r is not None and r.image.shape[-1] == 40
    # the slider values reached the loss: settings, and the per-layer terms
    assert r.settings["style_weights"]["stem"] == pytest.approx(100.0)
    assert "block1" not in r.history[0]["style_layers"]
    assert r.settings["tv_weight"] == pytest.approx(10.0)
    assert len(widget.strip.children) == 1
    # an independent run at a tenth of the stem weight: the stem term scales with the slider
    kw = widget.settings()
    kw["style_weights"] = dict(kw["style_weights"], stem=10.0)
    kw["steps"] = 1
    ref = S.transfer(widget._image("content"), widget._image("style"), progress=False, **kw)
    assert r.history[0]["style_layers"]["stem"] == pytest.approx(10 * ref.history[0]["style_layers"]["stem"], rel=1e-4)


def test_stop_stops_a_long_run(widget):
    widget.steps.value = 1000
    widget.size.value = 48
    widget.run()
    t = time.time()
    while widget.runner.progress.value == 0 and time.time() - t < 30:  # wait for the first update
        time.sleep(0.05)
    assert widget.runner.running
    widget.stop()
    assert widget.runner.join(30)
    r = widget.result
    assert r is not None and r.stopped
    assert 1 <= len(r.history) < 1000
    assert widget.runner.status.value == "stopped"
    assert not widget.runner.run_button.disabled


def test_upload_becomes_the_style(widget):
    from nomysticism.images import sample_image
    from nomysticism.widgets.base import png_bytes

    up = sample_image("checks", 64)
    widget.style_upload.value = ({"name": "checks.png", "type": "image/png", "size": 1,
                                  "content": memoryview(png_bytes(up)), "last_modified": datetime.datetime(2026, 1, 1)},)
    assert widget.style_picker.value == "(uploaded)"
    assert (widget._image("style") - up).abs().max() < 1 / 255 + 1e-6
    widget.style_upload.value = ({"name": "bad.png", "type": "image/png", "size": 3,
                                  "content": memoryview(b"not an image"), "last_modified": datetime.datetime(2026, 1, 1)},)
    assert "not an image" in widget.message.value
