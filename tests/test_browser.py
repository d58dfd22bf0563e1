"""Every notebook's main widget, used as a person uses it: JupyterLab + headless Chromium (Playwright).

For each notebook in notebooks/ (found automatically), in SMOKE mode:
open it in JupyterLab, Run > Run All Cells, find its widget (CSS class ``nm-widget``), touch the
main control (``nm-primary``: slider -> focus the handle and press ArrowRight; dropdown -> pick another
option; button -> click; image -> click it; toggle/radio/checkbox/text handled too) and assert that
the image or plot it drives (``nm-output``) looks different afterwards. Screenshots go to artifacts/browser/.
Plus one Voila check: a notebook served as a standalone app shows its widget and reacts to it, and
one check of ``make lab`` itself: started with the Makefile's LAB_ARGS, it opens the tour and
shows no news pop-up.

Set-up, as measured in shared/notes/jupyter-stack.md: Debian's Chromium (``/usr/bin/chromium``;
``make test`` installs it with apt, through scripts/system-packages.sh; never ``playwright install``),
one JupyterLab server on 127.0.0.1 with a token (``--allow-root`` as root) for the whole session,
one browser context, a fresh tab per notebook, and each notebook's kernel shut down after its test.
The served notebooks are papermill-parameterised copies (``SMOKE = True`` injected after the
``parameters`` cell) in a temporary folder, with a first cell that changes to ``notebooks/`` so they
run where they normally do.

Without Chromium the tests FAIL with instructions; set NM_ALLOW_NO_BROWSER=1 to skip them instead
(for local runs only: CI must not set it).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))

RUN_ALL_TIMEOUT_S = 240     # a SMOKE run takes < 60 s; this is only a hang guard
# notebook 90 compiles Theano's C code, on a cold cache in a fresh checkout: a longer hang guard
SLOW_START = {"90_appendix_2015_theano": 3}
CHANGE_TIMEOUT_S = 60       # after the interaction, how long the output may take to change
SERVER_START_TIMEOUT_S = 90

pytestmark = [pytest.mark.browser]

# -------------------------------------------------------------------------------------------------
# served notebooks, server, browser
# -------------------------------------------------------------------------------------------------


def smoke_copy(nb_path: Path, dest_dir: Path) -> Path:
    """``nb_path`` with SMOKE=True injected (papermill) and a first cell that cds to its folder."""
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    nb = parameterize_notebook(load_notebook_node(str(nb_path)), {"SMOKE": True})
    cd = nbformat.v4.new_code_cell(
        f"# injected by tests/test_browser.py: run where the notebook lives\n"
        f"import os as _os\n_os.chdir({str(nb_path.parent)!r})")
    cd.metadata["tags"] = ["injected-chdir"]
    nb.cells.insert(0, cd)
    for c in nb.cells:  # nbformat >= 5.1 wants cell ids
        c.setdefault("id", secrets.token_hex(4))
    out = dest_dir / nb_path.name
    nbformat.write(nb, out)
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _kernel_env() -> dict:
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)  # conftest sets Agg; in a browser the inline backend must show figures
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            pytest.fail(f"server exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"server did not answer {url} within {timeout} s:\n{log.read_text()[-4000:]}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture(scope="session")
def served(tmp_path_factory) -> Path:
    """A folder with a SMOKE copy of every notebook."""
    d = tmp_path_factory.mktemp("served")
    for nb in NOTEBOOKS:
        smoke_copy(nb, d)
    return d


@pytest.fixture(scope="session")
def lab(served, tmp_path_factory):
    """One JupyterLab server for the session: ``(base_url, token)``."""
    state = tmp_path_factory.mktemp("labstate")
    settings = state / "settings"
    # no news/update pop-ups; render every cell (no virtual scrolling), so outputs are in the DOM
    for plugin, value in {
        "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
        "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    }.items():
        f = settings / f"{plugin}.jupyterlab-settings"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps(value))
    token, port = secrets.token_hex(16), _free_port()
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--ServerApp.root_dir={served}",
           "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
           f"--IdentityProvider.token={token}", "--LabApp.expose_app_in_browser=True",
           f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={state / 'ws'}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log = state / "lab.log"
    env = {**_kernel_env(), "JUPYTER_RUNTIME_DIR": str(state / "runtime")}
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=served)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_http(f"{base}/api/status?token={token}", proc, log, SERVER_START_TIMEOUT_S)
        yield base, token
    finally:
        _stop(proc)


@pytest.fixture(scope="session")
def lab_page(lab, browser_context):
    """One JupyterLab tab for all notebooks (reloaded only after a failure): ``{"page": Page}``."""
    holder = {"page": None, "fresh": True}
    yield holder
    if holder["page"] is not None:
        holder["page"].close()


def open_in_lab(holder: dict, browser_context, base: str, token: str, name: str):
    """Open ``name`` as a person does: double-click it in JupyterLab's file browser."""
    if holder["fresh"] or holder["page"] is None:
        if holder["page"] is not None:
            holder["page"].close()
        page = browser_context.new_page()
        page.on("dialog", lambda d: d.accept())
        page.goto(f"{base}/lab?token={token}&reset")
        page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell")
        holder.update(page=page, fresh=False)
    page = holder["page"]
    page.locator(".jp-DirListing-item", has_text=name).first.dblclick()
    page.wait_for_function(
        "n => { const w = window.jupyterapp.shell.currentWidget;"
        "       return w && w.context && w.context.path === n && w.content && w.content.model; }",
        arg=name)
    return page


