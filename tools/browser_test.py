#!/usr/bin/env python3
"""Drives the Chorus web page in headless Chromium (Debian `chromium` + `chromium-driver`, PyPI `selenium`).

    python3 tools/browser_test.py --url http://127.0.0.1:8080 --screenshot-dir artifacts/browser

Against a running bridge serving the built-in demo models, it checks that:
  1. the model checkboxes come from /api/models; a run of gemini, pegasus and gpt4o shows three panels
     that go active, then completed with text and stats, a full progress bar and a 3-row comparison
     table (screenshot `completed.png`);
  2. a slow run stopped with Stop leaves no panel active and the text stops growing (`stopped.png`);
     whether the server saw the call cancelled is checked by tools/browser-test.sh in chorusd's log;
  3. a model failing mid-call shows an error badge and message in its own panel while the others
     complete (`failed-model.png`);
  4. at 420 px the panels stack in a single column (`narrow.png`).
Exits 0 when every check passes, 1 with a FAIL line otherwise (and a `failure.png` of the page).
"""
import argparse
import urllib.parse
import os
import shutil
import sys
import time

try:
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
except ImportError:  # pragma: no cover - reported clearly instead of a traceback
    sys.exit("FAIL: the Python package 'selenium' is missing (pip install selenium); tools/browser-test.sh installs it")

MODELS = ["gemini", "pegasus", "gpt4o"]
QUICK_QUERY = "What happens? [demo:words=40]"
SLOW_QUERY = "Describe every scene [demo:words=400]"
FAIL_QUERY = "What happens? [demo:words=30] [demo:fail=gemini]"
WIDE = (1280, 900)
NARROW = (420, 900)


class CheckFailed(Exception):
    pass


def log(message):
    print(f"[browser-test] {message}", flush=True)


def find_binary(*names):
    for name in names:
        path = shutil.which(name)
        if path:
            return path
        for prefix in ("/usr/bin", "/usr/lib/chromium"):
            candidate = os.path.join(prefix, name)
            if os.access(candidate, os.X_OK):
                return candidate
    return None


