"""Shared test set-up: CPU only, deterministic, small thread count, artifacts folder."""

from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"

import matplotlib  # noqa: E402

matplotlib.use("Agg")  # this process only; notebook kernels keep their inline backend


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    yield


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """A folder for images and screenshots that tests leave behind for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def lite0():
    import nomysticism as nm

    return nm.models.load("efficientnet_lite0")


@pytest.fixture(scope="session")
def shapesnet():
    import nomysticism as nm

    return nm.models.load("shapesnet")
