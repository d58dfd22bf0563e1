"""nm.progress.Loop / notify (the callback and stop contract) and nm.checkpoint.Checkpointer (resume)."""

import os
import threading

import pytest
import torch
from nomysticism import checkpoint as ck
from nomysticism.progress import Loop, Progress, notify, should_stop


def run(total, *, every=10, callback=None, stop=None, stop_at=None, start=0, image=None):
    """A loop as a topic writes it; returns the steps it ran and the loop."""
    loop = Loop(total, start=start, progress=False, callback=callback, every=every, stop=stop)
    ran = []
    for i in loop:
        ran.append(i)
        if stop_at is not None and i == stop_at:
            stop.set()
        loop.report(i + 1, image=image if image is not None else torch.full((1,), float(i + 1)),
                    info={"loss": 1.0 / (i + 1)})
    loop.finish()
    return ran, loop


def test_runs_all_steps_and_calls_back_every_n_and_at_the_end():
    seen = []
    ran, loop = run(25, every=10, callback=lambda p: seen.append((p.step, p.total, float(p.image[0]))))
    assert ran == list(range(25)) and not loop.stopped
    assert seen == [(10, 25, 10.0), (20, 25, 20.0), (25, 25, 25.0)]  # every 10 and at the end


def test_every_one_and_start():
    seen = []
    ran, _ = run(6, every=1, start=3, callback=lambda p: seen.append(p.step))
    assert ran == [3, 4, 5] and seen == [4, 5, 6]


def test_stop_event_ends_early_with_one_final_callback():
    stop = threading.Event()
    seen = []
    ran, loop = run(100, every=10, callback=lambda p: seen.append(p.step), stop=stop, stop_at=14)
    assert ran == list(range(15)) and loop.stopped
    assert seen == [10, 15]  # the cadence, then the state reached after the stop
    assert should_stop(stop) and not should_stop(None) and not should_stop(threading.Event())


def test_stop_set_before_the_loop_runs_nothing():
    stop = threading.Event()
    stop.set()
    ran, loop = run(10, stop=stop, callback=lambda p: None)
    assert ran == [] and loop.stopped


def test_stop_on_a_due_step_is_not_reported_twice():
    stop = threading.Event()
    seen = []
    run(100, every=5, callback=lambda p: seen.append(p.step), stop=stop, stop_at=9)
    assert seen == [5, 10]


def test_callback_returning_true_stops():
    seen = []

    def cb(p):
        seen.append(p.step)
        return p.step >= 6  # only True stops; None/False/other values do not

    ran, loop = run(50, every=3, callback=cb)
    assert ran == list(range(6)) and loop.stopped and seen == [3, 6]
    ran, loop = run(9, every=3, callback=lambda p: 1)  # truthy but not True: keeps going
    assert ran == list(range(9)) and not loop.stopped


def test_one_arg_callbacks_get_a_progress_two_arg_get_step_and_image():
    got = {}
    run(4, every=2, callback=lambda p: got.setdefault("one", p))
    p = got["one"]
    assert isinstance(p, Progress) and p.step == 2 and p.total == 4 and p.info == {"loss": 0.5}
    step, image, info = p  # unpacks like the positional form
    assert step == 2 and float(image[0]) == 2.0

    two, three, kw = [], [], []
    run(4, every=2, callback=lambda i, img: two.append((i, float(img[0]))))
    run(4, every=2, callback=lambda s, img, info: three.append((s, info["loss"])))
    run(4, every=2, callback=lambda i, im, k="fixed": kw.append((i, k)))  # a default is kept
    assert two == [(2, 2.0), (4, 4.0)]
    assert three == [(2, 0.5), (4, 0.25)]
    assert kw == [(2, "fixed"), (4, "fixed")]
    star = []
    run(2, every=2, callback=lambda *a: star.append(len(a)))
    assert star == [3]


def test_notify_dispatch_and_callable_objects():
    class Recorder:
        def __init__(self):
            self.calls = []

        def __call__(self, step, image):
            self.calls.append((step, image))

    r = Recorder()
    assert notify(r, Progress(7, 10, "img", {"a": 1})) is False
    assert r.calls == [(7, "img")]
    assert notify(None, Progress(1)) is False
    assert notify(lambda p: True, Progress(1)) is True
    assert notify(print, Progress(0)) is False  # a builtin (no Python signature) gets all three


def test_lazy_image_only_computed_when_a_callback_is_due():
    calls = []

    def image():
        calls.append(1)
        return torch.zeros(1)

    seen = []
    run(25, every=10, callback=lambda p: seen.append(p.image is not None), image=image)
    assert len(calls) == 3 and seen == [True] * 3
    calls.clear()
    run(25, every=10, callback=None, image=image)
    assert calls == []  # nobody listens: never called
    calls.clear()
    stop = threading.Event()
    run(100, every=10, callback=lambda p: None, stop=stop, stop_at=12, image=image)
    assert len(calls) == 2  # step 10, then the final state at 13


def test_report_returns_true_when_asked_to_stop_and_progress_subclass_passes_through():
    class Run(Progress):
        pass

    mine = Run(3, 9, None, {"history": [1, 2]})
    got = []
    loop = Loop(9, progress=False, callback=lambda p: got.append(p) or True, every=3)
    assert loop.report(1) is False
    assert loop.report(3, progress=mine) is True
    assert got == [mine] and loop.stopped


