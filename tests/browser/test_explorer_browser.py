"""The explorer in a real browser, as JupyterLab tests its own UI (Galata drives Playwright):
JupyterLab from the project's environment on a free local port, notebook 10 opened and run in
headless Chromium, a widget changed, the view checked against the model."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.analysis.saliency import predict
from helpers.config import Config
from helpers.model.data import dataset_images
from helpers.run.pipeline import NOTEBOOK_DIR
from helpers.run.session import NotebookSession
from tests.explore_run import build_explored_run

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
NOTEBOOK = "10_explore.ipynb"
LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through a proxy
TIMEOUT_MS = 180_000  # kernel start, imports and the first view on a busy machine

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _notebook_for(artifacts_dir: str, folder: Path) -> Path:
    """Notebook 10 with its parameters cell pointing at ``artifacts_dir``."""
    notebook = json.loads((NOTEBOOK_DIR / NOTEBOOK).read_text())
    for cell in notebook["cells"]:
        if "parameters" in cell["metadata"].get("tags", []):
            cell["source"] = f"artifacts_dir = {artifacts_dir!r}"
    path = folder / NOTEBOOK
    path.write_text(json.dumps(notebook))
    return path


@contextlib.contextmanager
def jupyterlab_server(tmp_path: Path) -> Iterator[str]:
    """A JupyterLab server serving ``tmp_path``: the URL of notebook 10 with the token."""
    port, token = _free_port(), "explorer-test"
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}",
        "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={tmp_path}", f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}",
        f"--LabApp.user_settings_dir={tmp_path / 'settings'}", "--ServerApp.allow_root=True",
        "--LabApp.extension_manager=readonly",  # offline: no package index queries
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    news = tmp_path / "settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)
    (news / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    log = (tmp_path / "jupyterlab.log").open("w")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                LOCAL.open(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"JupyterLab did not start: {log.name}") from None
                time.sleep(0.5)
        yield f"{url}/lab/tree/{NOTEBOOK}?token={token}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture
def jupyterlab(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """:func:`jupyterlab_server` on ``tmp_path``, stopped afterwards."""
    with jupyterlab_server(tmp_path) as url:
        yield url, tmp_path


def _run_all_cells(page, timeout_error: type[Exception]) -> None:
    """Run every cell from the Run menu, again if the click came before the notebook was ready
    (no cell started within 30 s)."""
    started = page.locator(".jp-InputArea-prompt", has_text="*").or_(
        page.locator(".jp-InputArea-prompt", has_text="1")
    )
    for _ in range(3):
        page.locator(".lm-MenuBar-item", has_text="Run").first.click()
        page.locator(".lm-Menu-item", has_text="Run All Cells").first.click()
        try:
            started.first.wait_for(timeout=30_000)
            return
        except timeout_error:
            page.keyboard.press("Escape")
    raise AssertionError("no cell started after three clicks on Run > Run All Cells")


def _shown_predictions(page) -> dict[str, str]:
    """model -> predicted class, read from the explorer's prediction table."""
    rows = page.locator(".explore-image-text table tr").all()
    cells = [[td.inner_text() for td in row.locator("td").all()] for row in rows]
    return {row[0]: row[1] for row in cells if row}


def _model_predictions(session: NotebookSession, index: int) -> dict[str, str]:
    image, _ = dataset_images(session.splits.test, [index])
    return {
        kind: session.cfg.classes[int(predict(model, image).argmax())]
        for kind, model in session.models.items()
    }


def test_explorer_runs_in_jupyterlab_and_a_widget_changes_the_view(jupyterlab, tmp_path_factory):
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    cfg = build_explored_run(tmp_path_factory.getbasetemp() / "explored_run")
    url, folder = jupyterlab
    _notebook_for(cfg.artifacts_dir, folder)
    session = NotebookSession(Config.for_notebook({"artifacts_dir": cfg.artifacts_dir}))
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(folder / "profile"), executable_path=str(CHROMIUM), headless=True,
            args=CHROMIUM_FLAGS, viewport={"width": 1400, "height": 1000},
        )  # fmt: skip
        page = browser.new_page()
        try:
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(url)
            page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for()
            _run_all_cells(page, sync_api.TimeoutError)
            page.locator(".explore-image-text table").wait_for()
            view = page.locator(".explorer")
            view.scroll_into_view_if_needed()
            before = view.screenshot(path=str(folder / "explorer_before.png"))
            options = page.locator(".explore-image select option").all()
            indices = [int(o.inner_text().split()[2]) for o in options]  # "test image 12 (cat)"
            assert _shown_predictions(page) == _model_predictions(session, indices[0])
            picture = page.locator(".explore-image-view img").first
            shown = picture.get_attribute("src")
            page.locator(".explore-image select").select_option(index=1)
            page.wait_for_function(
                "src => document.querySelector('.explore-image-view img').src !== src", arg=shown
            )
            page.wait_for_timeout(1000)  # the other panels follow in the same update
            after = view.screenshot(path=str(folder / "explorer_after.png"))
            assert after != before
            assert _shown_predictions(page) == _model_predictions(session, indices[1])
        except Exception:
            page.screenshot(path=str(folder / "failure.png"))  # what the browser showed
            raise
        finally:
            browser.close()