def close_in_lab(holder: dict, base: str, token: str) -> None:
    """Close the notebook tab without saving, and shut its kernel down."""
    page = holder["page"]
    try:
        page.evaluate("() => { const w = window.jupyterapp.shell.currentWidget;"
                      "  if (w && w.context) { w.context.model.dirty = false; w.close(); } }")
    except Exception:
        holder["fresh"] = True
    _shutdown_kernels(base, token)


def _api(base: str, token: str, path: str, method: str = "GET"):
    req = urllib.request.Request(f"{base}{path}", method=method,
                                 headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=30) as r:
        body = r.read()
    return json.loads(body) if body else None


def _shutdown_kernels(base: str, token: str) -> None:
    for s in _api(base, token, "/api/sessions") or []:
        try:
            _api(base, token, f"/api/sessions/{s['id']}", "DELETE")
        except OSError:
            pass


# -------------------------------------------------------------------------------------------------
# what a person does
# -------------------------------------------------------------------------------------------------

_NOTEBOOK_STATE_JS = """() => {
  const app = window.jupyterapp;
  const w = app && app.shell.currentWidget;
  if (!w || !w.content || !w.content.model || !w.sessionContext) return null;
  const cells = w.content.model.cells;
  let pending = 0, running = 0, total = 0;
  const errors = [];
  for (let i = 0; i < cells.length; i++) {
    const c = cells.get(i);
    if (c.type !== 'code') continue;
    total++;
    for (let j = 0; j < c.outputs.length; j++) {
      const o = c.outputs.get(j).toJSON();
      if (o.output_type === 'error') errors.push(`cell ${i}: ${o.ename}: ${o.evalue}`);
    }
    if (c.executionState === 'running') running++;
    if (c.sharedModel.getSource().trim() && c.executionCount == null) pending++;
  }
  const k = w.sessionContext.session && w.sessionContext.session.kernel;
  const kernel = !k ? 'none' : (k.connectionStatus !== 'connected' ? k.connectionStatus : k.status);
  return {pending, running, total, errors, kernel};
}"""


# counts DOM changes inside nm-output (an <img> gets a new src whenever the widget sends new bytes)
_OBSERVE_JS = """(el) => {
  if (window.__nmObserver) window.__nmObserver.disconnect();
  window.__nmMutations = 0;
  window.__nmObserver = new MutationObserver(ms => { window.__nmMutations += ms.length; });
  window.__nmObserver.observe(el, {attributes: true, childList: true, subtree: true, characterData: true});
}"""


