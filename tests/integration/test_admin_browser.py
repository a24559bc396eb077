"""The push browser in a real browser: Debian's Chromium, headless, driven by chromedriver with
python3-selenium. The operators' Basic credentials go with every request of the page (Chromium's
DevTools protocol sets the header). It lists the pushed candidates, filters to rejected, opens
one, replays it after a setting changed so that it is now accepted, sees its outcome change and
reloads on the deep link; opens a push whose documents were archived (links on a local HTTPS
server), sees its attachments and downloads one through its link with the page's own fetch (the
bytes' SHA-256 checked); the console stays free of errors (the CSP refusing anything counts).
Screenshots of the list and of a push page (laptop and phone sizes) go to the test run's output folder (EB_TEST_OUTPUT,
else build/test-output/), which the test prints."""
import os
import shutil
import time
from pathlib import Path

import pytest

import helpers
from admin_helpers import PASSWORD, USER, auth
from conftest import Server, free_port

NAME = "张伟"
WAIT = 15.0


def output_dir():
    base = os.environ.get("EB_TEST_OUTPUT") or str(helpers.REPO / "build" / "test-output")
    d = Path(base) / time.strftime("admin-browser-%Y%m%dT%H%M%S")
    d.mkdir(parents=True, exist_ok=True)
    return d


