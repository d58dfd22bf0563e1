"""The apps (``apps/*.ipynb``) as a reader uses them: served by Voilà, opened in headless Chromium.

Each browser test starts Voilà on a free port with the command ``make app`` runs (read from
``make -n app``, one notebook instead of the folder), with ``NM_APP_SMOKE=1`` so the apps use tiny
sizes, opens the app, checks that no code is shown, touches every widget's main control
(``nm-primary``) and checks that its output (``nm-output``) looks different afterwards. In the apps listed in ``UPLOADS`` it also uploads through
the browser's file chooser: a text file (refused, with a message, nothing changes), then a PNG. Screenshots go to ``artifacts/browser/apps_*``.

The upload checks (:mod:`nomysticism.widgets.upload`) are also tested directly, against Pillow's own
decoding of the same bytes. Browser set-up, fixtures and the "touch and compare" helper come from
``tests/test_browser.py`` (Debian's Chromium; never ``playwright install``).
"""

from __future__ import annotations

import io
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from _uploads import random_png as _png
from _uploads import upload_entry as _file
from PIL import Image
from test_browser import (
    CHANGE_TIMEOUT_S,
    ServerSession,
    _free_port,
    _kernel_env,
    _record,
    _settled_screenshot,
    _wait_port,
    use_widget,
)

ROOT = Path(__file__).resolve().parents[1]
APPS = ROOT / "apps"
# app -> how many widgets (nm-widget) it shows; every one is used
EXPECTED = {"style_transfer": 2, "deepdream": 1, "colorize": 1, "music_map": 1, "old_film": 1, "anonymize": 1}
# app -> the widget (index) whose picture its upload button changes; tested through the browser
UPLOADS = {"colorize": 0, "anonymize": 0}
PAGE_TIMEOUT_MS = 120_000


# -------------------------------------------------------------------------------------------------
# the upload checks, without a browser
# -------------------------------------------------------------------------------------------------


def test_read_upload_decodes_like_pillow():
    from nomysticism.widgets.upload import read_upload

    data = _png(37, 53, seed=1)
    img = read_upload(_file(data))
    ref = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.float64) / 255.0
    assert img.shape == (1, 3, 37, 53)
    np.testing.assert_allclose(img[0].permute(1, 2, 0).double().numpy(), ref, atol=1e-6)


