"""Screenshots of the web app with a bundled X-ray explained, in headless Chromium.

Usage::

    python scripts/serve_screenshot.py [--out docs/images/serve.png] [--phone PATH]
                                       [--width 1280] [--model default]

Starts the app on 127.0.0.1 (a free port) with the bundled model, uploads the bundled PNEUMONIA
sample, waits for the prediction and Grad-CAM, asks for LIME and SHAP, waits for them and saves
a full-page PNG (256 dithered colours, to stay small). With ``--phone`` it also saves the page
at 390 px wide. Needs Debian's ``chromium`` and ``chromium-driver`` and selenium.
"""

from __future__ import annotations

import argparse
import base64
import io
import shutil
import time
from pathlib import Path

from PIL import Image
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

import xaixray
from xaixray.serve import BackgroundServer, create_app


def browser(width: int, height: int) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--hide-scrollbars",
                f"--window-size={width},{height}", "--force-device-scale-factor=1"):
        options.add_argument(arg)
    driver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    return webdriver.Chrome(service=Service(driver), options=options)


def capture(url: str, sample: Path, width: int, height: int, out: Path) -> None:
    """Explain ``sample`` on the page at ``width`` and save the whole page to ``out``."""
    driver = browser(max(width, 500), height)
    try:
        mobile = width < 600
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": width, "height": height, "deviceScaleFactor": 1,
                                "mobile": mobile})
        wait = WebDriverWait(driver, 300)
        driver.get(url)
        wait.until(lambda d: d.find_element(By.ID, "model-info").text.startswith("Model"))
        driver.find_element(By.ID, "file").send_keys(str(sample))
        driver.find_element(By.ID, "analyse").click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR,
                                             '.panel[data-method="gradcam"] img[data-ready]'))
        driver.find_element(By.ID, "run-slow").click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR,
                                             '.panel[data-method="shap"] img[data-ready]'))
        time.sleep(1.5)  # the confidence bar's animation
        full = driver.execute_script("return document.documentElement.scrollHeight")
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": width, "height": full, "deviceScaleFactor": 1,
                                "mobile": mobile})
        time.sleep(0.5)
        png = base64.b64decode(driver.execute_cdp_cmd("Page.captureScreenshot",
                                                      {"format": "png"})["data"])
    finally:
        driver.quit()
    image = Image.open(io.BytesIO(png)).convert("RGB")
    out.parent.mkdir(parents=True, exist_ok=True)
    palette = image.quantize(256, method=Image.Quantize.MEDIANCUT)
    image.quantize(palette=palette, dither=Image.Dither.FLOYDSTEINBERG).save(out, optimize=True)
    print(f"wrote {out} ({image.width}x{image.height}, {out.stat().st_size // 1024} kB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs/images/serve.png"))
    parser.add_argument("--phone", type=Path, help="also save the page at 390 px wide here")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--model", default="default")
    args = parser.parse_args()
    sample = next(p for p in xaixray.sample_images() if "PNEUMONIA" in p.name)
    app = create_app(args.model)
    with BackgroundServer(app) as server:
        capture(server.url, sample, args.width, 900, args.out)
        if args.phone:
            capture(server.url, sample, 390, 844, args.phone)
    app.extensions["xaixray"].close()


if __name__ == "__main__":
    main()
