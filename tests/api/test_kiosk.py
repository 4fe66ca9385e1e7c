"""Kiosk links and the door screen: contract, and the page in a real browser."""
import base64
import io
import logging
import os
import re

import pytest

from core import clock
from tests.activity_support import frozen, make_activity, register  # noqa: F401
from tests.support import API, assert_error, change_settings, real_clock_env

CHROMIUM = "/usr/bin/chromium"


def new_link(client, staff, activity_id):
    response = client.post(f"{API}/activities/{activity_id}/kiosk-links", headers=staff.headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def kiosk_state(client, token):
    """What the door screen's script fetches: the token in a header, never in the URL."""
    return client.get("/kiosk/state", headers={"X-Kiosk-Token": token})


def test_kiosk_link_lifecycle(client, actors, frozen):
    tree = actors.tree()
    staff = actors.staff(tree["room_a"], "worker")
    activity = make_activity(client, staff, tree["room_a"], frozen.current)
    link = new_link(client, staff, activity["id"])
    assert len(link["token"]) >= 43  # 256 random bits, base64url
    # The token is the URL's fragment, which a browser never sends to the server.
    assert link["url"].endswith(f"/kiosk#{link['token']}")
    page = client.get("/kiosk")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"
    script = re.search(r'<script src="([^"]+)"', page.get_data(as_text=True)).group(1)
    assert "X-Kiosk-Token" in client.get(script).get_data(as_text=True)
    state = kiosk_state(client, link["token"]).get_json()
    assert state["title"] == activity["title"] and state["qr"].startswith("data:image/png;base64,")
    assert state["attendance"]["checked_in"] == 0
    assert_error(client.get("/kiosk/state"), 404, "NOT_FOUND")
    assert_error(kiosk_state(client, "not-a-token"), 404, "NOT_FOUND")
    url = f"{API}/activities/{activity['id']}/kiosk-links"
    assert_error(client.post(url), 401, "UNAUTHENTICATED")
    assert_error(client.post(url, headers=actors.resident().headers), 403, "FORBIDDEN")
    assert_error(client.delete(f"{url}/{link['id']}", headers=actors.staff(tree["room_b"]).headers),
                 403, "FORBIDDEN")
    assert_error(client.delete(f"{url}/99999", headers=staff.headers), 404, "NOT_FOUND")
    revoked = client.delete(f"{url}/{link['id']}", headers=staff.headers)
    assert revoked.status_code == 200 and revoked.get_json()["revoked_at"]
    assert_error(kiosk_state(client, link["token"]), 404, "NOT_FOUND")


def test_the_old_link_with_the_token_in_the_path_opens_nothing(client, actors, frozen):
    """/kiosk/<token> put the token in every access log; such a link now only says to get a new one."""
    tree = actors.tree()
    staff = actors.staff(tree["room_a"], "worker")
    activity = make_activity(client, staff, tree["room_a"], frozen.current)
    token = new_link(client, staff, activity["id"])["token"]
    old = client.get(f"/kiosk/{token}")
    assert old.status_code == 404 and old.mimetype == "text/html"
    assert activity["title"] not in old.get_data(as_text=True) and "重新" in old.get_data(as_text=True)
    assert client.get(f"/kiosk/{token}/state").status_code == 404
    assert kiosk_state(client, token).status_code == 200  # the link itself is not revoked by this


def _decode_qr(png: bytes) -> str:
    import zxingcpp
    from PIL import Image

    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(results) == 1, results
    return results[0].text


def shown_code(page) -> tuple[str, str]:
    """(data-code, decoded screenshot) once both agree. The code rotates every
    2 s here, so a capture may straddle a swap; then look again."""
    qr = page.locator("#qr")
    seen = []
    for _ in range(10):
        before = qr.get_attribute("data-code")
        decoded = _decode_qr(qr.screenshot())
        if decoded == before == qr.get_attribute("data-code"):
            return before, decoded
        seen.append((before, decoded))
        page.wait_for_timeout(150)
    raise AssertionError(f"the image never showed its data-code: {seen}")


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is not installed")
def test_door_screen_rotates_the_code_in_place(app, client, actors, live_server, monkeypatch, caplog):
    from playwright.sync_api import sync_playwright

    change_settings(app, monkeypatch, code_period_seconds=2)
    tree = actors.tree()
    staff = actors.staff(tree["room_a"], "worker")
    # The real clock, running: the screen must see codes rotate. The activity
    # starts in 10 minutes, so check-in is open for the whole test.
    activity = make_activity(client, staff, tree["room_a"], clock.now())
    residents = [actors.resident() for _ in range(2)]
    for person in residents:
        register(client, person, activity["id"])
    link = new_link(client, staff, activity["id"])
    token = link["token"]
    caplog.set_level(logging.INFO, logger="werkzeug")  # the live server's access log

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, env=real_clock_env(),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 1024, "height": 768})
            page.goto(link["url"].replace("http://localhost", live_server))
            page.wait_for_function(f"document.getElementById('title').textContent === {activity['title']!r}",
                                   timeout=15_000)
            page.evaluate("window.__sameDocument = true")  # gone if the page reloads
            first_code, _ = shown_code(page)
            page.wait_for_function(
                f"document.getElementById('qr').dataset.code !== {first_code!r}", timeout=15_000)
            second_code, decoded = shown_code(page)
            assert second_code != first_code
            assert int(page.locator("#qr").get_attribute("data-version")) >= 1  # swapped by the script
            assert page.evaluate("window.__sameDocument") is True

            scanned = client.post(f"{API}/checkins", json={"code": decoded}, headers=residents[0].headers)
            assert scanned.status_code == 200 and scanned.get_json()["first"] is True
            page.wait_for_function("document.getElementById('checked-in').textContent === '1'",
                                   timeout=15_000)
            assert page.locator("#registered").inner_text() == "2"

            revoked = client.delete(f"{API}/activities/{activity['id']}/kiosk-links/{link['id']}",
                                    headers=staff.headers)
            assert revoked.status_code == 200
            page.wait_for_function("document.getElementById('status').textContent.includes('撤销')",
                                   timeout=15_000)
        finally:
            browser.close()

    access_log = [record.getMessage() for record in caplog.records if record.name == "werkzeug"]
    assert any('"GET /kiosk HTTP' in line for line in access_log)
    assert any('"GET /kiosk/state HTTP' in line for line in access_log)
    assert not [line for line in access_log if token in line]


