"""Shared test set-up: CPU only, deterministic, small thread count, artifacts folder."""

import os
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


CHROMIUM = Path(os.environ.get("NM_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage"]


# The browser fixtures live here, so that test_browser.py and test_apps.py share ONE Playwright
# session (two sync_playwright() sessions in one process fail: "Sync API inside the asyncio loop").
@pytest.fixture(scope="session")
def browser_context():
    """One headless Chromium (Debian's) and one browser context for the whole session."""
    if not CHROMIUM.exists():
        msg = (f"{CHROMIUM} not found: the browser tests need Debian's Chromium "
               f"(`bash scripts/system-packages.sh`, as `make test` does; never `playwright install`). "
               f"Set NM_ALLOW_NO_BROWSER=1 to skip them on a machine without it.")
        if os.environ.get("NM_ALLOW_NO_BROWSER") == "1":
            pytest.skip(msg)
        pytest.fail(msg)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(60_000)
        try:
            yield context
        finally:
            context.close()
            browser.close()


@pytest.fixture(scope="session")
def shots(artifacts) -> Path:
    d = artifacts / "browser"
    d.mkdir(parents=True, exist_ok=True)
    return d
