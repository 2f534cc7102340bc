"""End to end in a real headless Chromium: load the page, upload a bundled X-ray, see the result.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them when missing) and
selenium (the ``test`` extra). Nothing is downloaded at run time; the test skips, saying why,
only when the browser cannot be had.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import xaixray

pytest.importorskip("flask", reason='the web app needs Flask: pip install "xaixray[serve]"')
pytest.importorskip("selenium", reason='selenium is missing: pip install ".[test]"')

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import WebDriverException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

FAST = {"num_samples": 30, "max_evals": 30}
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def chromium() -> webdriver.Chrome:
    """A headless Chromium driven by the system's chromedriver; skips when there is none."""
    browser = next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        pytest.skip("no Chromium or chromedriver on PATH: apt-get install chromium "
                    "chromium-driver (.ci/run does this)")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,900", "--force-device-scale-factor=1"):
        options.add_argument(arg)
    try:
        return webdriver.Chrome(service=Service(driver), options=options)
    except WebDriverException as exc:
        pytest.skip(f"Chromium does not start here: {xaixray.errors.one_line(exc.msg or exc)}")


@pytest.fixture(scope="module")
def browser():
    driver = chromium()
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def server(tiny_classifier):
    from xaixray.serve import BackgroundServer, create_app

    app = create_app(tiny_classifier, "gradcam,lime", **FAST)
    with BackgroundServer(app) as running:
        yield running
    app.extensions["xaixray"].close()


def test_upload_predict_and_explain_in_chromium(browser, server, tiny_classifier):
    sample = next(p for p in xaixray.sample_images() if "PNEUMONIA" in p.name)
    wait = WebDriverWait(browser, 60)
    browser.get(server.url)
    assert server.url.startswith("http://127.0.0.1:")
    wait.until(lambda d: d.find_element(By.ID, "model-info").text.startswith("Model tiny"))
    assert "not a medical device" in browser.find_element(By.CLASS_NAME, "notice").text

    browser.find_element(By.ID, "file").send_keys(str(sample))
    wait.until(lambda d: d.execute_script("return document.getElementById('preview')"
                                          ".naturalWidth") > 0)
    # choosing a file moves the focus to "Analyse": the keyboard alone can go on
    assert browser.switch_to.active_element.get_attribute("id") == "analyse"
    browser.switch_to.active_element.send_keys(Keys.ENTER)

    expected = tiny_classifier.predict_proba([sample])[0]
    prediction = tiny_classifier.predict([sample])[0]
    verdict = wait.until(lambda d: d.find_element(By.ID, "verdict").text or None)
    assert verdict == prediction
    badge = browser.find_element(By.ID, "verdict").get_attribute("class")
    assert badge == f"badge {'normal' if prediction == 'NORMAL' else 'pneumonia'}"
    assert browser.find_element(By.ID, "prediction-set").get_attribute("hidden")  # no sets
    meter = browser.find_element(By.ID, "meter")
    assert meter.get_attribute("aria-valuenow") == f"{expected[1]:.3f}"
    fill = browser.find_element(By.ID, "meter-fill")
    wait.until(lambda d: abs(fill.size["width"] / meter.size["width"] - expected[1]) < 0.02)
    assert fill.is_displayed() and fill.size["width"] > 0
    marker = browser.find_element(By.ID, "meter-threshold")
    left = marker.location["x"] - meter.location["x"]
    assert abs(left - tiny_classifier.threshold * meter.size["width"]) <= 3

    gradcam = wait.until(lambda d: d.find_elements(
        By.CSS_SELECTOR, '.panel[data-method="gradcam"] img[data-ready]'))
    wait.until(lambda d: d.execute_script("return arguments[0].naturalWidth", gradcam[0]) > 0)
    assert "Grad-CAM" in browser.find_element(
        By.CSS_SELECTOR, '.panel[data-method="gradcam"] figcaption').text
    assert browser.find_element(By.ID, "dl-html").get_attribute("href").startswith("blob:")

    browser.find_element(By.ID, "run-slow").click()
    lime = wait.until(lambda d: d.find_elements(
        By.CSS_SELECTOR, '.panel[data-method="lime"] img[data-ready]'))
    assert lime and browser.find_element(By.ID, "explain-error").get_attribute("hidden")
    rows = browser.find_elements(By.CSS_SELECTOR, "#agreement tbody tr")
    assert [r.find_element(By.TAG_NAME, "td").text for r in rows] == ["Grad-CAM vs LIME"]

    shots = os.environ.get("XAIXRAY_SCREENSHOTS")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(Path(shots) / "browser-test.png"))


