"""/api/v1/docs: Swagger UI from the application itself, working with no internet."""
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.support import API, real_clock_env

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"


def test_the_page_loads_its_assets_from_the_app(client):
    page = client.get(f"{API}/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "//" not in re.sub(r"<script>.*?</script>", "", html, flags=re.S).replace("<!doctype", "")
    links = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert len(links) == 3 and all(link.startswith(f"{API}/docs/assets/") for link in links)
    for link in links:
        asset = client.get(link)
        assert asset.status_code == 200 and len(asset.data) > 0, link
        asset.close()
    assert '"url": "/api/v1/openapi.json"' in html
    assert '"validatorUrl": null' in html  # no badge asking validator.swagger.io
    assert client.get(f"{API}/docs/assets/../../../api/config.py").status_code == 404


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is not installed")
def test_the_operation_list_renders_with_the_network_blocked(live_server):
    from playwright.sync_api import sync_playwright

    blocked = []

    def only_this_machine(route):
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, env=real_clock_env(),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.route("**/*", only_this_machine)
            page.goto(f"{live_server}{API}/docs")
            page.wait_for_selector(".opblock", timeout=20_000)
            assert page.locator(".opblock").count() >= 78
            checkin = page.locator(".opblock-post", has=page.locator(".opblock-summary-path",
                                                                       has_text=re.compile(r"^/api/v1/checkins$")))
            assert checkin.count() == 1 and checkin.first.is_visible()
            assert "Check in or out by the code scanned at the door" in checkin.first.inner_text()
            assert page.locator(".info .title").first.inner_text().startswith("Linli 邻里")
            SCREENSHOTS.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "api-docs.png"))
            checkin.first.locator(".opblock-summary").first.click()
            page.wait_for_selector(".opblock.is-open .responses-table", timeout=10_000)
            assert "CODE_EXPIRED" in page.locator(".opblock.is-open").first.inner_text()
            page.locator(".opblock.is-open .response[data-code='409']").first.scroll_into_view_if_needed()
            page.screenshot(path=str(SCREENSHOTS / "api-docs-checkin.png"))
        finally:
            browser.close()
    assert blocked == []  # nothing asked of a CDN, nor of anyone else