def test_door_qrs_carry_a_link_when_configured(app, client, actors, monkeypatch, frozen):
    tree = actors.tree()
    staff = actors.staff(tree["room_a"], "worker")
    activity = make_activity(client, staff, tree["room_a"], frozen.current)
    resident = actors.resident()
    register(client, resident, activity["id"])
    bare = client.get(f"{API}/activities/{activity['id']}/checkin-code", headers=staff.headers).get_json()
    assert bare["link"] is None
    assert _decode_qr(client.get(f"{API}/activities/{activity['id']}/checkin-code.png",
                                 headers=staff.headers).data) == bare["code"]
    change_settings(app, monkeypatch, checkin_link_base="https://linli.example.cn/c/")
    issued = client.get(f"{API}/activities/{activity['id']}/checkin-code", headers=staff.headers).get_json()
    assert issued["link"] == "https://linli.example.cn/c/" + issued["code"]
    scanned = _decode_qr(client.get(f"{API}/activities/{activity['id']}/checkin-code.png",
                                    headers=staff.headers).data)
    assert scanned == issued["link"]
    link = client.post(f"{API}/activities/{activity['id']}/kiosk-links", headers=staff.headers).get_json()
    state = kiosk_state(client, link["token"]).get_json()
    assert state["link"] == "https://linli.example.cn/c/" + state["code"]
    assert _decode_qr(base64.b64decode(state["qr"].split(",", 1)[1])) == state["link"]
    # What the mini-program posts: the link as scanned (WeChat hands it over whole).
    response = client.post(f"{API}/checkins", json={"code": scanned + "?from=door"}, headers=resident.headers)
    assert response.status_code == 200 and response.get_json()["first"] is True
    assert_error(client.post(f"{API}/checkins", json={"code": "https://linli.example.cn/c/forged"},
                             headers=resident.headers), 400, "CODE_INVALID")
    # Another camera lands on a page that says to use WeChat.
    page = client.get("/c/" + issued["code"])
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "微信" in page.get_data(as_text=True)
