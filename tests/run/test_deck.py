"""The slide deck: a title, the model, a slide per finding with its key figure and numbers, in
one reveal.js page that fetches nothing when opened (checked in headless Chromium as well)."""

import html
import re
import shutil
from pathlib import Path

import pytest

from helpers.run import deck
from tests.run.test_report import _executed, _png, external_references, fake_run

CHROMIUM = Path("/usr/bin/chromium")


def _top_slides(text: str) -> list[str]:
    """The top-level slides (reveal.js nests a section of sub-slides in each)."""
    slides = text[text.index('<div class="slides">') : text.index("</main>")]
    return re.split(r"</section></section>", slides)[:-1]


def test_deck_has_a_title_the_model_and_a_slide_per_finding(tmp_path):
    fake_run(tmp_path)
    path = deck.build_deck(tmp_path)
    text = path.read_text()
    assert path == tmp_path / "deck.html"
    slides = _top_slides(text)
    assert len(slides) == 5  # title, model, accuracy table, accuracy, sharpness
    assert "Inside a hybrid quantum-classical network" in slides[0]
    assert "cat vs dog (cifar10)" in slides[0] and "3 seeds" in slides[0]
    assert "The model" in slides[1] and "Linear 512→4" in slides[1]
    assert '<tr data-model="hybrid"><th>hybrid</th><td>0.800</td>' in slides[2]
    assert "Test accuracy: the hybrid" in slides[3] and "hybrid more accurate." in slides[3]
    assert "1 different (Holm over 1 test of 1 comparison)" in slides[3]
    assert "In the notebook" not in slides[3]
    assert "Sharpness" in slides[4] and html.escape("Null result: 1 inconclusive") in slides[4]
    for slide in slides[3:]:  # one caveat per headline: correction is per notebook
        assert slide.count('class="caveat"') == 1 and "1 of the run's 2 tests" in slide
    assert "In the notebook: 02_key" in slides[4] and _png("02_key") in slides[4]
    assert _png("02_map") not in text and "Every comparison" in slides[4]
    for slide in slides[3:]:  # the effects figure, then (↓) the notebook's, every comparison
        assert slide.count("data:image/png") == 1 + ("In the notebook" in slide)
        assert slide.index("data:image/png") < slide.index("Every comparison")


def test_deck_is_one_file_that_fetches_nothing(tmp_path):
    fake_run(tmp_path)
    text = deck.build_deck(tmp_path).read_text()
    assert external_references(text) == []
    assert "Reveal.initialize(" in text and "reveal.js 5." in text  # inlined from the package
    assert not re.search(r"<(script|link)\b[^>]*\b(src|href)=", text)


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (apt-get install)")
def test_deck_and_report_open_in_chromium_with_the_network_blocked(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    fake_run(tmp_path)
    from helpers.run import report

    pages = {"deck": deck.build_deck(tmp_path), "report": report.build_report(tmp_path)}
    requested, errors = [], []

    def block(route):
        url = route.request.url
        if url.startswith(("file:", "data:", "blob:")):
            route.continue_()
        else:
            requested.append(url)
            route.abort()

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.route("**/*", block)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(pages["deck"].as_uri())
        page.wait_for_function("window.Reveal && Reveal.isReady()")
        assert page.evaluate("Reveal.getTotalSlides()") == 8  # 5, and 1 + 2 below findings
        page.keyboard.press("ArrowRight")
        assert page.evaluate("Reveal.getIndices().h") == 1
        page.goto(pages["report"].as_uri() + "#findings")
        assert page.locator("#findings li").count() == 2
        browser.close()
    assert requested == [] and errors == []


def test_deck_command_builds_it_and_names_what_is_missing(tmp_path, capsys):
    fake_run(tmp_path)
    output = tmp_path / "talk" / "slides.html"
    assert deck.main([str(tmp_path), "--output", str(output)]) == 0
    assert output.is_file() and str(output) in capsys.readouterr().out
    empty = tmp_path / "empty"
    empty.mkdir()
    assert deck.main([str(empty)]) == 2
    assert "python -m helpers.pipeline" in capsys.readouterr().err


def test_deck_is_refused_for_a_notebook_that_did_not_complete(tmp_path, capsys):
    fake_run(tmp_path)
    shutil.copy(tmp_path / "02_sharpness.ipynb", tmp_path / "02_sharpness.failed.ipynb")
    _executed(tmp_path / "02_sharpness.failed.ipynb", "02_x", pipeline="failed", message="boom")
    assert deck.main([str(tmp_path)]) == 1
    assert "failed: boom" in capsys.readouterr().err and not (tmp_path / "deck.html").exists()
    assert deck.main([str(tmp_path), "--allow-problems"]) == 0


def test_missing_reveal_package_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(deck.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModuleNotFoundError, match=r"sphinx-revealjs.*pip install"):
        deck.reveal_assets()