def browser():
    """A headless Chromium; FAILS when the packages are missing (tools/deps.sh test)."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail("python3-selenium is not installed (tools/deps.sh test installs it)")
    for f in ("/usr/bin/chromium", "/usr/bin/chromedriver"):
        if not shutil.which(f):
            pytest.fail(f"{f} is missing (tools/deps.sh test installs chromium chromium-driver)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1280,900", "--lang=zh-CN"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    d.execute_cdp_cmd("Network.enable", {})
    d.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {"Authorization": auth()}})
    return d


def wait_for(what, fn):
    deadline = time.monotonic() + WAIT
    last = None
    while time.monotonic() < deadline:
        try:
            v = fn()
            if v:
                return v
        except Exception as e:  # the page is still changing under us
            last = e
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def start(workdir, pw, db_url=None, extra=()):
    port = free_port()
    s = Server(workdir)
    s.args = ["serve", "--listen", f"127.0.0.1:{s.port}", "--db", db_url or s.db_url,
              "--admin-listen", f"127.0.0.1:{port}", "--admin-user", USER,
              "--admin-password-file", str(pw), *extra]
    return s.start(), f"http://127.0.0.1:{port}"


def push(server, push_id, app, birth_year=None, **data):
    xml = helpers.minimal_push_xml(push_id, app, data_fields=helpers.minimal_data(app, **data))
    if birth_year:  # a value that does not read: stored, with a warning
        xml = xml.replace("<birthYear>1992</birthYear>", f"<birthYear>{birth_year}</birthYear>")
    r, ret, _ = helpers.push(server, xml)
    assert r.status == 200, r
    return ret


def rows(d):
    from selenium.webdriver.common.by import By
    return [(tr.get_attribute("data-push-id"), tr.text)
            for tr in d.find_elements(By.CSS_SELECTOR, "#pushes tbody tr")]


def test_push_browser_in_chromium(tmp_path, capsys):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select
    out = output_dir()
    with capsys.disabled():
        print(f"\nadmin browser screenshots: {out}")
    pw = tmp_path / "pw"
    pw.write_text(PASSWORD)
    # staged: two stored candidates, and one that --max-age refuses (triggeredAt from 2017)
    s, _ = start(tmp_path / "a", pw)
    db_url = s.args[s.args.index("--db") + 1]
    try:
        assert push(s, "br-1", 8001, name=NAME) == "true"
        assert push(s, "br-2", 8002, name="李娜", birth_year="19x2") == "true"
    finally:
        assert s.stop() == 0
    s, _ = start(tmp_path / "b", pw, db_url, ["--max-age", "60"])
    try:
        assert push(s, "br-late", 8003, name="王芳") == "false"
    finally:
        assert s.stop() == 0
    # the setting changed: the server now runs without --max-age (and fetches from a local
    # HTTPS server with its own CA)
    from test_archive import FileServer, content, make_certs, minimal, post as post_json
    certs = make_certs(tmp_path / "certs")
    files = FileServer(certs)
    s, url = start(tmp_path / "c", pw, db_url,
                   ["--fetch-allow", f"https://localhost:{files.port}", "--fetch-ca",
                    str(certs[0])])
    d = browser()
    try:
        d.get(url + "/")
        wait_for("three pushes listed", lambda: len(rows(d)) == 3)
        listed = rows(d)
        assert [r[0] for r in listed] == ["br-late", "br-2", "br-1"]
        assert NAME in listed[2][1] and "rejected" in listed[0][1]
        assert not d.find_element(By.ID, "more").is_displayed()  # one page holds them all
        wait_for("the chart", lambda: d.find_elements(By.CSS_SELECTOR, "#chart svg rect"))
        assert d.find_elements(By.CSS_SELECTOR, "#chart rect.bar-rejected")
        d.save_screenshot(str(out / "list.png"))

        Select(d.find_element(By.ID, "outcome")).select_by_value("rejected")
        wait_for("only the rejected push", lambda: [r[0] for r in rows(d)] == ["br-late"])
        assert "outcome=rejected" in d.current_url
        d.find_element(By.CSS_SELECTOR, "#pushes tbody tr").click()
        wait_for("the push page", lambda: "br-late" in d.find_element(By.ID, "push-title").text)
        assert d.current_url.endswith("#/push/br-late")
        assert "rejected" in d.find_element(By.ID, "push-title").text
        assert "--max-age" in d.find_element(By.ID, "envelope").text
        assert "王芳" in d.find_element(By.ID, "candidate").text  # Chinese text intact

        d.find_element(By.ID, "replay").click()
        d.find_element(By.ID, "replay-yes").click()  # the confirmation
        result = wait_for("the replay's result", lambda: (
            lambda t: t if t.startswith("Replayed") else None)(
                d.find_element(By.ID, "replay-result").text))
        assert "stored" in result
        wait_for("the new outcome", lambda: "stored" in d.find_element(By.ID, "push-title").text)
        d.save_screenshot(str(out / "push.png"))

        d.refresh()  # the deep link survives a reload
        wait_for("the push page after reload",
                 lambda: "br-late" in d.find_element(By.ID, "push-title").text)
        assert "stored" in d.find_element(By.ID, "push-title").text
        assert "王芳" in d.find_element(By.ID, "candidate").text
        d.find_element(By.CSS_SELECTOR, "#payload-box summary").click()
        assert "<pushCandidate" in d.find_element(By.ID, "payload").text

        d.get(url + "/#/push/br-2")  # a push stored with a warning shows it
        wait_for("the warnings", lambda: d.find_element(By.ID, "warnings-box").is_displayed())
        assert "data.birthYear" in d.find_element(By.ID, "warnings").text
        assert "19x2" in d.find_element(By.ID, "warnings").text
        assert not d.find_element(By.ID, "replaced").is_displayed()

        d.get(url + "/#/?q=" + "张")  # a search by the start of a name
        wait_for("the name search", lambda: [r[0] for r in rows(d)] == ["br-1"])

        d.set_window_size(390, 844)  # a phone: one column, no table header
        d.get(url + "/#/push/br-1")
        wait_for("the push page on a phone",
                 lambda: "br-1" in d.find_element(By.ID, "push-title").text)
        d.save_screenshot(str(out / "phone-push.png"))
        d.get(url + "/")
        wait_for("the list on a phone", lambda: len(rows(d)) == 3)
        assert not d.find_element(By.CSS_SELECTOR, "#pushes thead").is_displayed()
        d.save_screenshot(str(out / "phone-list.png"))

        # a push with archived documents: its attachments section and a download link
        post_json(s, minimal("br-docs", 8004, resumeUrl=files.url("/files/resume-8004.doc"),
                             portraitUrl=files.url("/files/portrait-8004.jpg", host="127.0.0.1")))
        d.set_window_size(1280, 900)
        d.get(url + "/#/push/br-docs")

        def docs():
            d.refresh()  # the fetch happens after the answer: reload until it is recorded
            wait_for("the push page", lambda: "br-docs" in d.find_element(By.ID, "push-title").text)
            links = d.find_elements(By.CSS_SELECTOR, "#attachment-list a.download")
            table = d.find_element(By.ID, "attachment-list")
            return links if links and "refused" in table.text else None
        links = wait_for("a download link", docs)
        table = d.find_element(By.ID, "attachment-list")
        assert table.is_displayed() and "data.resumeUrl" in table.text
        assert "stored" in table.text and "refused" in table.text and "data.portraitUrl" in table.text
        assert len(links) == 1 and links[0].text == "cv-resume.doc"
        href = links[0].get_attribute("href")
        assert "/api/attachments/" in href
        got = d.execute_async_script("""
            const done = arguments[arguments.length - 1];
            fetch(arguments[0], {credentials: 'same-origin'}).then(async (r) => {
              const sum = await crypto.subtle.digest('SHA-256', await r.arrayBuffer());
              done({status: r.status, disposition: r.headers.get('Content-Disposition'),
                    sha256: Array.from(new Uint8Array(sum))
                      .map((b) => b.toString(16).padStart(2, '0')).join('')});
            }).catch((e) => done({error: String(e)}));""", href)
        import hashlib
        want = hashlib.sha256(content("resume-8004.doc")).hexdigest()
        assert got.get("status") == 200 and got["sha256"] == want, got
        assert got["disposition"].startswith('attachment; filename="cv-resume.doc"'), got
        assert want in table.text
        d.execute_script("document.getElementById('attachments-box').scrollIntoView()")
        d.save_screenshot(str(out / "attachments.png"))

        errors = [e for e in d.get_log("browser") if e["level"] == "SEVERE"]
        assert not errors, errors
    finally:
        d.quit()
        files.close()
        assert s.stop() == 0
    assert (out / "list.png").stat().st_size > 1000 and (out / "push.png").stat().st_size > 1000
    assert (out / "attachments.png").stat().st_size > 1000