@pytest.mark.parametrize("case", ["too_big", "declared_too_big", "text", "pdf", "truncated", "empty"])
def test_read_upload_refuses_with_a_clear_message(case):
    from nomysticism.widgets.upload import UploadError, read_upload

    png = _png(64, 64)
    files = {
        "too_big": (_file(png + b"\0" * 2000, "big.png"), 1000, r"big\.png is 0\.0 MB; the limit is 0\.0 MB"),
        "declared_too_big": (_file(png, "huge.jpg", size=9 * 2**20), None, r"huge\.jpg is 9\.0 MB; the limit is 8\.0 MB"),
        "text": (_file(b"hello, not a picture\n" * 10, "notes.txt"), None, r"notes\.txt is not an image"),
        "pdf": (_file(b"%PDF-1.7\n" + b"x" * 500, "paper.pdf"), None, r"paper\.pdf is not an image"),
        "truncated": (_file(png[: len(png) // 2], "cut.png"), None, r"cut\.png could not be read as an image"),
        "empty": (_file(b"", "nothing.png"), None, r"nothing\.png is empty"),
    }
    f, limit, msg = files[case]
    with pytest.raises(UploadError, match=msg):
        read_upload(f, **({"max_bytes": limit} if limit else {}))


def test_image_upload_never_raises_and_says_why():
    from nomysticism.widgets.upload import ImageUpload

    got = []
    up = ImageUpload(got.append)
    assert up.receive((_file(b"GIF89a-but-broken", "x.gif"),)) is False
    assert "x.gif could not be read" in up.message.value and "#b00" in up.message.value
    assert up.receive((_file(b"plain text", "a.txt"),)) is False and "a.txt is not an image" in up.message.value
    assert not got
    assert up.receive((_file(_png(20, 30), "ok.png"),)) is True
    assert len(got) == 1 and got[0].shape == (1, 3, 20, 30) and "ok.png: 30×20 px" in up.message.value

    def broken(img):
        raise RuntimeError("the widget failed")
    up2 = ImageUpload(broken)
    assert up2.receive((_file(_png(), "ok.png"),)) is False and "the widget failed" in up2.message.value


def test_upload_wiring_feeds_each_widget():
    import nomysticism as nm
    from nomysticism.widgets import upload

    data = _png(48, 72, seed=3)
    ref = torch.from_numpy(np.array(Image.open(io.BytesIO(data)).convert("RGB"))).permute(2, 0, 1) / 255.0

    editor = nm.widgets.HintEditor("astronaut", size=48, path="/tmp/nm_test_hints.json")
    upload.attach(editor)
    assert editor.upload.layout.display == "none"            # its own unchecked button is hidden
    before = editor.image.clone()
    editor.uploads[0].receive((_file(b"not an image", "a.txt"),))
    assert torch.equal(editor.image, before)                    # a refused file changes nothing
    editor.uploads[0].receive((_file(data, "ok.png"),))
    assert editor.image.shape[-2:] == (32, 48)                 # shrunk to the editor's size (48 px)
    torch.testing.assert_close(editor.image, nm.images.resize(ref[None], 48), atol=1e-5, rtol=0)

    gatys = nm.widgets.StyleTransferWidget(size=32, steps=5)
    upload.attach(gatys)
    gatys.uploads[1].receive((_file(data, "painting.png"),))
    assert gatys.style_picker.value == "(uploaded)"
    torch.testing.assert_close(gatys._image("style"), ref[None], atol=1e-6, rtol=0)

    fast = upload.UploadFastStylizer(image="chelsea", size=64)
    fast.upload.receive((_file(data, "ok.png"),))
    assert fast.image_picker.value == fast.YOURS and fast.result.shape[-2:] == (48, 72)


# -------------------------------------------------------------------------------------------------
# the apps in Voilà and Chromium
# -------------------------------------------------------------------------------------------------


def make_app_command(nb: Path, port: int) -> list[str]:
    """``make app``'s Voilà command (from ``make -n app``), for one notebook on ``port``."""
    out = subprocess.run(["make", "-s", "-n", "--no-print-directory", "-C", str(ROOT), "app", f"APP_PORT={port}"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, f"make -n app failed:\n{out.stderr}"
    line = next((ln for ln in out.stdout.splitlines() if "voila" in ln.split()[0]), None)
    assert line, f"`make app` runs no voila command:\n{out.stdout}"
    cmd = shlex.split(line)
    assert "apps" in cmd and "--Voila.ip=127.0.0.1" in cmd and f"{port}" in cmd, cmd
    cmd[0] = str(Path(sys.executable).with_name("voila"))  # the same venv
    cmd[cmd.index("apps")] = str(nb)
    return [*cmd, "--Voila.port_retries=0"]


def test_every_app_is_tested():
    assert sorted(p.stem for p in APPS.glob("*.ipynb")) == sorted(EXPECTED)


def _serve(nb: Path, tmp_path: Path):
    port, log = _free_port(), tmp_path / "voila.log"
    env = {**_kernel_env(), "NM_APP_SMOKE": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    with open(log, "w") as fh:
        proc = subprocess.Popen(make_app_command(nb, port), stdout=fh, stderr=subprocess.STDOUT, env=env,
                                cwd=ROOT)
    return proc, port, log


def _choose_file(page, button, name: str, mime: str, data: bytes) -> None:
    """Click an upload button as a reader does and answer the browser's file chooser."""
    with page.expect_file_chooser(timeout=CHANGE_TIMEOUT_S * 1000) as chooser:
        button.click()
    chooser.value.set_files(files=[{"name": name, "mimeType": mime, "buffer": data}])


def _upload_checks(page, widget, shots: Path, app: str) -> dict:
    """An app's checked upload (upload.ImageUpload): a text file is refused with a message and changes
    nothing; a PNG is accepted and changes the widget's picture."""
    button = page.locator(".nm-upload:visible").first
    assert page.locator(".nm-upload:visible").count() == 1, f"{app}: expected one upload button"
    picture = widget.locator("img.nm-primary, .nm-output img, img.nm-output").first
    before = _settled_screenshot(picture, page)
    _choose_file(page, button, "notes.txt", "text/plain", b"not a picture\n" * 20)
    msg = page.locator(".nm-upload-message")
    msg.filter(has_text="notes.txt is not an image").first.wait_for(timeout=CHANGE_TIMEOUT_S * 1000)
    assert picture.screenshot() == before, f"{app}: a refused upload changed the picture"
    _choose_file(page, button, "mine.png", "image/png", _png(60, 90, seed=5))
    msg.filter(has_text="mine.png: 90×60 px").first.wait_for(timeout=CHANGE_TIMEOUT_S * 1000)
    t0, after = time.time(), before
    while time.time() - t0 < CHANGE_TIMEOUT_S and after == before:
        page.wait_for_timeout(300)
        after = picture.screenshot()
    page.screenshot(path=str(shots / f"apps_{app}_uploaded.png"), full_page=True)
    assert after != before, f"{app}: an accepted upload did not change the picture"
    return {"upload": "text refused, png accepted"}


@pytest.mark.browser
@pytest.mark.parametrize("app", sorted(EXPECTED))
def test_app_in_voila(app, browser_context, shots, tmp_path):
    nb = APPS / f"{app}.ipynb"
    t0 = time.time()
    proc, port, log = _serve(nb, tmp_path)
    rows = {}
    with ServerSession(browser_context, proc, log, shots / f"apps_{app}_failed.png") as session:
        _wait_port(port, proc, log)
        page = session.new_page()
        page.goto(f"http://127.0.0.1:{port}/", timeout=PAGE_TIMEOUT_MS)
        widgets = page.locator(".nm-widget")
        for i in range(EXPECTED[app]):
            widgets.nth(i).wait_for(state="visible", timeout=PAGE_TIMEOUT_MS)
        assert widgets.count() == EXPECTED[app], f"{app}: {widgets.count()} widgets, expected {EXPECTED[app]}"
        assert not page.locator("text=Traceback").count(), f"{app}: the page shows a traceback"
        assert not page.locator(".jp-InputArea-editor:visible, .cm-editor:visible").count(), f"{app} shows code"
        page.screenshot(path=str(shots / f"apps_{app}_page.png"), full_page=True)
        for i in range(EXPECTED[app]):
            scope = widgets.nth(i).locator("xpath=..")  # the widget's own output: use_widget finds it there
            rows[f"widget{i}"] = use_widget(page, scope, shots, f"apps_{app}_{i}")
        if app in UPLOADS:
            rows.update(_upload_checks(page, widgets.nth(UPLOADS[app]), shots, app))
        page.screenshot(path=str(shots / f"apps_{app}_used.png"), full_page=True)
    rows["total_s"] = round(time.time() - t0, 1)
    _record(shots, f"apps_{app}", rows)
    print(f"app {app}: {rows}")


def test_make_app_serves_the_folder_on_localhost():
    cmd = make_app_command(APPS / "x.ipynb", 8866)
    assert cmd[1].endswith("x.ipynb") and "--no-browser" in cmd
    assert os.path.basename(cmd[0]) == "voila"
