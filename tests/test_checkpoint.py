"""nm.checkpoint: atomic writes survive a crash mid-write; weights_only round trips; RNG state restores."""

import random

import nomysticism as nm
import pytest
import torch
from nomysticism import checkpoint as ck


def test_roundtrip_weights_only(tmp_path):
    net = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(net.parameters())
    net(torch.ones(1, 3)).sum().backward()
    opt.step()
    state = {"model": net.state_dict(), "opt": opt.state_dict(), "step": 7, "rng": ck.rng_state()}
    p = ck.save_checkpoint(tmp_path / "c.pt", state)
    back = ck.load_checkpoint(p)
    assert back["step"] == 7
    assert torch.equal(back["model"]["weight"], net.weight)
    assert torch.equal(back["opt"]["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])


def test_crash_mid_write_keeps_previous(tmp_path, monkeypatch):
    p = ck.save_checkpoint(tmp_path / "c.pt", {"step": 1})

    def broken_save(obj, f, *a, **k):
        with open(f, "wb") as fh:
            fh.write(b"half a checkp")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(KeyboardInterrupt):
        ck.save_checkpoint(p, {"step": 2})
    monkeypatch.undo()
    assert ck.load_checkpoint(p)["step"] == 1
    assert [f.name for f in tmp_path.iterdir()] == ["c.pt"]  # no temp files left


def test_rng_state_restores():
    st = ck.rng_state()
    a = (torch.rand(3), random.random())
    ck.set_rng_state(st)
    b = (torch.rand(3), random.random())
    assert torch.equal(a[0], b[0]) and a[1] == b[1]


def test_safetensors_weights(tmp_path):
    net = nm.models.load("shapesnet", pretrained=False)
    p = ck.save_weights(net, tmp_path / "w.safetensors", {"note": "x"})
    other = ck.load_weights(nm.models.load("shapesnet", pretrained=False), p)
    for (k, v), (k2, v2) in zip(net.state_dict().items(), other.state_dict().items()):
        assert k == k2 and torch.equal(v, v2)


def test_saved_files_get_the_usual_mode_not_mkstemps_0600(tmp_path):
    import os
    import stat

    p = ck.save_checkpoint(tmp_path / "m.pt", {"x": torch.zeros(1)})
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~mask