def run_all_cells(page, timeout: float = RUN_ALL_TIMEOUT_S) -> float:
    """Run > Run All Cells in the open notebook; wait until every cell ran. Returns seconds."""
    panel = page.locator(".jp-NotebookPanel:visible")
    panel.locator(".jp-Cell").first.wait_for()
    # the kernel must be up and connected first: a Run All sent earlier is silently dropped
    t0, state = time.time(), None
    while time.time() - t0 < 120:
        state = page.evaluate(_NOTEBOOK_STATE_JS)
        if state and state["kernel"] == "idle":
            break
        page.wait_for_timeout(300)
    else:
        pytest.fail(f"the kernel did not start within 120 s: {state}")
    # Run All; on a loaded machine it is occasionally dropped right after the kernel starts, so
    # check that some cell was queued and try again (at most 3 times) if none was
    pending0 = state["pending"]
    for _attempt in range(3):
        panel.locator(".jp-Cell").first.click()
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        t1 = time.time()
        while time.time() - t1 < 15:
            state = page.evaluate(_NOTEBOOK_STATE_JS)
            if state["running"] or state["pending"] < pending0 or state["errors"]:
                break
            page.wait_for_timeout(300)
        else:
            continue
        break
    else:
        pytest.fail(f"Run > Run All Cells started no cell (3 tries): {state}")
    t0 = time.time()
    while time.time() - t0 < timeout:
        page.wait_for_timeout(500)
        state = page.evaluate(_NOTEBOOK_STATE_JS)
        if state is None:
            continue
        if state["errors"]:
            pytest.fail("a cell raised an error in JupyterLab:\n" + "\n".join(state["errors"]))
        if state["pending"] == 0 and state["running"] == 0 and state["kernel"] == "idle":
            return time.time() - t0
    pytest.fail(f"Run All Cells did not finish within {timeout} s: {state}")


def _settled_screenshot(locator, page, timeout: float = 10.0) -> bytes:
    """A screenshot of ``locator`` once two in a row agree (images may still be loading)."""
    locator.scroll_into_view_if_needed()
    prev, t0 = locator.screenshot(), time.time()
    while time.time() - t0 < timeout:
        page.wait_for_timeout(600)
        cur = locator.screenshot()
        if cur == prev:
            return cur
        prev = cur
    return prev


def interact(primary) -> str:
    """Touch the main control as a person would; returns what it was."""
    tag = primary.evaluate("e => e.tagName.toLowerCase()")
    classes = (primary.get_attribute("class") or "").split()
    if tag == "img":  # a picture to click (notebook 13's hint editor): click its middle
        primary.click()
        return "image-click"
    handle = primary.locator(".noUi-handle")
    if handle.count():
        handle.first.focus()
        handle.first.press("ArrowRight")
        return "slider"
    select = primary if tag == "select" else primary.locator("select")
    if tag == "select" or select.count():
        select = select.first
        current = select.input_value()
        values = select.locator("option").evaluate_all("os => os.map(o => o.value)")
        others = [v for v in values if v != current]
        assert others, "the nm-primary dropdown has a single option"
        select.select_option(value=others[0])
        return "dropdown"
    if tag == "button" or "widget-button" in classes or "jupyter-button" in classes:
        primary.click()
        return "button"
    if primary.locator("button:not(.mod-active)").count():  # ToggleButtons
        primary.locator("button:not(.mod-active)").first.click()
        return "toggle-buttons"
    if primary.locator("input[type=radio]:not(:checked)").count():
        primary.locator("input[type=radio]:not(:checked)").first.check()
        return "radio"
    if primary.locator("input[type=checkbox]").count():
        primary.locator("input[type=checkbox]").first.click()
        return "checkbox"
    box = primary.locator("input[type=number], input[type=text], textarea")
    if box.count():
        box.first.fill(str(box.first.input_value()) + "1")
        box.first.press("Enter")
        return "text"
    pytest.fail(f"do not know how to use the nm-primary element <{tag} class={' '.join(classes)!r}>")


