"""The anonymiser widget: levels set the check boxes, every change reaches the output, the face-only
setting leaves the rest of the photo alone, and a bad upload gives a message, never an exception.

References: the input photo's own pixels (what must not change), Pillow's decoding of the uploaded
bytes, and :data:`nomysticism.anonymize.LEVELS` (what each level means).
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from _uploads import random_png as _png
from _uploads import upload_entry as _file
from nomysticism import anonymize as A
from nomysticism.widgets.anonymize import CUSTOM, FACE_METHODS, GRID, YOURS, Anonymizer
from PIL import Image

SIZE = 256


def _expected(kwargs: dict) -> tuple[bool, str | None, bool, bool]:
    faces = kwargs.get("faces", "none")
    return (faces != "none", None if faces == "none" else faces,
            kwargs.get("background", "none") != "none", kwargs.get("clothes", "none") != "none")


@pytest.fixture(scope="module")
def widget():
    w = Anonymizer("astronaut", size=SIZE)
    assert w.wait(120) and w.runner.error is None, w.runner.error
    yield w
    w.wait(120)


def test_classes_and_the_first_result(widget):
    assert "nm-widget" in widget.box._dom_classes
    assert "nm-primary" in widget.level._dom_classes and "nm-output" in widget.output._dom_classes
    assert list(widget.level.options) == [*A.LEVELS, CUSTOM]
    assert tuple(widget.method.options) == FACE_METHODS
    assert len(widget.faces) >= 1, "the astronaut has a face"
    assert widget.result is not None and widget.result.shape == widget.image.shape
    assert widget.output.value and widget.view.value


def test_each_level_sets_the_check_boxes_and_changes_the_output(widget):
    seen = {}
    for name, kwargs in A.LEVELS.items():
        widget.level.value = name
        assert widget.wait(120) and widget.runner.error is None, widget.runner.error
        faces, method, background, clothes = _expected(kwargs)
        assert widget.faces_box.value is faces and widget.background_box.value is background
        assert widget.clothes_box.value is clothes
        if method is not None:
            assert widget.method.value == method
        # what the output shows is the library's answer for these settings and detections
        ref = A.anonymize(widget.image, detections=widget.faces, **widget.settings)
        torch.testing.assert_close(widget.result, ref, atol=1e-6, rtol=0)
        seen[name] = widget.output.value
    distinct = {tuple(sorted((k, v) for k, v in kw.items() if k != "seed")) for kw in A.LEVELS.values()}
    assert len(set(seen.values())) == len(distinct), "two different levels showed the same picture"


def test_a_check_box_changes_the_output_and_the_level_follows(widget):
    widget.level.value = list(A.LEVELS)[0]
    assert widget.wait(120)
    before, before_bg = widget.output.value, widget.background_box.value
    widget.background_box.value = not before_bg
    assert widget.wait(120) and widget.runner.error is None, widget.runner.error
    assert widget.output.value != before
    assert widget.settings["background"] == ("none" if before_bg else "cartoon")
    matching = [n for n, kw in A.LEVELS.items() if _expected(kw)[0] == widget.faces_box.value
                and _expected(kw)[2:] == (widget.background_box.value, widget.clothes_box.value)
                and (not widget.faces_box.value or kw.get("faces") == widget.method.value)]
    assert widget.level.value == (matching[0] if matching else CUSTOM)
    widget.background_box.value = before_bg                 # back: the cached picture, unchanged
    assert widget.wait(120) and widget.output.value == before


def _face_only_level() -> str:
    names = [n for n, kw in A.LEVELS.items() if _expected(kw)[0] and not any(_expected(kw)[2:])]
    assert names, f"no faces-only level in LEVELS: {list(A.LEVELS)}"
    return names[0]


@pytest.mark.parametrize("method", FACE_METHODS)
def test_faces_only_leaves_the_pixels_away_from_the_faces_unchanged(widget, method):
    widget.level.value = _face_only_level()
    assert not widget.background_box.value and not widget.clothes_box.value and widget.faces_box.value
    widget.method.value = method
    assert widget.wait(120) and widget.runner.error is None, widget.runner.error
    img, out = widget.image, widget.result
    H, W = img.shape[-2:]
    near = torch.zeros(H, W, dtype=torch.bool)
    for x0, y0, x1, y1 in np.asarray(widget.faces.boxes, dtype=float):
        mx, my = 0.5 * (x1 - x0), 0.5 * (y1 - y0)             # generous: blending may reach past the box
        near[max(0, int(y0 - my)):min(H, int(np.ceil(y1 + my))),
             max(0, int(x0 - mx)):min(W, int(np.ceil(x1 + mx)))] = True
    assert (~near).float().mean() > 0.5, "the test needs pixels away from the faces"
    diff = (out - img).abs().amax(1)[0]
    assert diff[~near].max() <= 1 / 255, f"{method}: pixels away from the faces changed"
    inside = torch.zeros_like(near)
    for x0, y0, x1, y1 in np.asarray(widget.faces.boxes, dtype=int):
        inside[y0:y1, x0:x1] = True
    assert diff[inside].mean() > 0.02, f"{method}: the faces did not change"


def test_the_face_grid_and_an_upload(widget):
    widget.photo.value = GRID
    assert widget.wait(120) and widget.runner.error is None, widget.runner.error
    assert len(widget.faces) >= 8, f"{len(widget.faces)} faces found in the 16-face grid"
    data = _png(48, 64, seed=3)
    assert widget.upload.receive((_file(data, "ok.png"),)) is True
    assert widget.wait(120) and widget.photo.value == YOURS
    ref = torch.from_numpy(np.array(Image.open(io.BytesIO(data)).convert("RGB"))).permute(2, 0, 1) / 255.0
    torch.testing.assert_close(widget.image, ref[None].float(), atol=1e-6, rtol=0)
    assert widget.result.shape == (1, 3, 48, 64)
    assert "no face" in widget.info.value                     # noise has no face: a note, no error


@pytest.mark.parametrize("data, name, size, words", [
    (b"plain text, not a picture", "notes.txt", None, "is not an image"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "broken.png", None, "could not be read"),
    (b"", "empty.png", None, "empty"),
    (b"\xff\xd8\xff" + b"\x00" * 10, "huge.jpg", 50 * 2**20, "the limit is"),
])
def test_a_bad_upload_gives_a_message_not_a_crash(widget, data, name, size, words):
    widget.photo.value = "astronaut"
    assert widget.wait(120)
    image, result, photo = widget.image, widget.result, widget.photo.value
    assert widget.upload.receive((_file(data, name, size),)) is False    # must not raise
    msg = widget.upload.message.value
    assert words in msg and name in msg and "color:#b00" in msg
    assert widget.wait(120) and widget.photo.value == photo
    assert widget.image is image and torch.equal(widget.result, result)  # nothing changed


def test_a_photo_the_toolkit_refuses_gives_a_message():
    w = Anonymizer("astronaut", size=64)
    assert w.wait(120)
    image = w.image
    # a 1x1 PNG decodes fine, but is no photo to anonymise: whatever the toolkit says, as a message
    buf = io.BytesIO()
    Image.new("RGB", (1, 1), (120, 30, 200)).save(buf, format="PNG")
    ok = w.upload.receive((_file(buf.getvalue(), "dot.png"),))
    assert w.wait(120)
    if ok:   # handled: a result of the same size
        assert w.result.shape == (1, 3, 1, 1) and w.runner.error is None
    else:    # refused: a red message, and the old photo stays
        assert "color:#b00" in w.upload.message.value
        assert w.image is image


def test_unknown_level_or_image_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown level"):
        Anonymizer("astronaut", size=64, level="everything please")
    with pytest.raises(ValueError, match="astronaut"):
        Anonymizer("not-a-photo", size=64)
