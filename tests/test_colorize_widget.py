"""The hint editor: clicks (as ipyevents delivers them) colour the clicked object, undo, files, errors.

Colours are checked with scikit-image's Lab conversion (``skimage.color.rgb2lab``), independent of
the toolkit's kornia one.
"""

import json
import time

import numpy as np
import pytest
import torch
from nomysticism import colorize as C
from nomysticism.widgets import HintEditor
from nomysticism.widgets.colorize import SWATCHES, draw_hints, parse_color
from skimage.color import rgb2lab

RED, BLUE = "#d7301f", "#2846b4"


def disc_image(h=96, w=96, r=20):
    """A bright disc (grey 0.75) on a dark background (0.25): one object, one edge."""
    yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    inside = ((yy - h // 2) ** 2 + (xx - w // 2) ** 2) <= r * r
    return torch.where(inside, 0.75, 0.25).float().expand(1, 3, h, w).clone()


def ab(image: torch.Tensor) -> np.ndarray:
    """(H, W, 2) CIE a, b of a (1,3,H,W) image, by scikit-image."""
    return rgb2lab(image[0].permute(1, 2, 0).double().numpy())[..., 1:]


def hex_ab(hx: str) -> np.ndarray:
    return rgb2lab(np.array([[parse_color(hx)]]))[0, 0, 1:]


def angle(u, v) -> float:
    """The hue difference of two ab vectors, in degrees."""
    c = np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v))
    return float(np.degrees(np.arccos(np.clip(c, -1, 1))))


def deliver_click(w: HintEditor, x, y) -> None:
    """A click as ipyevents delivers it: a comm message to the Event widget, its handlers get the dict."""
    w.events._handle_mouse_msg(None, {"type": "click", "event": "click", "dataX": x, "dataY": y,
                                      "altKey": False, "ctrlKey": False, "shiftKey": False}, [])


@pytest.fixture
def disc():
    w = HintEditor(disc_image(), size=96)
    yield w
    w.wait(30)


def test_classes_and_ipyevents(disc):
    assert "nm-widget" in disc.box._dom_classes
    assert "nm-primary" in disc.view._dom_classes and "nm-output" in disc.output._dom_classes
    assert disc.events is not None and disc.events.source is disc.view
    assert disc.events.watched_events == ["click"]
    assert list(disc.method.options[:2]) == ["levin", "nearest"]
    assert ("network" in disc.method.options) == ("network" in C.METHODS)


def test_a_click_colours_the_clicked_object_and_stops_at_its_edge(disc):
    grey = disc.output.value
    disc.color.value = RED
    deliver_click(disc, 48, 48)                        # the disc's centre
    assert disc.hints == [C.Hint(48, 48, parse_color(RED))]
    disc.add_hint(5, 5, BLUE)                          # the background, far corner
    assert disc.wait(30) and disc.runner.error is None, disc.runner.error
    assert disc.output.value != grey
    out = ab(disc.result)
    red, blue = hex_ab(RED), hex_ab(BLUE)
    # at and around the click: the picked hue, with most of its chroma
    near = out[44:53, 44:53].reshape(-1, 2)
    assert max(angle(v, red) for v in near) < 10
    assert np.linalg.norm(near, axis=1).min() > 0.6 * np.linalg.norm(red)
    # 4 px outside the edge, 24 px from the red hint and 80 px from the blue one: blue, not red
    across = out[48, 72]
    assert angle(across, blue) < 30 and angle(across, red) > 90
    # the nearest-hint baseline bleeds red across the edge there
    disc.method.value = "nearest"
    assert disc.wait(30)
    assert angle(ab(disc.result)[48, 72], red) < 10


def test_event_coordinates_are_x_and_y_in_image_pixels():
    w = HintEditor(disc_image(60, 90), size=96)
    deliver_click(w, 70, 10)                           # dataX = column, dataY = row
    deliver_click(w, 90.4, 60)                         # on the right/bottom border: clamped
    w.events._handle_mouse_msg(None, {"type": "mousemove", "dataX": 1, "dataY": 1}, [])  # ignored
    assert [(h.y, h.x) for h in w.hints] == [(10, 70), (59, 89)]
    assert w.wait(30)
    assert torch.equal(w.result, C.from_hints(w.image, w.hints))