def use_widget(page, scope, shots: Path, stem: str) -> dict:
    """Find the widget in ``scope``, touch ``nm-primary``, wait for ``nm-output`` to change."""
    widget = scope.locator(".nm-widget").first
    try:
        widget.wait_for(state="visible", timeout=30_000)
    except Exception:
        page.screenshot(path=str(shots / f"{stem}_no_widget.png"))
        pytest.fail(f"{stem}: no visible element with class nm-widget (see {stem}_no_widget.png)")
    primary, output = widget.locator(".nm-primary").first, widget.locator(".nm-output").first
    assert primary.count(), f"{stem}: the nm-widget has no nm-primary control"
    assert output.count(), f"{stem}: the nm-widget has no nm-output image or plot"
    widget.scroll_into_view_if_needed()
    before = _settled_screenshot(output, page)
    (shots / f"{stem}_1_before.png").write_bytes(before)
    output.evaluate(_OBSERVE_JS)
    kind = interact(primary)
    t0, after, change = time.time(), before, None
    seen, quiet_since = 0, time.time()
    while time.time() - t0 < CHANGE_TIMEOUT_S:
        page.wait_for_timeout(400)
        after = output.screenshot()
        if after != before:
            change = "final"
            break
        n = page.evaluate("() => window.__nmMutations")
        if n != seen:
            seen, quiet_since = n, time.time()
        elif seen and time.time() - quiet_since > 5:
            # the output was redrawn (e.g. a job's intermediate steps) but ended on the same picture
            change = "transient"
            break
    took = time.time() - t0
    (shots / f"{stem}_2_after.png").write_bytes(after)
    widget.screenshot(path=str(shots / f"{stem}_widget.png"))
    assert change, (f"{stem}: nm-output did not change within {CHANGE_TIMEOUT_S} s after "
                    f"using the nm-primary {kind} (screenshots in {shots})")
    errors = widget.locator(".nm-error")
    assert not errors.count(), f"{stem}: the widget reports {errors.first.inner_text()!r} (screenshots in {shots})"
    assert change == "final", (
        f"{stem}: after the {kind}, nm-output was redrawn {seen} times but ended on the same picture "
        f"it started from: a reader sees no lasting change (screenshots in {shots})")
    return {"control": kind, "change_s": round(took, 1), "change": change, "redraws": seen}


def _record(shots: Path, stem: str, row: dict) -> None:
    f = shots / "timings.json"
    data = json.loads(f.read_text()) if f.exists() else {}
    data[stem] = row
    f.write_text(json.dumps(data, indent=1, sort_keys=True))


# -------------------------------------------------------------------------------------------------
# tests
# -------------------------------------------------------------------------------------------------


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks in notebooks/"


@pytest.mark.slow
@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_widget_in_jupyterlab(nb, served, lab, lab_page, browser_context, shots):
    base, token = lab
    t0 = time.time()
    page = None
    try:
        page = open_in_lab(lab_page, browser_context, base, token, nb.name)
        run_s = run_all_cells(page, RUN_ALL_TIMEOUT_S * SLOW_START.get(nb.stem, 1))
        row = use_widget(page, page.locator(".jp-NotebookPanel:visible"), shots, nb.stem)
        page.screenshot(path=str(shots / f"{nb.stem}_lab.png"))
    except BaseException:
        lab_page["fresh"] = True  # start the next notebook from a freshly loaded JupyterLab
        if page is not None:
            page.screenshot(path=str(shots / f"{nb.stem}_lab_failed.png"))
        raise
    finally:
        close_in_lab(lab_page, base, token)
    row.update(run_all_s=round(run_s, 1), total_s=round(time.time() - t0, 1))
    _record(shots, nb.stem, row)
    print(f"{nb.stem}: {row}")


@pytest.mark.slow
def test_widget_in_voila(served, browser_context, shots, tmp_path):
    """A notebook opened in Voila, as a standalone app, shows its widget, and the widget works."""
    nb = next((p for p in NOTEBOOKS if p.stem == "00_tour"), NOTEBOOKS[0] if NOTEBOOKS else None)
    assert nb is not None, "no notebooks"
    port, log = _free_port(), tmp_path / "voila.log"
    cmd = [sys.executable, "-m", "voila", str(served / nb.name), "--no-browser", f"--port={port}",
           "--Voila.ip=127.0.0.1", "--Voila.port_retries=0"]
    t0 = time.time()
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=_kernel_env(), cwd=served)
    with ServerSession(browser_context, proc, log, shots / f"voila_{nb.stem}_failed.png") as session:
        _wait_port(port, proc, log)
        page = session.new_page()
        page.goto(f"http://127.0.0.1:{port}/", timeout=RUN_ALL_TIMEOUT_S * 1000)
        page.locator(".nm-widget").first.wait_for(state="visible", timeout=RUN_ALL_TIMEOUT_S * 1000)
        code = page.locator(".jp-InputArea-editor:visible, .cm-editor:visible, .CodeMirror:visible")
        assert not code.count(), "Voila shows code; it should show only outputs"
        row = use_widget(page, page, shots, f"voila_{nb.stem}")
        page.screenshot(path=str(shots / f"voila_{nb.stem}_page.png"), full_page=True)
    row["total_s"] = round(time.time() - t0, 1)
    _record(shots, f"voila_{nb.stem}", row)
    print(f"voila {nb.stem}: {row}")



