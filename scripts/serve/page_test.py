"""Drives the page of `nmt serve` in headless Chromium through WebDriver (selenium).

Loads the page, translates "I am a student.", hovers the output token "▁suis" and checks that the
source tokens are shaded with the encoder-decoder attention the server reports for that step (last
layer, mean of the heads: the page's default), the heaviest one outlined; then checks that every
heatmap is drawn. Prints one JSON line with what it saw; exits non-zero on a failed check.

    python page_test.py URL [--screenshot FILE] [--chromium PATH] [--chromedriver PATH]
"""
import argparse
import json
import sys
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

SENTENCE = "I am a student."
HOVERED = "▁suis"


def expected_row(base, index):
    """The cross-attention row the page should show: last layer, mean of the heads."""
    request = urllib.request.Request(base + "/v1/attention", data=json.dumps({"q": SENTENCE}).encode(),
                                     headers={"Content-Type": "application/json"})
    attention = json.load(urllib.request.urlopen(request, timeout=120))
    cross = [t for t in attention["tables"] if t["kind"] == "cross"]
    last = max(t["layer"] for t in cross)
    heads = [t for t in cross if t["layer"] == last]
    row = [sum(t["weights"][index][c] for t in heads) / len(heads) for c in range(len(attention["source_tokens"]))]
    return attention, row


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--screenshot")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    args = parser.parse_args()

    options = webdriver.ChromeOptions()
    options.binary_location = args.chromium
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1500"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(args.chromedriver), options=options)
    failures = []
    seen = {}
    try:
        driver.set_page_load_timeout(60)
        driver.get(args.url + "/")
        wait = WebDriverWait(driver, 120)
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#pair option")) > 0)
        source = driver.find_element(By.ID, "source")
        source.clear()
        source.send_keys(SENTENCE)
        driver.find_element(By.ID, "translate").click()
        wait.until(EC.text_to_be_present_in_element((By.ID, "translation"), "Je"))
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#output-tokens .token")) > 0)
        seen["translation"] = driver.find_element(By.ID, "translation").text
        outputs = [node.text for node in driver.find_elements(By.CSS_SELECTOR, "#output-tokens .token")]
        seen["output_tokens"] = outputs
        if HOVERED not in outputs:
            failures.append(f"no output token {HOVERED!r} in {outputs}")
            raise StopIteration
        index = outputs.index(HOVERED)
        target = driver.find_elements(By.CSS_SELECTOR, "#output-tokens .token")[index]
        ActionChains(driver).move_to_element(target).perform()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#source-tokens .token")[0].get_attribute("data-weight"))

        attention, row = expected_row(args.url, index)
        cells = driver.find_elements(By.CSS_SELECTOR, "#source-tokens .token")
        shown = [float(cell.get_attribute("data-weight")) for cell in cells]
        strongest = [cell.text for cell in cells if "strongest" in cell.get_attribute("class").split()]
        seen.update(source_tokens=[cell.text for cell in cells], weights=shown, strongest=strongest)
        if [cell.text for cell in cells] != attention["source_tokens"]:
            failures.append(f"source tokens {seen['source_tokens']} != {attention['source_tokens']}")
        if len(shown) != len(row) or max(abs(a - b) for a, b in zip(shown, row)) > 1e-6:
            failures.append(f"shaded weights {shown} != the server's {row}")
        heaviest = attention["source_tokens"][row.index(max(row))]
        if strongest != [heaviest]:
            failures.append(f"outlined {strongest}, but the heaviest source token is {heaviest!r}")
        backgrounds = [cell.value_of_css_property("background-color") for cell in cells]
        if len(set(backgrounds)) < 2:
            failures.append(f"the source tokens are not shaded apart: {backgrounds}")
        if "active" not in target.get_attribute("class").split():
            failures.append("the hovered output token is not marked")

        layers = len({t["layer"] for t in attention["tables"] if t["kind"] == "cross"})
        heads = len({t["head"] for t in attention["tables"] if t["kind"] == "cross"})
        maps = driver.find_elements(By.CSS_SELECTOR, "#heatmaps figure.map")
        seen["heatmaps"] = len(maps)
        if len(maps) != 3 * layers * (heads + 1):
            failures.append(f"{len(maps)} heatmaps, expected {3 * layers * (heads + 1)} (3 kinds × {layers} layers × {heads} heads and the mean)")
        active_rows = driver.find_elements(By.CSS_SELECTOR, f".map[data-kind=cross] tr.active[data-row='{index}']")
        if len(active_rows) != layers * (heads + 1):
            failures.append(f"{len(active_rows)} cross heatmap rows marked for the hovered token")
        wait.until(lambda d: not d.find_element(By.ID, "walkthrough-panel").get_attribute("hidden"))
        steps = driver.find_elements(By.CSS_SELECTOR, "#walkthrough ol li")
        seen["walkthrough_steps"] = len(steps)
        if len(steps) != len(outputs):
            failures.append(f"{len(steps)} generation steps in the walkthrough, expected {len(outputs)}")
        if args.screenshot:
            driver.save_screenshot(args.screenshot)
    except StopIteration:
        pass
    finally:
        driver.quit()
    print(json.dumps({"failures": failures, "seen": seen}, ensure_ascii=False))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