def test_phone_width_has_no_sideways_scrolling(browser, server):
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": 390, "height": 844, "deviceScaleFactor": 1,
                             "mobile": True})
    try:
        browser.get(server.url)
        WebDriverWait(browser, 60).until(
            lambda d: d.find_element(By.ID, "model-info").text.startswith("Model tiny"))
        width = browser.execute_script("return document.documentElement.scrollWidth")
        assert width <= 390
        zone = browser.find_element(By.ID, "dropzone")
        assert zone.size["width"] <= 390 - 32
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_the_part_a_cropping_model_sees_is_outlined_on_the_xray(browser, tiny_classifier,
                                                                  tmp_path):
    import cv2
    import numpy as np
    from test_crop import off_centre_xray

    from xaixray import Classifier
    from xaixray.serve import BackgroundServer, create_app

    image = off_centre_xray(np.random.default_rng(0))
    path = tmp_path / "off-centre.png"
    cv2.imwrite(str(path), image)
    clf = Classifier(tiny_classifier.model, tiny_classifier.preprocessing.replace(crop="lungs"),
                     tiny_classifier.class_names, 0.5, "tiny-lungs")
    top, bottom, left, right = clf.preprocessing.crop_box(image)
    app = create_app(clf, "gradcam")
    try:
        with BackgroundServer(app) as running:
            wait = WebDriverWait(browser, 60)
            browser.get(running.url)
            wait.until(lambda d: d.find_element(By.ID, "model-info").text.startswith("Model"))
            browser.find_element(By.ID, "file").send_keys(str(path))
            browser.find_element(By.ID, "analyse").click()
            rect = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".model-box rect"))[0]
            shown = browser.find_element(By.ID, "original")
            wait.until(lambda d: d.execute_script("return arguments[0].naturalWidth", shown))
            got = browser.execute_script(
                "const r = arguments[0].getBoundingClientRect(), "
                "m = arguments[1].getBoundingClientRect();"
                "return [r.left - m.left, r.top - m.top, r.width, r.height, m.width, m.height,"
                " arguments[1].naturalWidth, arguments[1].naturalHeight];",
                rect, shown)
            assert "what the model sees" in browser.find_element(By.ID, "original-caption").text
    finally:
        app.extensions["xaixray"].close()
    # where the <img> draws the X-ray (object-fit: contain in its own box); the box must follow
    x, y, w, h, mw, mh, natural_w, natural_h = got
    assert (natural_h, natural_w) == image.shape
    scale = min(mw / natural_w, mh / natural_h)
    x0, y0 = (mw - scale * natural_w) / 2, (mh - scale * natural_h) / 2
    expected = [x0 + scale * left, y0 + scale * top, scale * (right - left),
                scale * (bottom - top)]
    assert np.allclose([x, y, w, h], expected, atol=2.5), (got, expected)


def test_the_page_shows_the_conformal_set(browser, tiny_classifier):
    from xaixray import Classifier
    from xaixray.serve import BackgroundServer, create_app

    info = {"conformal": {"alpha": 0.05, "quantiles": {"NORMAL": 1.0, "PNEUMONIA": 1.0}}}
    clf = Classifier(tiny_classifier.model, tiny_classifier.preprocessing, name="tiny",
                     info=info)  # both classes always in the set: "uncertain"
    app = create_app(clf, "gradcam", **FAST)
    sample = next(p for p in xaixray.sample_images() if "PNEUMONIA" in p.name)
    wait = WebDriverWait(browser, 60)
    with BackgroundServer(app) as running:
        browser.get(running.url)
        wait.until(lambda d: d.find_element(By.ID, "model-info").text.startswith("Model tiny"))
        browser.find_element(By.ID, "file").send_keys(str(sample))
        wait.until(lambda d: d.execute_script("return document.getElementById('preview')"
                                              ".naturalWidth") > 0)
        browser.find_element(By.ID, "analyse").click()
        text = wait.until(lambda d: d.find_element(By.ID, "prediction-set").text or None)
    app.extensions["xaixray"].close()
    assert text.startswith("Conformal prediction set: {NORMAL, PNEUMONIA}, uncertain")
    assert "95% of each class" in text


def test_a_one_vs_rest_model_says_its_threshold_decided(browser, tiny_classifier):
    import keras

    from xaixray import Classifier
    from xaixray.labels import SUBTYPE_CLASS_NAMES
    from xaixray.serve import BackgroundServer, create_app

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((32, 32, 1)),
                              keras.layers.Conv2D(4, 3, activation="relu", name="conv"),
                              keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(3, activation="softmax")])
    sample = next(p for p in xaixray.sample_images() if "PNEUMONIA" in p.name)
    wait = WebDriverWait(browser, 60)
    clf = Classifier(model, tiny_classifier.preprocessing, SUBTYPE_CLASS_NAMES, 0.5, "tiny3",
                     positive_class="VIRAL")
    p_viral = float(clf.predict_proba([sample])[0, 2])
    for threshold in (p_viral / 2, (p_viral + 1) / 2):  # VIRAL, then the most probable other
        clf.threshold = threshold
        prediction = clf.predict([sample])[0]
        app = create_app(clf, "gradcam", **FAST)
        with BackgroundServer(app) as running:
            browser.get(running.url)
            info = wait.until(lambda d: d.find_element(By.ID, "model-info").text or None)
            browser.find_element(By.ID, "file").send_keys(str(sample))
            wait.until(lambda d: d.execute_script("return document.getElementById('preview')"
                                                  ".naturalWidth") > 0)
            browser.find_element(By.ID, "analyse").click()
            verdict = wait.until(lambda d: d.find_element(By.ID, "verdict").text or None)
            text = browser.find_element(By.ID, "decision").text
            threshold_shown = browser.find_element(By.ID, "meter-threshold").is_displayed()
        app.extensions["xaixray"].close()
        assert verdict == prediction and "most probable wins" not in info
        assert "VIRAL" in info and "one-vs-rest" in info
        assert "its most probable class" not in text and threshold_shown
        if prediction == "VIRAL":
            assert text.startswith(f"P(VIRAL) = {p_viral:.3f} is at or above the decision "
                                   "threshold") and text.endswith("so the model says VIRAL.")
        else:
            assert text.startswith(f"P(VIRAL) = {p_viral:.3f} is below the decision threshold")
            assert text.endswith(f"so the model says {prediction}, the most probable of the "
                                 "other classes.")