class ServerSession:
    """A server process and the browser page that uses it. On an error: a screenshot of the page
    (``failed_png``) and the tail of the server's log; always: the page closed, the server stopped.

    >>> with ServerSession(browser_context, proc, log, shots / "x_failed.png") as session:
    ...     page = session.new_page()
    """

    def __init__(self, browser_context, proc: subprocess.Popen, log: Path, failed_png: Path):
        self.context, self.proc, self.log, self.failed_png = browser_context, proc, log, failed_png
        self.page = None

    def new_page(self):
        self.page = self.context.new_page()
        return self.page

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        try:
            if kind is not None:
                if self.page is not None:
                    self.page.screenshot(path=str(self.failed_png), full_page=True)
                print(self.log.read_text()[-3000:])
        finally:
            if self.page is not None:
                self.page.close()
            _stop(self.proc)
        return False


def _wait_port(port: int, proc: subprocess.Popen, log: Path, timeout: float = SERVER_START_TIMEOUT_S):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            pytest.fail(f"voila exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    pytest.fail(f"voila did not listen on {port} within {timeout} s:\n{log.read_text()[-4000:]}")


def make_lab_args() -> list[str]:
    """The JupyterLab arguments ``make lab`` uses (the Makefile's LAB_ARGS)."""
    try:
        out = subprocess.run(["make", "-s", "--no-print-directory", "-C", str(ROOT), "print-lab-args"],
                             capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        pytest.fail("`make` is not installed; this test reads `make print-lab-args`")
    assert out.returncode == 0, f"make print-lab-args failed:\n{out.stderr}"
    return shlex.split(out.stdout)


_TOASTS_JS = """() => Array.from(document.querySelectorAll('.Toastify__toast'))
                      .map(t => t.innerText.trim()).filter(Boolean)"""


@pytest.mark.slow
def test_make_lab_opens_the_tour(browser_context, shots, tmp_path):
    """``make lab``'s server: the root URL opens notebooks/00_tour.ipynb, course/ is served too,
    and no "Jupyter news" (or update) notification pops up."""
    token, port, log = secrets.token_hex(16), _free_port(), tmp_path / "lab.log"
    # fresh user settings and workspace, so one's own earlier answer to the news question hides nothing
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", *make_lab_args(),
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
           "--LabApp.expose_app_in_browser=True", f"--LabApp.user_settings_dir={tmp_path / 'settings'}",
           f"--LabApp.workspaces_dir={tmp_path / 'ws'}"]
    env = {**_kernel_env(), "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
    base = f"http://127.0.0.1:{port}"
    with ServerSession(browser_context, proc, log, shots / "make_lab_tour_failed.png") as session:
        _wait_http(f"{base}/api/status?token={token}", proc, log, SERVER_START_TIMEOUT_S)
        top = {c["name"] for c in _api(base, token, "/api/contents/")["content"]}
        assert {"notebooks", "course"} <= top, f"make lab should serve the project root; it serves {sorted(top)}"
        # overrides.json becomes the schema's defaults
        notif = _api(base, token, "/lab/api/settings/@jupyterlab/apputils-extension:notification")
        defaults = {k: v.get("default") for k, v in notif["schema"]["properties"].items()}
        assert defaults.get("fetchNews") == "false" and defaults.get("checkForUpdates") is False, (
            "JupyterLab would ask about Jupyter news: the Makefile copies scripts/jupyter_overrides.json "
            f"to {sys.prefix}/share/jupyter/lab/settings/overrides.json (make install-test does); "
            f"the server's defaults are {defaults}")

        page = session.new_page()
        page.goto(f"{base}/?token={token}")
        page.wait_for_function(
            "() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
            "        return w && w.context && w.context.path === 'notebooks/00_tour.ipynb'; }")
        page.locator(".jp-NotebookPanel:visible .jp-Cell").first.wait_for()
        tab = page.locator(".lm-TabBar-tab.lm-mod-current", has_text="00_tour.ipynb")
        assert tab.count(), "the tab in front is not 00_tour.ipynb"
        page.wait_for_timeout(4000)  # the news question would pop up right after start-up
        toasts = page.evaluate(_TOASTS_JS)
        page.screenshot(path=str(shots / "make_lab_tour.png"))
        assert not toasts, f"notifications are shown on start-up: {toasts}"
        page.evaluate("() => { const w = window.jupyterapp.shell.currentWidget;"
                      "  if (w && w.context) { w.context.model.dirty = false; w.close(); } }")
        _shutdown_kernels(base, token)


_HINT_ROW = re.compile(r"(\d+)\. \((\d+), (\d+)\): #[0-9a-f]{6}")


@pytest.mark.slow
def test_hint_editor_clicks_in_jupyterlab(served, lab, lab_page, browser_context, shots):
    """Notebook 13's hint editor as a person uses it: two clicks on the grey photo put two hints
    exactly where they were made (ipyevents' dataX/dataY, in image pixels), and the coloured
    output changes."""
    nb = next((p for p in NOTEBOOKS if p.stem.startswith("13_")), None)
    assert nb is not None, "no notebook 13 in notebooks/"
    base, token = lab
    stem, page = f"{nb.stem}_hints", None
    try:
        page = open_in_lab(lab_page, browser_context, base, token, nb.name)
        run_all_cells(page)
        widget = page.locator(".jp-NotebookPanel:visible .nm-widget").first
        widget.wait_for(state="visible", timeout=30_000)
        photo, output = widget.locator("img.nm-primary").first, widget.locator(".nm-output").first
        widget.scroll_into_view_if_needed()
        before = _settled_screenshot(output, page)
        (shots / f"{stem}_1_before.png").write_bytes(before)
        expected = []
        for fx, fy in ((0.3, 0.7), (0.7, 0.25)):
            nw, nh, cw, ch = photo.evaluate("e => [e.naturalWidth, e.naturalHeight, e.clientWidth, e.clientHeight]")
            x, y = fx * cw, fy * ch
            photo.click(position={"x": x, "y": y})
            expected.append((y * nh / ch, x * nw / cw))
        t0, rows = time.time(), []
        while time.time() - t0 < CHANGE_TIMEOUT_S:
            page.wait_for_timeout(400)
            rows = _HINT_ROW.findall(widget.inner_text())
            if len(rows) >= 2:
                break
        assert len(rows) == 2, f"two clicks should give two hints; the list shows {rows}"
        got = sorted((int(i), int(y), int(x)) for i, y, x in rows)
        for (_, y, x), (ey, ex) in zip(got, expected):
            assert abs(y - ey) <= 2 and abs(x - ex) <= 2, f"hint at ({y}, {x}), clicked at ({ey:.0f}, {ex:.0f})"
        after, t0 = before, time.time()
        while time.time() - t0 < CHANGE_TIMEOUT_S and after == before:
            page.wait_for_timeout(400)
            after = output.screenshot()
        (shots / f"{stem}_2_after.png").write_bytes(after)
        widget.screenshot(path=str(shots / f"{stem}_widget.png"))
        assert after != before, f"the coloured output did not change after two clicks (see {shots})"
        change_s = round(time.time() - t0, 1)
    except BaseException:
        lab_page["fresh"] = True
        if page is not None:
            page.screenshot(path=str(shots / f"{stem}_failed.png"))
        raise
    finally:
        close_in_lab(lab_page, base, token)
    _record(shots, stem, {"control": "two clicks", "change_s": change_s, "hints": got})