def make_driver():
    browser = os.environ.get("CHROMIUM_BINARY") or find_binary("chromium", "chromium-browser", "google-chrome")
    driver_path = os.environ.get("CHROMEDRIVER") or find_binary("chromedriver")
    if not browser or not driver_path:
        raise CheckFailed("chromium and chromedriver are needed (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for argument in (
        "--headless=new",
        "--no-sandbox",  # we run as root in CI
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--force-color-profile=srgb",
        "--hide-scrollbars",
        f"--window-size={WIDE[0]},{WIDE[1]}",
        "--lang=en-US",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path keeps Selenium Manager from trying to download anything.
    service = Service(executable_path=driver_path)
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    set_viewport(driver, *WIDE)
    return driver


def set_viewport(driver, width, height):
    """Sizes the viewport (not the window) exactly, so layout widths are what we ask for."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )


def screenshot(driver, path, full_page=True):
    """Writes a PNG of the page; full_page captures below the fold too (same width)."""
    import base64

    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    time.sleep(0.5)  # let the progress bar's width transition finish
    if full_page:
        try:
            metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
            size = metrics.get("cssContentSize") or metrics["contentSize"]
            width = driver.execute_script("return document.documentElement.clientWidth")
            height = max(int(size["height"]), 1)
            data = driver.execute_cdp_cmd(
                "Page.captureScreenshot",
                {
                    "format": "png",
                    "captureBeyondViewport": True,
                    "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
                },
            )["data"]
            with open(path, "wb") as handle:
                handle.write(base64.b64decode(data))
            log(f"wrote {path} ({width}x{height})")
            return
        except WebDriverException as error:  # fall back to the viewport
            log(f"full-page capture failed ({error.msg}); taking a viewport screenshot")
    driver.save_screenshot(path)
    log(f"wrote {path}")


def wait_for(description, predicate, timeout, interval=0.05):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise CheckFailed(f"timed out after {timeout:.0f} s waiting for {description} (last state: {last!r})")


PANEL_STATE_JS = """
return Array.from(document.querySelectorAll('#panels .panel')).map(p => ({
  model: p.dataset.model,
  status: p.dataset.status,
  badge: (p.querySelector('.badge') || {}).textContent,
  chars: (p.querySelector('.panel-text') || {textContent: ''}).textContent.length,
  error: (p.querySelector('.panel-error') && !p.querySelector('.panel-error').hidden)
           ? p.querySelector('.panel-error').textContent : null,
  stats: !!(p.querySelector('.panel-stats') && !p.querySelector('.panel-stats').hidden
           && p.querySelector('.panel-stats').children.length),
  left: Math.round(p.getBoundingClientRect().left),
  top: Math.round(p.getBoundingClientRect().top),
  width: Math.round(p.getBoundingClientRect().width),
}));
"""


def panels(driver):
    return driver.execute_script(PANEL_STATE_JS)


def run_status(driver):
    return driver.execute_script("return document.querySelector('#run-status').dataset.state")


def comparison_rows(driver):
    return driver.execute_script(
        "const s = document.querySelector('#comparison-section');"
        "if (!s || s.hidden) return [];"
        "return Array.from(document.querySelectorAll('#comparison tbody tr'), r => ({"
        " model: r.dataset.model, status: r.dataset.status,"
        " cells: Array.from(r.cells, c => c.textContent)}));"
    )


def call_error(driver):
    return driver.execute_script(
        "const e = document.querySelector('#call-error');"
        "return e.hidden ? null : e.textContent.replace(/\\s+/g, ' ').trim();"
    )


def select_models(driver, wanted):
    for box in driver.find_elements(By.CSS_SELECTOR, '#models input[name="model"]'):
        name = box.get_attribute("value")
        if box.is_selected() != (name in wanted):
            box.click()
    chosen = sorted(
        box.get_attribute("value")
        for box in driver.find_elements(By.CSS_SELECTOR, '#models input[name="model"]')
        if box.is_selected()
    )
    if chosen != sorted(wanted):
        raise CheckFailed(f"could not select {wanted}: selected {chosen}")


def start_run(driver, query, wanted=MODELS):
    select_models(driver, wanted)
    box = driver.find_element(By.ID, "query")
    box.clear()
    box.send_keys(query)
    start = driver.find_element(By.ID, "start")
    if not start.is_enabled():
        raise CheckFailed("the Start button is disabled before a run")
    start.click()
    status = run_status(driver)
    if status == "running" and not driver.find_element(By.ID, "stop").is_enabled():
        raise CheckFailed("Stop is disabled while a run is in progress")
    if status not in ("running", "completed", "partial"):
        raise CheckFailed(f"clicking Start did not start a run (status {status!r}, error {call_error(driver)!r})")


def check_models_listed(driver):
    def listed():
        boxes = driver.find_elements(By.CSS_SELECTOR, '#models input[name="model"]')
        names = [box.get_attribute("value") for box in boxes]
        return names if all(model in names for model in MODELS) else None

    names = wait_for("the model checkboxes from /api/models", listed, 15)
    tags = driver.execute_script(
        "return Array.from(document.querySelectorAll('#models .model-option'),"
        " o => [o.dataset.model, (o.querySelector('.tag') || {}).textContent]);"
    )
    log(f"model checkboxes: {names}; tags: {tags}")
    for name, tag in tags:
        if tag not in ("demo", "real"):
            raise CheckFailed(f"model {name} shows no demo/real tag (got {tag!r})")
    server = driver.find_element(By.CSS_SELECTOR, "#server-status").text
    log(f"server status: {server!r}")


def step_completed_run(driver, directory):
    log(f"run 1: {QUICK_QUERY!r} on {MODELS}")
    start_run(driver, QUICK_QUERY)

    seen_active = set()
    seen_waiting = set()

    def all_completed():
        state = panels(driver)
        for panel in state:
            if panel["status"] == "active" and panel["chars"] > 0:
                seen_active.add(panel["model"])
            if panel["status"] == "waiting":
                seen_waiting.add(panel["model"])
        models = sorted(panel["model"] for panel in state)
        if models != sorted(MODELS):
            return None
        bad = [p for p in state if p["status"] == "error"]
        if bad:
            raise CheckFailed(f"a panel failed in the normal run: {bad}")
        if call_error(driver):
            raise CheckFailed(f"call-level error shown in the normal run: {call_error(driver)}")
        done = all(p["status"] == "completed" and p["badge"] == "completed" and p["chars"] > 0 for p in state)
        rows = comparison_rows(driver)
        return (state, rows) if done and len(rows) == 3 else None

    state, rows = wait_for("three completed panels with text and a 3-row comparison table", all_completed, 60, 0.03)
    log(f"panels: {[(p['model'], p['badge'], p['chars']) for p in state]}")
    log(f"seen active with text while streaming: {sorted(seen_active)}; seen waiting: {sorted(seen_waiting)}")
    if not seen_active:
        raise CheckFailed("no panel was ever seen 'active' with text while the answers streamed")
    missing_stats = [p["model"] for p in state if not p["stats"]]
    if missing_stats:
        raise CheckFailed(f"panels without stats after model_end: {missing_stats}")
    for row in rows:
        log(f"comparison row: {row['model']}: {row['cells']}")
        if any(cell.strip() in ("", "—") for cell in row["cells"]):
            raise CheckFailed(f"comparison row for {row['model']} has empty cells: {row['cells']}")
    if sorted(row["model"] for row in rows) != sorted(MODELS):
        raise CheckFailed(f"comparison rows are for {[row['model'] for row in rows]}")
    progress = driver.execute_script("return document.querySelector('#progress').getAttribute('aria-valuenow')")
    if progress != "100":
        raise CheckFailed(f"progress bar at {progress}% after every model completed")
    if run_status(driver) != "completed":
        raise CheckFailed(f"run status is {run_status(driver)!r}, expected 'completed'")
    tops = {p["top"] for p in state}
    if len(tops) != 1:
        raise CheckFailed(f"at 1280 px the three panels should sit side by side (tops {sorted(tops)})")
    if not driver.find_element(By.ID, "start").is_enabled() or driver.find_element(By.ID, "stop").is_enabled():
        raise CheckFailed("after the run Start should be enabled and Stop disabled")
    driver.execute_script("window.scrollTo(0, 0)")
    screenshot(driver, os.path.join(directory, "completed.png"))


def step_stopped_run(driver, directory):
    log(f"run 2: {SLOW_QUERY!r}, then Stop")
    start_run(driver, SLOW_QUERY)

    def one_active_with_text():
        state = panels(driver)
        return state if any(p["status"] == "active" and p["chars"] > 0 for p in state) else None

    wait_for("a panel active with text", one_active_with_text, 20, 0.03)
    time.sleep(0.3)  # let some more text arrive so the screenshot shows the stop mid-answer
    driver.find_element(By.ID, "stop").click()
    stopped_at = panels(driver)
    time.sleep(1.0)
    state = panels(driver)
    log(f"after Stop: {[(p['model'], p['status'], p['chars']) for p in state]}; run status {run_status(driver)!r}")
    stuck = [p["model"] for p in state if p["status"] == "active" or p["badge"] == "active"]
    if stuck:
        raise CheckFailed(f"panels still 'active' a second after Stop: {stuck}")
    if run_status(driver) != "stopped":
        raise CheckFailed(f"run status is {run_status(driver)!r} after Stop, expected 'stopped'")
    grown = [
        p["model"]
        for p, before in zip(state, stopped_at)
        if p["model"] == before["model"] and p["chars"] != before["chars"]
    ]
    if grown:
        raise CheckFailed(f"text kept growing after Stop in {grown}")
    unfinished = [p for p in state if p["status"] not in ("completed", "error")]
    if not unfinished:
        raise CheckFailed("every model had already finished when Stop was clicked; the slow run was not slow")
    if any(p["badge"] != "stopped" for p in unfinished):
        raise CheckFailed(f"unfinished panels should read 'stopped': {[(p['model'], p['badge']) for p in unfinished]}")
    if not driver.find_element(By.ID, "start").is_enabled() or driver.find_element(By.ID, "stop").is_enabled():
        raise CheckFailed("after Stop, Start should be enabled and Stop disabled")
    if call_error(driver):
        raise CheckFailed(f"Stop should not show a call-level error: {call_error(driver)}")
    driver.execute_script("window.scrollTo(0, 0)")
    screenshot(driver, os.path.join(directory, "stopped.png"))


def step_failed_model(driver, directory):
    log(f"run 3: {FAIL_QUERY!r}")
    start_run(driver, FAIL_QUERY)

    def settled():
        state = panels(driver)
        if len(state) == 3 and all(p["status"] in ("completed", "error") for p in state) and run_status(driver) != "running":
            return state
        return None

    state = wait_for("every panel to settle", settled, 60)
    by_model = {p["model"]: p for p in state}
    gemini = by_model["gemini"]
    if gemini["status"] != "error" or gemini["badge"] != "error" or not gemini["error"]:
        raise CheckFailed(f"the failed model should show an error badge and message: {gemini}")
    others = [p for p in state if p["model"] != "gemini"]
    if any(p["status"] != "completed" or p["chars"] == 0 for p in others):
        raise CheckFailed(f"the other models should complete with text: {others}")
    log(f"gemini error message: {gemini['error']!r}; run status {run_status(driver)!r}")
    rows = comparison_rows(driver)
    if len(rows) != 3:
        raise CheckFailed(f"comparison table has {len(rows)} rows, expected 3")
    driver.execute_script("window.scrollTo(0, 0)")
    screenshot(driver, os.path.join(directory, "failed-model.png"))


def step_narrow(driver, directory):
    log(f"narrow layout at {NARROW[0]} px")
    set_viewport(driver, *NARROW)
    start_run(driver, QUICK_QUERY)

    def done():
        state = panels(driver)
        return state if len(state) == 3 and all(p["status"] == "completed" for p in state) and comparison_rows(driver) else None

    state = wait_for("the narrow run to complete", done, 60)
    lefts = {p["left"] for p in state}
    widths = [p["width"] for p in state]
    tops = [p["top"] for p in state]
    log(f"panel lefts {sorted(lefts)}, widths {widths}, tops {tops}")
    if len(lefts) != 1 or len(set(tops)) != 3:
        raise CheckFailed(f"at {NARROW[0]} px the panels should stack in one column (lefts {lefts}, tops {tops})")
    overflow = driver.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    if overflow > 0:
        raise CheckFailed(f"the narrow page scrolls sideways by {overflow} px")
    driver.execute_script("window.scrollTo(0, 0)")
    screenshot(driver, os.path.join(directory, "narrow.png"))
    set_viewport(driver, *WIDE)


EVENTSOURCE_SCRIPT = """
const [url, done] = [arguments[0], arguments[arguments.length - 1]];
const source = new EventSource(url);
const seen = [];
const timer = setTimeout(() => { source.close(); done({error: 'timeout', seen}); }, 15000);
source.onmessage = (message) => {
  if (message.data === '[DONE]') { clearTimeout(timer); source.close(); done({seen}); return; }
  try { seen.push({id: message.lastEventId, event: JSON.parse(message.data)}); }
  catch (e) { clearTimeout(timer); source.close(); done({error: 'bad JSON: ' + message.data, seen}); }
};
source.onerror = () => { clearTimeout(timer); source.close(); done({error: 'EventSource error', seen}); };
"""


def step_eventsource(driver, base_url):
    """The GET form with the browser's own EventSource: every event parses, ids are contiguous."""
    query = "What happens? [demo:fast] [demo:words=12]"
    url = (base_url + "api/analyze/stream/parallel?query=" + urllib.parse.quote(query)
           + "&models=gemini,pegasus&request_id=eventsource-" + str(int(time.time() * 1000)))
    driver.set_script_timeout(20)
    result = driver.execute_async_script(EVENTSOURCE_SCRIPT, url)
    if result.get("error"):
        raise CheckFailed(f"EventSource run failed: {result['error']} after {len(result.get('seen', []))} events")
    seen = result["seen"]
    ids = [int(entry["id"]) for entry in seen]
    if ids != list(range(1, len(ids) + 1)):
        raise CheckFailed(f"EventSource ids are not contiguous from 1: {ids}")
    types = [entry["event"]["event_type"] for entry in seen]
    if types[0] != "start" or types[-1] != "complete" or types.count("model_end") != 2:
        raise CheckFailed(f"EventSource event order is wrong: {types}")
    log(f"EventSource (GET): {len(seen)} events, ids 1..{len(seen)}, start..complete")


def console_errors(driver):
    try:
        entries = driver.get_log("browser")
    except WebDriverException:
        return []
    return [entry for entry in entries if entry.get("level") == "SEVERE"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="base URL of the bridge, e.g. http://127.0.0.1:8080")
    parser.add_argument("--screenshot-dir", default="artifacts/browser", help="where the PNGs go")
    arguments = parser.parse_args()
    directory = arguments.screenshot_dir
    os.makedirs(directory, exist_ok=True)
    url = arguments.url.rstrip("/") + "/"

    driver = None
    try:
        driver = make_driver()
        log(f"browser {driver.capabilities.get('browserVersion')} at {url}")
        driver.get(url)
        title = driver.title
        if "Chorus" not in title:
            raise CheckFailed(f"page title is {title!r}; is {url} the Chorus bridge?")
        check_models_listed(driver)
        step_completed_run(driver, directory)
        step_stopped_run(driver, directory)
        step_failed_model(driver, directory)
        step_narrow(driver, directory)
        step_eventsource(driver, url)
        errors = [e for e in console_errors(driver) if "Uncaught" in e.get("message", "")]
        if errors:
            raise CheckFailed(f"JavaScript errors in the console: {errors}")
        log("PASS: every browser check passed")
        return 0
    except (CheckFailed, WebDriverException) as error:
        message = error.msg if isinstance(error, WebDriverException) else str(error)
        print(f"[browser-test] FAIL: {message}", file=sys.stderr, flush=True)
        if driver is not None:
            try:
                for entry in console_errors(driver):
                    print(f"[browser-test] console: {entry.get('message')}", file=sys.stderr)
                screenshot(driver, os.path.join(directory, "failure.png"))
            except WebDriverException:
                pass
        return 1
    finally:
        if driver is not None:
            driver.quit()


if __name__ == "__main__":
    sys.exit(main())