def test_undo_and_clear(disc):
    disc.add_hint(48, 48, RED)
    assert disc.wait(30)
    one, one_result = disc.output.value, disc.result.clone()
    disc.add_hint(5, 5, BLUE)
    assert disc.wait(30) and disc.output.value != one
    disc.undo()
    assert disc.wait(30)
    assert disc.output.value == one and torch.equal(disc.result, one_result)
    assert len(disc.hints) == 1
    disc.clear()
    assert disc.wait(30) and disc.hints == []
    assert torch.equal(disc.result, disc.grey)
    disc.undo()                                        # undo the clear
    assert disc.wait(30) and len(disc.hints) == 1 and disc.output.value == one
    disc.undo()
    disc.undo()                                        # nothing left: a message, no exception
    assert "nothing to undo" in disc.message.value


def test_clicks_during_a_solve_queue_only_the_newest_state():
    w = HintEditor("astronaut", size=256)
    rng = np.random.default_rng(0)
    t = time.perf_counter()
    w.add_hint(128, 128, SWATCHES["orange"])
    assert w.runner.running, "the solve must run in the Runner thread, not in the kernel"
    for y, x in rng.integers(0, 256, (9, 2)):
        w.add_hint(int(y), int(x), SWATCHES["blue"])
    clicks_s = time.perf_counter() - t
    assert w.wait(60) and w.runner.error is None, w.runner.error
    assert len(w.seconds) <= 3, f"{len(w.seconds)} solves for 10 quick clicks: they piled up"
    assert torch.equal(w.result, C.from_hints(w.image, w.hints))
    print(f"10 clicks in {clicks_s:.2f} s; solves at 256 px: {[round(s, 2) for s in w.seconds]}")


def test_save_and_load_round_trip(disc, tmp_path):
    disc.add_hint(48, 48, RED)
    disc.add_hint(5, 5, (0.1, 0.2, 0.9))
    assert disc.wait(30)
    path = tmp_path / "sub" / "hints.json"
    disc.path.value = str(path)
    disc.save_button.click()
    assert "saved 2 hints" in disc.message.value
    doc = json.loads(path.read_text())
    assert doc["version"] == 1 and [(e["y"], e["x"]) for e in doc["hints"]] == [(48, 48), (5, 5)]
    other = HintEditor(disc_image(), size=96)
    other.path.value = str(path)
    other.load_button.click()
    assert other.wait(30)
    assert other.hints == disc.hints and torch.equal(other.result, disc.result)
    assert "loaded 2 hints" in other.message.value
    other.undo()                                       # a load can be undone
    assert other.wait(30) and other.hints == []


@pytest.mark.parametrize("text, words", [
    ('{"version": 1, "hints": [', "not valid JSON"),
    ('{"version": 2, "hints": []}', "unsupported hints file version"),
    ('{"version": 1, "hints": [{"y": 500, "x": 1, "rgb": [1, 0, 0]}]}', "outside the image"),
    ('{"version": 1, "hints": [{"y": 1, "x": 1, "rgb": [255, 0, 0]}]}', "outside [0, 1]"),
    ('[1, 2]', "not a hints file"),
])
def test_bad_hint_files_show_a_message(disc, tmp_path, text, words):
    disc.add_hint(48, 48, RED)
    assert disc.wait(30)
    bad = tmp_path / "bad.json"
    bad.write_text(text)
    disc.path.value = str(bad)
    disc.load_button.click()                           # must not raise
    assert words in disc.message.value and "bad.json" in disc.message.value
    assert "color:#b00" in disc.message.value
    assert len(disc.hints) == 1                        # the hints are kept


def test_missing_file_and_bad_events_show_a_message(disc, tmp_path):
    assert disc.load(tmp_path / "nope.json") is False
    assert "could not load" in disc.message.value and "nope.json" in disc.message.value
    disc.events._handle_mouse_msg(None, {"type": "click"}, [])  # an event handler never raises
    assert "dataX" in disc.message.value and disc.hints == []
    with pytest.raises(C.HintError, match="outside the image"):
        disc.add_hint(500, 10, RED)                    # from code, a bad hint raises
    with pytest.raises(C.HintError, match="not a colour"):
        disc.add_hint(10, 10, "not-a-colour")
    assert disc.hints == []


def test_draw_hints_marks_the_hint_pixels():
    img = disc_image()
    out = draw_hints(img, [(48, 48, (1.0, 0.0, 0.0))])
    assert torch.equal(out[0, :, 48, 48], torch.tensor([1.0, 0.0, 0.0]))
    assert torch.equal(out[0, :, 48, 52], torch.ones(3)) and torch.equal(out[0, :, 48, 53], torch.zeros(3))
    assert torch.equal(out[..., :30, :], img[..., :30, :])  # nothing drawn elsewhere