def test_progress_bar_counts(capsys):
    loop = Loop(5, progress=True, every=2, desc="demo")
    for i in loop:
        loop.report(i + 1, postfix={"loss": 0.1})
    assert loop.bar.n == 5


# --- Checkpointer ---------------------------------------------------------------------------------

def train(path, steps, every, stop_after=None):
    """A tiny training loop with random draws, resumable; returns (weights, draws after each step)."""
    torch.manual_seed(0)
    net = torch.nn.Linear(4, 1)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    draws = []
    c = ck.Checkpointer(path, state=lambda: {"net": net.state_dict(), "opt": opt.state_dict(),
                                             "draws": list(draws)}, every=every)
    st = c.resume()
    start = 0
    if st is not None:
        net.load_state_dict(st["net"])
        opt.load_state_dict(st["opt"])
        draws = list(st["draws"])
        start = st["step"]
    for step in range(start, steps):
        x = torch.rand(8, 4)
        loss = net(x).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        draws.append(float(torch.rand(())))
        c.step(step + 1)
        if stop_after is not None and step + 1 == stop_after:
            return net, draws, c
    c.save(steps)
    return net, draws, c


def test_checkpointer_resume_without_a_file_returns_none(tmp_path):
    c = ck.Checkpointer(tmp_path / "none.pt", state=dict, every=5)
    assert c.resume() is None and c.saved_step is None
    assert ck.Checkpointer(None, state=dict).resume() is None
    assert ck.Checkpointer(None, state=dict).save(3) is None and not ck.Checkpointer(None, state=dict).enabled
    assert list(tmp_path.iterdir()) == []


def test_checkpointer_saves_every_n(tmp_path, monkeypatch):
    saved = []
    real = ck.save_checkpoint
    monkeypatch.setattr(ck, "save_checkpoint", lambda p, st: saved.append(st["step"]) or real(p, st))
    c = ck.Checkpointer(tmp_path / "c.pt", state=lambda: {"x": 1}, every=4)
    for s in range(1, 11):
        c.step(s)
    assert saved == [4, 8] and c.saved_step == 8
    st = ck.load_checkpoint(tmp_path / "c.pt")
    assert st["step"] == 8 and st["x"] == 1 and "torch" in st["rng"]


def test_checkpointer_resume_restores_rng_bit_for_bit(tmp_path):
    net_full, draws_full, _ = train(None, 10, every=3)
    p = tmp_path / "run.pt"
    train(p, 10, every=3, stop_after=7)  # interrupted at step 7: last checkpoint at step 6
    assert ck.load_checkpoint(p)["step"] == 6
    torch.manual_seed(123)  # whatever happened to the global RNG in between
    net, draws, c = train(p, 10, every=3)
    assert c.saved_step == 10
    assert draws == draws_full  # the same random numbers as the uninterrupted run
    assert torch.equal(net.weight, net_full.weight) and torch.equal(net.bias, net_full.bias)


def test_checkpointer_resume_then_draw_equals_the_uninterrupted_draw(tmp_path):
    p = tmp_path / "r.pt"
    torch.manual_seed(5)
    torch.rand(3)
    c = ck.Checkpointer(p, state=lambda: {}, every=1)
    c.save(1)
    expected = torch.rand(4)  # what an uninterrupted run draws next
    torch.manual_seed(99)
    torch.rand(10)
    st = ck.Checkpointer(p, state=lambda: {}).resume()
    assert st["step"] == 1
    assert torch.equal(torch.rand(4), expected)
    assert ck.Checkpointer(p, state=dict, resume=False).resume() is None


def test_checkpointer_atomic_when_the_write_fails(tmp_path, monkeypatch):
    p = tmp_path / "c.pt"
    c = ck.Checkpointer(p, state=lambda: {"v": torch.ones(3)}, every=1)
    c.save(1)
    old = p.read_bytes()

    def failing_save(obj, f, *a, **k):
        with open(f, "wb") as fh:
            fh.write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        c.save(2)
    monkeypatch.undo()
    assert p.read_bytes() == old and ck.load_checkpoint(p)["step"] == 1
    assert os.listdir(tmp_path) == ["c.pt"]  # no temp file left
    assert c.saved_step == 1


def test_an_unknown_total_still_gets_the_final_callback():
    seen = []
    loop = Loop(None, progress=False, callback=lambda p: seen.append((p.step, p.total)), every=3)
    for t, _ in enumerate(loop.wrap(iter(range(7)))):  # a generator: no length
        loop.report(t + 1)
    loop.finish()
    assert seen == [(3, None), (6, None), (7, None)]  # the cadence, then the end
    loop.finish()
    assert len(seen) == 3  # not twice


def test_wrap_stops_on_the_event():
    stop = threading.Event()
    loop = Loop(None, progress=False, stop=stop)
    got = []
    for x in loop.wrap(range(100)):
        got.append(x)
        if x == 4:
            stop.set()
    assert got == [0, 1, 2, 3, 4] and loop.stopped
