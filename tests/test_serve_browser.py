"""End to end in headless Chromium: `zoo serve` in a subprocess, a real image dropped on the page, the result checked."""
from __future__ import annotations

import base64
import io
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest
from PIL import Image

pytest.importorskip("starlette", reason="zoo-core[serve] is not installed (pip install 'zoo-core[serve]')")

import zoo  # noqa: E402
from zoo_core.infer.demo import demo_image  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-dev-shm-usage",
        "--window-size=1100,1100"]
TINY = "example-tiny-nearest"
WAIT = 30  # seconds for any one step in the page

DROP_JS = """
const [b64, name, target] = arguments;
const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
const dt = new DataTransfer();
dt.items.add(new File([bytes], name, {type: "image/png"}));
for (const type of ["dragenter", "dragover", "drop"]) {
  document.getElementById(target).dispatchEvent(
    new DragEvent(type, {dataTransfer: dt, bubbles: true, cancelable: true}));
}
"""


@pytest.fixture(scope="module")
def webdriver_module() -> Any:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        pytest.skip(f"no browser for the end-to-end test: {', '.join(missing)} not installed "
                    f"(apt-get install chromium chromium-driver)")
    return pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")


@pytest.fixture(scope="module")
def server_url(webdriver_module: Any) -> Iterator[str]:  # no browser: skip before starting anything
    if TINY not in [c.name for c in zoo.list_models()]:
        pytest.skip(f"{TINY} is not installed (pip install -e tests/example_plugin)")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "zoo", "serve", "--port", "0", "--jobs", "1", "--max-pixels", "200000",
                             "--test-models"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()  # type: ignore[union-attr]
    try:
        first = lines.get(timeout=60)
        match = re.search(r"http://127\.0\.0\.1:\d+/", first)
        assert match, f"zoo serve did not print its address: {first!r}"
        yield match.group(0)
    finally:
        proc.terminate()
        try:
            code = proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise AssertionError("zoo serve did not stop within 15 s of SIGTERM") from None
        assert code in (0, -15), f"zoo serve exited with {code}"


@pytest.fixture()
def browser(webdriver_module: Any) -> Iterator[Any]:
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service

    options = webdriver_module.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ARGS:
        options.add_argument(arg)
    try:  # an explicit driver path: selenium-manager never tries to download anything
        driver = webdriver_module.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    except WebDriverException as exc:
        pytest.skip(f"chromium is installed but did not start: {str(exc).splitlines()[0]}")
    driver.set_page_load_timeout(WAIT)
    yield driver
    driver.quit()


def test_drop_an_image_compare_and_download(server_url: str, browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    wait = WebDriverWait(browser, WAIT)
    el = lambda id_: browser.find_element(By.ID, id_)  # noqa: E731
    browser.get(server_url)
    wait.until(lambda d: d.execute_script("return document.body.dataset.state") == "ready")
    options = [o.get_attribute("value") for o in Select(el("model")).options]
    from zoo_core.api import default_model
    from zoo_core.serve.engine import list_entries

    assert options == [m["name"] for m in list_entries(test_models=True)]  # registry's families, plugins' included
    assert Select(el("model")).first_selected_option.get_attribute("value") == default_model().name
    Select(el("model")).select_by_value(TINY)

    # A file that is not an image, picked with the file chooser: the server's message appears in the page.
    bad = tmp_path / "notes.png"
    bad.write_text("these are not pixels")
    el("file").send_keys(str(bad))
    el("go").click()
    wait.until(lambda d: el("error").is_displayed())
    assert "notes.png: not an image" in el("error").text and not el("status").is_displayed()

    # A real picture, dropped on the drop zone, upscaled 4× (two passes) with TTA.
    src = demo_image(48)
    buf = io.BytesIO()
    src.save(buf, "PNG")
    browser.execute_script(DROP_JS, base64.b64encode(buf.getvalue()).decode(), "face.png", "drop")
    assert "face.png" in el("picked").text and not el("error").is_displayed()
    Select(el("scale")).select_by_value("4")
    el("tta").click()
    el("go").click()
    wait.until(lambda d: d.execute_script("return document.body.dataset.state") in ("done", "error"))
    assert not el("error").is_displayed(), el("error").text
    wait.until(lambda d: d.execute_script(
        "return ['before', 'after'].every((i) => document.getElementById(i).complete "
        "&& document.getElementById(i).naturalWidth > 0)"))
    size = browser.execute_script("const a = document.getElementById('after'); return [a.naturalWidth, a.naturalHeight]")
    assert size == [192, 192]
    assert "48×48 → 192×192" in el("out-info").text and "Done in" in el("status-text").text
    assert browser.execute_script("return document.getElementById('progress').value") == 1

    # The comparison slider follows a click on the picture.
    compare = el("compare")
    ActionChains(browser).move_to_element_with_offset(compare, -compare.size["width"] // 4, 0).click().perform()
    assert 20 <= float(el("split").get_attribute("value")) <= 30

    # The download link gives the model's output.
    href = el("download").get_attribute("href")
    with urllib.request.urlopen(href, timeout=WAIT) as r:
        out = Image.open(io.BytesIO(r.read()))
        assert "face-example-tiny-nearest-4x.png" in r.headers["content-disposition"]
    assert out.size == (192, 192)
    assert out.convert("RGB").tobytes() == src.resize((192, 192), Image.Resampling.NEAREST).tobytes()

    shot = tmp_path / "zoo-serve.png"
    assert browser.save_screenshot(str(shot))
    assert Image.open(shot).size[0] > 500
    print(f"screenshot: {shot}")
