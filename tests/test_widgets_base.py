"""Widget plumbing: the Runner keeps the kernel free, stops on request, reports errors; the tour widget."""

import threading
import time

import nomysticism as nm
from nomysticism.widgets.base import Runner


def test_runner_stop_and_result():
    steps = []

    def job(stop, progress):
        for i in range(10_000):
            if stop.is_set():
                return f"stopped at {i}"
            steps.append(i)
            progress(i / 10_000)
            time.sleep(0.001)
        return "finished"

    done = []
    r = Runner(job, on_done=done.append)
    r.start()
    assert r.running and r.run_button.disabled and not r.stop_button.disabled
    time.sleep(0.05)
    r.stop_button.click()
    assert r.join(5)
    assert r.result.startswith("stopped") and done == [r.result]
    assert r.status.value == "stopped" and not r.run_button.disabled
    assert 0 < len(steps) < 10_000


def test_runner_reports_errors_without_raising():
    def job(stop, progress):
        raise RuntimeError("boom")

    r = Runner(job)
    r.start()
    assert r.join(5)
    assert isinstance(r.error, RuntimeError) and "boom" in r.status.value


def test_runner_runs_in_another_thread():
    seen = []
    r = Runner(lambda stop, progress: seen.append(threading.current_thread()))
    r.start()
    r.join(5)
    assert seen and seen[0] is not threading.current_thread()


def test_tour_widget_updates_chart():
    w = nm.widgets.tour.TopKExplorer(image="chelsea", size=224)
    before = w.chart.value
    assert any(281 <= i <= 285 for i, _, _ in w.preds)
    w.image_picker.value = "coffee"
    assert w.chart.value != before and w.preds[0][0] == 967
    assert "nm-widget" in w.box._dom_classes and "nm-primary" in w.image_picker._dom_classes


def test_tour_widget_vgg_without_weights_shows_message(monkeypatch):
    def unavailable(name, progress=True):
        raise nm.models.WeightsUnavailableError("no network here")

    monkeypatch.setattr(nm.models, "download_weights", unavailable)
    w = nm.widgets.tour.TopKExplorer(size=128)
    w.model_picker.value = "vgg16"
    assert "no network here" in w.message.value


def test_every_lazy_widget_name_resolves_to_its_module():
    from nomysticism import widgets

    for name, mod in widgets._LAZY.items():
        obj = getattr(widgets, name)
        assert obj.__module__ == f"nomysticism.widgets.{mod}", name
