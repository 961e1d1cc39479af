#!/usr/bin/env python3
"""The web console end to end in headless Chromium: sign-up and second-factor enrolment, sign-in
from a new browser, add-on consent, a message and its delivery, what the add-on received,
withdrawal with erasure, the operator's audit and ledger verification, the console's security
headers, cookies, CSRF refusal and account isolation; then the pages not on that path (numbers,
API keys, usage, deletion, a page that does not exist), the keyboard alone (the skip link and a
form), and a phone's 390 px width, where no page may be wider than the screen. Every page is
checked by axe-core.

Usage: console_flow.py --base http://127.0.0.1:PORT --operator-token TOKEN [--screenshots DIR]

Exits 0 when every check passes; otherwise prints which check failed, on which page, and exits 1
(2 when Chromium, chromedriver or selenium is missing).
"""

import argparse
import base64
import csv
import hashlib
import hmac
import io
import os
import re
import struct
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PASSWORD = "plum-harbor-violet-42"
RECIPIENT = "+37255512345"
POLL_SECONDS = 30
# A phone's viewport in CSS pixels (an iPhone 12 to 15's), for the narrow-screen pass.
PHONE_WIDTH, PHONE_HEIGHT = 390, 844
SETUP_HINT = "scripts/setup --tests installs Chromium, chromedriver, selenium and axe-selenium-python"

try:
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait
    from axe_selenium_python import Axe
except ImportError as missing:
    print(f"console_flow: selenium is missing ({missing}): {SETUP_HINT}", file=sys.stderr)
    sys.exit(2)


class CheckFailed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise CheckFailed(message)


# MARK: TOTP (RFC 6238 over RFC 4226), as an authenticator app computes it


def totp_step(now=None):
    return int((time.time() if now is None else now) // 30)


def totp(secret, step):
    cleaned = secret.replace(" ", "").upper()
    key = base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


class Authenticator:
    """One account's authenticator app. The server takes each 30-second step's code once, so a
    second sign-in within the same step waits for the next one."""

    def __init__(self, secret):
        self.secret = secret
        self.last_step = None

    def code(self):
        while self.last_step is not None and totp_step() <= self.last_step:
            time.sleep(0.5)
        step = totp_step()
        # A code read in the last second of its step may reach the server in the next one; the
        # server allows that, but waiting keeps the step this script records exact.
        if 30 - time.time() % 30 < 1.5:
            time.sleep(2)
            step = totp_step()
        self.last_step = step
        return totp(self.secret, step)


# MARK: The browser


class Browser:
    """One headless Chromium: a fresh profile, so no cookie from another browser."""

    def __init__(self, flow, label):
        self.flow = flow
        self.label = label
        options = Options()
        options.binary_location = CHROMIUM
        for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900"):
            options.add_argument(argument)
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        self.driver.set_page_load_timeout(30)

    def quit(self):
        try:
            self.driver.quit()
        except WebDriverException:
            pass

    # Navigation and reading

    def open(self, path):
        self.driver.get(self.flow.base + path)

    @property
    def path(self):
        return urllib.parse.urlsplit(self.driver.current_url).path

    def heading(self):
        found = self.driver.find_elements(By.TAG_NAME, "h1")
        return found[0].text.strip() if found else ""

    def errors(self):
        return [item.text.strip() for item in self.driver.find_elements(By.CSS_SELECTOR, ".errors li, .errors p")]

    def one(self, css):
        found = self.driver.find_elements(By.CSS_SELECTOR, css)
        check(found, f"no element `{css}` on {self.path} (page \"{self.heading()}\")")
        return found[0]

    def all(self, css):
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def expect_path(self, expected, what):
        matches = self.path == expected if isinstance(expected, str) else expected(self.path)
        check(
            matches,
            f"{what}: expected {expected if isinstance(expected, str) else 'another page'}, "
            f"the browser is on {self.path} (page \"{self.heading()}\", errors {self.errors()})",
        )

    def expect_heading(self, expected, what):
        shown = self.heading()
        check(shown == expected, f"{what}: expected the page \"{expected}\", got \"{shown}\" on {self.path}")

    def fill(self, form_css, values):
        form = self.one(form_css)
        for name, value in values.items():
            fields = form.find_elements(By.CSS_SELECTOR, f"[name='{name}']")
            check(fields, f"the form `{form_css}` on {self.path} has no field `{name}`")
            fields[0].clear()
            fields[0].send_keys(value)
        return form

    def submit(self, form_css, values=None):
        self.fill(form_css, values or {})
        self.follow(f"{form_css} button[type='submit']")

    def follow(self, css):
        """Clicks the link or button `css` and waits for the page it leads to."""
        self.navigate(lambda: self.one(css).click())

    def navigate(self, action):
        """Runs `action` (a click, a key press) and waits for the page it leads to."""
        page = self.driver.find_element(By.TAG_NAME, "html")
        action()

        # The click only starts the navigation: wait until the old page is gone and the new one
        # loaded, or a check on a loaded machine reads the old page's address. Chromedriver may
        # report the old page's element as "not belonging to the document" (an unknown error)
        # rather than as stale, so any refusal to touch it means the page is gone.
        def gone(_driver):
            try:
                page.is_enabled()
                return False
            except WebDriverException:
                return True

        WebDriverWait(self.driver, 20).until(gone)
        WebDriverWait(self.driver, 20).until(
            lambda driver: driver.execute_script("return document.readyState") == "complete")

    def poll(self, what, condition, seconds=POLL_SECONDS):
        """Reloads the page until `condition` holds, as someone waiting on it would."""
        deadline = time.time() + seconds
        while True:
            if condition():
                return
            if time.time() > deadline:
                raise CheckFailed(f"{what}: not seen within {seconds} s on {self.path}")
            time.sleep(1)
            self.driver.refresh()

    def screenshot(self, page, down_to=None):
        """Keeps a picture of the page when asked to, and checks its accessibility either way."""
        self.keep_picture(page, down_to)
        self.check_accessibility(page)

    def keep_picture(self, page, down_to=None):
        """Saves console-<page>.png when screenshots were asked for: the viewport, or with `down_to`
        (a CSS selector) the page's full width from the top down to that element's bottom edge."""
        if not self.flow.screenshots:
            return
        path = os.path.join(self.flow.screenshots, f"console-{page}.png")
        if down_to is None:
            self.driver.save_screenshot(path)
            return
        width, bottom = self.driver.execute_script(
            "const box = arguments[0].getBoundingClientRect();"
            "return [window.innerWidth, Math.ceil(box.bottom + window.scrollY) + 16];",
            self.one(down_to))
        shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": bottom, "scale": 1}})
        with open(path, "wb") as file:
            file.write(base64.b64decode(shot["data"]))

    # The keyboard

    def press(self, *keys):
        """Types into whatever has the focus, as a keyboard does."""
        ActionChains(self.driver).send_keys(*keys).perform()

    def focused(self):
        return self.driver.switch_to.active_element

    def describe(self, element):
        return self.driver.execute_script(
            "const e = arguments[0]; return e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')"
            " + (e.className ? '.' + String(e.className).split(' ').join('.') : '')"
            " + (e.getAttribute('href') ? `[href=${e.getAttribute('href')}]` : '');", element)

    # A phone's screen

    def emulate_phone(self):
        """Chromium's device emulation (what DevTools' device toolbar does): a 390 x 844 CSS px
        mobile viewport, where the page's `<meta name=viewport>` applies."""
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": PHONE_WIDTH, "height": PHONE_HEIGHT, "deviceScaleFactor": 1, "mobile": True})

    def stop_emulating(self):
        try:
            self.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        except WebDriverException:
            pass  # a browser that is gone has nothing to undo; what ended it is reported instead

    def overflow(self):
        """The screen's width, the document's, and (when the document is wider) the outermost
        elements that stick out past the screen and are not inside a box meant to scroll sideways
        (`.scroll`, `pre`: `overflow-x: auto` in the stylesheet).

        The screen is the layout viewport, `document.documentElement.clientWidth`: on a mobile
        viewport `window.innerWidth` grows to fit a page that is too wide (Chromium zooms out), so
        it would hide exactly the overflow looked for."""
        return self.driver.execute_script("""
            const screen = document.documentElement.clientWidth;
            const limit = screen + 1;
            const width = document.documentElement.scrollWidth;
            const culprits = [];
            if (width > limit) {
                for (const e of document.body.querySelectorAll('*')) {
                    if (e.parentElement && e.parentElement.closest('.scroll, pre')) continue;
                    const right = e.getBoundingClientRect().right + window.scrollX;
                    const parent = e.parentElement.getBoundingClientRect().right + window.scrollX;
                    if (right > limit && (parent <= limit || e.parentElement === document.body)) {
                        const name = e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                            + (e.className ? '.' + String(e.className).split(' ').join('.') : '');
                        culprits.push([Math.round(right), name + ' "' + e.textContent.trim().slice(0, 40) + '"']);
                    }
                }
            }
            return [screen, width, culprits.slice(0, 4).map(c => c[1] + ' to x=' + c[0])];
        """)

    def check_accessibility(self, page):
        """Runs axe-core (WCAG 2 A and AA rules) on the page; a serious or critical violation fails
        the flow. The flow goes on to its end first, so one run lists every page's violations.

        WebDriver's scripts run outside the page's Content-Security-Policy, so axe can be injected
        into a console that allows no script of its own."""
        axe = Axe(self.driver)
        axe.inject()
        results = axe.run(options={"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa"]}})
        serious = [v for v in results["violations"] if v.get("impact") in ("serious", "critical")]
        self.flow.accessibility_checked.append(page)
        engine = self.driver.execute_script("return axe.version")
        for violation in serious:
            found = violation["nodes"]
            if not found:
                continue
            nodes = "; ".join(
                f"{node['target']} {node['html'][:160]!r}: {' '.join(node.get('failureSummary', '').split())}"
                for node in found[:2])
            self.flow.accessibility_failures.append(
                f"{page} ({self.path}): {violation['id']} ({violation['impact']}): {violation['help']}; {nodes}")

    # Cookies for requests made outside the browser

    def cookie(self, name):
        return next((cookie for cookie in self.driver.get_cookies() if cookie["name"] == name), None)

    def cookie_header(self):
        return "; ".join(f"{cookie['name']}={cookie['value']}" for cookie in self.driver.get_cookies())


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch(url, cookies, data=None):
    """A request outside the browser with its cookies; returns (status, headers, body) without
    following redirects, so a refusal is seen as the server sent it."""
    request = urllib.request.Request(url, data=data, headers={"Cookie": cookies})
    if data is not None:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    opener = urllib.request.build_opener(NoRedirects)
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.headers, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode("utf-8", "replace")


# MARK: The flow


class Flow:
    def __init__(self, base, operator_token, screenshots):
        self.base = base.rstrip("/")
        self.operator_token = operator_token
        self.screenshots = screenshots
        self.accessibility_checked = []
        self.accessibility_failures = []
        self.accessibility_notes = []
        self.browsers = []
        self.step = ""
        self.email = f"browser-{uuid.uuid4().hex[:12]}@example.com"
        self.authenticator = None
        self.account_id = None
        self.message_id = None
        self.receipt_id = None
        self.admin = None

    def browser(self, label):
        browser = Browser(self, label)
        self.browsers.append(browser)
        return browser

    def run(self):
        steps = [
            ("a. sign-up and second-factor enrolment", self.sign_up),
            ("b. sign-in from a new browser asks the second factor", self.sign_in_elsewhere),
            ("c. consent to the Reporting add-on", self.grant_reporting),
            ("d. send a message and see it delivered", self.send_message),
            ("e. what the add-on received", self.see_shares),
            ("f. withdraw with erasure", self.withdraw_and_erase),
            ("g. the operator's audit, CSV and ledger verification", self.operator),
            ("h. security headers, cookies, CSRF and isolation", self.security),
            ("i. numbers, API keys, usage, deletion and a page that does not exist", self.other_pages),
            ("j. the keyboard alone: the skip link and a form", self.keyboard),
            (f"k. at a phone's width ({PHONE_WIDTH} px) no page is wider than the screen", self.phone),
        ]
        for name, body in steps:
            self.step = name
            started = time.time()
            found = len(self.accessibility_failures)
            body()
            found = len(self.accessibility_failures) - found
            axe = f"; axe-core: {found} serious or critical violations, listed at the end" if found else ""
            print(f"ok   {name} ({time.time() - started:.1f} s{axe})", flush=True)
        for note in self.accessibility_notes:
            print(f"note {note}", flush=True)
        self.step = "axe-core's serious and critical violations"
        check(not self.accessibility_failures, "\n     ".join(["", *self.accessibility_failures]))

    # a

    def sign_up(self):
        first = self.browser("first")
        self.first = first
        self.authenticator = self.enrol_new_account(first, "Grace Hopper", self.email, screenshots=True)
        first.one("#recovery-codes")
        first.follow("a.button")
        first.expect_path("/console/messages", "Continue after the recovery codes")
        first.expect_heading("Messages", "Continue after the recovery codes")

    def enrol_new_account(self, browser, name, email, screenshots):
        """Signs up and turns on the authenticator app; leaves the browser on the recovery codes."""
        browser.open("/console/sign-up")
        browser.expect_heading("Create your account", "the sign-up page")
        browser.fill("form[action='/console/sign-up']", {"name": name, "email": email, "password": PASSWORD})
        if screenshots:
            browser.screenshot("sign-up")
        browser.follow("form[action='/console/sign-up'] button[type='submit']")
        browser.expect_path("/console/enrol", "after sign-up")
        browser.expect_heading("Set up a second factor", "after sign-up")
        secret = browser.one("#totp-secret").text.strip()
        check(len(secret) >= 16, f"the TOTP key on the enrolment page is too short: {secret!r}")
        if screenshots:
            browser.screenshot("enrol")
        authenticator = Authenticator(secret)
        browser.submit("form[action='/console/enrol/totp']", {"code": authenticator.code()})
        browser.expect_heading("Your recovery codes", "after the TOTP code at enrolment")
        codes = [item.text.strip() for item in browser.all("#recovery-codes li")]
        check(len(codes) == 10, f"expected 10 recovery codes, the page lists {len(codes)}: {codes}")
        check(len(set(codes)) == 10 and all(codes), f"the recovery codes are not 10 distinct codes: {codes}")
        return authenticator

    # b

    def sign_in_elsewhere(self):
        second = self.browser("second")
        self.second = second
        second.open("/console/sign-in")
        second.expect_heading("Sign in", "the sign-in page")
        second.screenshot("sign-in")
        second.submit("form[action='/console/sign-in']", {"email": self.email, "password": PASSWORD})
        second.expect_path("/console/second-factor", "sign-in from a browser without the device cookie")
        second.expect_heading("Confirm it is you", "sign-in from a new browser")
        second.screenshot("second-factor")
        totp_form = "form[action='/console/second-factor']:has(input[name='method'][value='totp'])"
        second.submit(totp_form, {"code": self.authenticator.code()})
        second.expect_path("/console/messages", "after the second factor")
        second.expect_heading("Messages", "after the second factor")

    # c

    def grant_reporting(self):
        browser = self.second
        browser.open("/console/addons")
        browser.expect_heading("Add-ons", "the add-on catalog")
        browser.screenshot("addons")
        browser.follow("a[href='/console/addons/reporting']")
        browser.expect_path("/console/addons/reporting", "the Reporting add-on's link in the catalog")
        form_css = "form[action='/console/addons/reporting/grant']"
        hidden = browser.all(f"{form_css} input[type='hidden'][name='fields']")
        required = {field.get_attribute("value") for field in hidden}
        boxes = browser.all(f"{form_css} input[type='checkbox'][name='fields']")
        offered = [box.get_attribute("value") for box in boxes]
        check(required, "the Reporting add-on's page lists no required field")
        check(len(boxes) >= 2, f"the Reporting add-on offers {len(boxes)} optional fields, the flow grants two")
        ticked = [box.get_attribute("value") for box in boxes if box.is_selected()]
        check(not ticked, f"optional fields are ticked before any consent: {ticked}")
        # Exactly two optional fields are granted; any others stay unticked.
        for box in boxes[:2]:
            box.click()
        ticked = {box.get_attribute("value") for box in boxes if box.is_selected()}
        kept = set(offered[:2])
        check(ticked == kept, f"ticking {sorted(kept)} left {sorted(ticked)} ticked")
        self.granted = required | kept
        print(f"     required fields {sorted(required)}, optional offered {len(boxes)}, kept {sorted(kept)}")
        browser.screenshot("addon", down_to=f"{form_css} button[type='submit']")
        browser.follow(f"{form_css} button[type='submit']")
        browser.expect_path(lambda path: path.startswith("/console/receipts/"), "after granting")
        browser.expect_heading("Consent receipt", "after granting")
        receipt = browser.one("#receipt-id").text.strip()
        check(
            receipt and browser.path.endswith("/" + receipt),
            f"the receipt id {receipt!r} is not the page's {browser.path}",
        )
        self.receipt_id = receipt
        listed = {cell.text.strip() for cell in browser.all("table tbody tr td:first-child code")}
        check(listed == self.granted, f"the receipt lists {sorted(listed)}, granted were {sorted(self.granted)}")
        optional = listed - required
        check(
            optional == kept and len(optional) == 2,
            f"the receipt lists {len(optional)} optional fields {sorted(optional)}, not the two ticked {sorted(kept)}",
        )
        subject = browser.driver.find_elements(By.XPATH, "//dt[contains(., 'data subject')]/following-sibling::dd[1]")
        check(subject and subject[0].text.strip(), "the receipt names no data subject")
        self.account_id = subject[0].text.strip()
        check(
            self.account_id.startswith("acc_"),
            f"the receipt's data subject is not an account id: {self.account_id!r}",
        )
        browser.screenshot("receipt", down_to="main details")

        # The add-on's page now shows the same consent: the same required fields, and exactly the two
        # optional ones ticked.
        browser.open("/console/addons/reporting")
        hidden = browser.all(f"{form_css} input[type='hidden'][name='fields']")
        shown_required = {field.get_attribute("value") for field in hidden}
        check(
            shown_required == required,
            f"after granting the add-on's page requires {sorted(shown_required)}, before {sorted(required)}",
        )
        ticked = browser.all(f"{form_css} input[type='checkbox'][name='fields']:checked")
        shown = {box.get_attribute("value") for box in ticked}
        check(shown == kept, f"after granting the add-on's page ticks {sorted(shown)}, granted were {sorted(kept)}")
        hint = browser.one("main p.hint").text
        check(receipt in hint, f"the add-on's page does not name the receipt {receipt}: {hint!r}")

    # d

    def send_message(self):
        browser = self.second
        browser.open("/console/messages")
        form_css = "form[method='post'][action='/console/messages']"
        browser.submit(form_css, {"to": RECIPIENT, "from": "ACME", "body": "Hello from the console"})
        browser.expect_path(lambda path: path.startswith("/console/messages/msg"), "after sending")
        self.message_id = browser.path.rsplit("/", 1)[-1]
        browser.expect_heading(f"Message {self.message_id}", "after sending")
        dd = browser.driver.find_elements(By.XPATH, "//dt[.='Text']/following-sibling::dd[1]")
        check(dd and dd[0].text.strip() == "Hello from the console", "the message page does not show its text")
        browser.poll(
            f"message {self.message_id} delivered",
            lambda: browser.one("#message-status").text.strip().startswith("delivered"),
        )
        browser.screenshot("message")
        browser.open("/console/messages")
        rows = [row.text for row in browser.all("table tbody tr")]
        check(
            any(self.message_id in row and "delivered" in row for row in rows),
            f"the message list lacks {self.message_id} as delivered: {rows}",
        )
        browser.screenshot("messages", down_to="main table")

    # e

    def see_shares(self):
        browser = self.second
        browser.open("/console/addons/reporting/shares")
        browser.poll("a share on the Reporting add-on's page", lambda: len(browser.all("table tbody tr")) >= 1)
        first = browser.all("table tbody tr")[0].text
        check("message.status" in first, f"the share row is not a message.status event: {first}")
        check("usage.status" in first, f"the share row does not list usage.status: {first}")
        # Each share: its event id and the fields it carried, all of them granted ones.
        self.shares = {}
        for row in browser.all("table tbody tr"):
            cells = [cell.get_attribute("textContent") for cell in row.find_elements(By.TAG_NAME, "td")]
            event = re.search(r"evt_[A-Za-z0-9_-]+", cells[1])
            check(event, f"the share row names no event id: {cells}")
            fields = set(re.findall(r"([a-z]+\.[a-z_]+) \((?:clear|pseudonym)\)", cells[2]))
            check(fields and fields <= self.granted, f"the share of {event.group(0)} carried {fields}, granted {self.granted}")
            self.shares[event.group(0)] = fields
        browser.screenshot("shares")

    # f

    def withdraw_and_erase(self):
        browser = self.second
        browser.open("/console/addons/reporting")
        erase = browser.one("#erase")
        if not erase.is_selected():
            erase.click()
        check(erase.is_selected(), "#erase did not tick")
        browser.follow("form[action='/console/addons/reporting/withdraw'] button[type='submit']")
        browser.expect_path(lambda path: path.startswith("/console/receipts/"), "after withdrawing")
        browser.expect_heading("Withdrawal receipt", "after withdrawing")
        check(not browser.all("table tbody tr"), "the withdrawal receipt still lists granted fields")

        def reporting_done():
            for item in browser.all("section.erasure li"):
                codes = item.find_elements(By.TAG_NAME, "code")
                states = item.find_elements(By.CSS_SELECTOR, ".erasure-state")
                if codes and "reporting" in codes[0].text and states and states[0].text.strip() == "done":
                    return True
            return False

        browser.open("/console/privacy")
        browser.expect_heading("Privacy", "the privacy page")
        browser.poll("the Reporting add-on's erasure answer `done`", reporting_done)
        browser.screenshot("privacy")

    # g

    def operator(self):
        admin = self.browser("operator")
        self.admin = admin
        admin.open("/console/admin/sign-in")
        admin.expect_heading("Operator sign-in", "the operator sign-in page")
        admin.screenshot("admin-sign-in")
        admin.submit("form[action='/console/admin/sign-in']", {"token": self.operator_token})
        admin.expect_path("/console/admin/addons", "after the operator's sign-in")
        admin.expect_heading("Add-ons", "after the operator's sign-in")
        rows = [row.text for row in admin.all("table tbody tr")]
        check(
            any("com.switchboard.reporting" in row for row in rows),
            f"the operator's add-ons page does not list com.switchboard.reporting: {rows}",
        )
        admin.screenshot("admin-addons")

        admin.open("/console/admin/accounts")
        admin.expect_heading("Accounts", "the operator's accounts page")
        rows = [row.text for row in admin.all("table tbody tr")]
        check(
            any(self.account_id in row and self.email in row for row in rows),
            f"the operator's accounts page does not list {self.account_id} ({self.email}): {rows}",
        )
        admin.screenshot("admin-accounts")

        query = urllib.parse.urlencode({"addon": "reporting", "account": self.account_id})
        admin.open(f"/console/admin/audit?{query}")
        admin.expect_heading("Audit", "the audit page")
        rows = [row.text for row in admin.all("table tbody tr")]
        check(rows, f"the audit lists no share for {self.account_id} (errors {admin.errors()})")
        check(all(self.account_id in row for row in rows), f"the audit lists another account's shares: {rows}")
        admin.screenshot("admin-audit", down_to="main table")

        link = admin.one("#download-csv").get_attribute("href")
        status, headers, body = fetch(link, admin.cookie_header())
        check(status == 200, f"the CSV download {link} answered {status}: {body[:300]}")
        kind = headers.get("Content-Type", "")
        check(kind.startswith("text/csv"), f"the CSV download's Content-Type is {kind!r}")
        table = list(csv.reader(io.StringIO(body)))
        check(len(table) >= 2, f"the CSV has no row under its header: {body[:300]}")
        header = table[0]
        check("account_id" in header, f"the CSV header names no account_id column: {header}")
        column = header.index("account_id")
        check(
            any(len(row) > column and row[column] == self.account_id for row in table[1:]),
            f"no CSV row is for {self.account_id}: {body[:300]}",
        )
        # The operator's record of each share the customer saw: the same event, the same fields.
        event_column, fields_column = header.index("event_id"), header.index("fields")
        recorded = {row[event_column]: {pair.split(":")[0] for pair in row[fields_column].split()} for row in table[1:]}
        for event, fields in self.shares.items():
            check(event in recorded, f"the audit CSV has no row for {event}, which the customer saw shared")
            check(recorded[event] == fields, f"the audit CSV lists {recorded[event]} for {event}; the customer saw {fields}")

        admin.open("/console/admin/verify")
        admin.expect_heading("Ledger verification", "the verification page")
        result = admin.one("#verify-result").text.strip()
        check(result.startswith("The ledger verifies"), f"the ledger does not verify: {result}")
        admin.screenshot("admin-verify")

    # h

    def security(self):
        browser = self.second
        cookies = browser.cookie_header()
        status, headers, _ = fetch(self.base + "/console/messages", cookies)
        check(status == 200, f"/console/messages with the browser's cookies answered {status}")
        policy = headers.get("Content-Security-Policy", "")
        check(policy, "/console/messages has no Content-Security-Policy")
        check("unsafe-inline" not in policy, f"the Content-Security-Policy allows inline code: {policy}")

        for name in ("sb_console", "sb_device"):
            cookie = browser.cookie(name)
            check(cookie, f"the browser holds no {name} cookie: {[c['name'] for c in browser.driver.get_cookies()]}")
            check(cookie.get("httpOnly") is True, f"the {name} cookie is not HttpOnly: {cookie}")
            check(cookie.get("sameSite") == "Strict", f"the {name} cookie is not SameSite=Strict: {cookie}")

        browser.open("/console/settings")
        browser.expect_heading("Settings", "the settings page")
        sessions = [row.text for row in browser.all("table tbody tr")]
        check(
            any("(this browser)" in row for row in sessions),
            f"the settings list no session as this browser: {sessions}",
        )
        browser.screenshot("settings")

        form = {"to": RECIPIENT, "from": "ACME", "body": "forged"}
        for token in ("not-the-session-token", None):
            fields = dict(form, csrf=token) if token else form
            status, _, body = fetch(self.base + "/console/messages", cookies, urllib.parse.urlencode(fields).encode())
            check(status == 403, f"a form with {'a wrong' if token else 'no'} CSRF token answered {status}, not 403")
            check("Form expired" in body, "the CSRF refusal page does not say the form expired")

        other = self.browser("other customer")
        email = f"browser-{uuid.uuid4().hex[:12]}@example.com"
        self.enrol_new_account(other, "Katherine Johnson", email, screenshots=False)
        other.follow("a.button")
        other.expect_path("/console/messages", "the second account after enrolment")
        check(
            self.message_id not in other.driver.page_source,
            "the second account's message list shows the first account's message",
        )
        other.open(f"/console/messages/{self.message_id}")
        other.expect_heading("Not found", "the first account's message opened by the second")
        check("Hello from the console" not in other.driver.page_source, "the second account sees the first's text")
        status, _, _ = fetch(f"{self.base}/console/messages/{self.message_id}", other.cookie_header())
        check(status == 404, f"the first account's message answered {status} to the second account, not 404")

    # i

    def other_pages(self):
        browser = self.second
        browser.open("/console/numbers")
        browser.expect_heading("Numbers and opt-outs", "the numbers page")
        browser.screenshot("numbers")

        browser.open("/console/usage")
        browser.expect_heading("Usage", "the usage page")
        counts = [cell.text.strip() for cell in browser.all("table tbody tr td:nth-child(2)")]
        check(
            any(count.isdigit() and int(count) >= 1 for count in counts),
            f"the usage page counts no message on any day: {counts}",
        )
        browser.screenshot("usage")

        browser.open("/console/keys")
        browser.expect_heading("API keys", "the API keys page")
        browser.submit("form[action='/console/keys']", {"name": "billing server"})
        browser.expect_path("/console/keys", "after creating an API key")
        secret = browser.one("#new-key").text.strip()
        check(len(secret) >= 16, f"the new API key's secret is not shown: {secret!r}")
        rows = [row.text for row in browser.all("table tbody tr")]
        check(any("billing server" in row for row in rows), f"the keys page does not list the new key: {rows}")
        browser.screenshot("keys")
        browser.driver.refresh()
        WebDriverWait(browser.driver, 20).until(
            lambda driver: driver.execute_script("return document.readyState") == "complete")
        check(secret not in browser.driver.page_source, "the API key's secret is shown again on reload")

        browser.open("/console/delete")
        browser.expect_heading("Delete your account", "the deletion page")
        browser.one("form[action='/console/delete']")
        browser.screenshot("delete")

        path = f"/console/no-such-page-{uuid.uuid4().hex[:8]}"
        status, _, _ = fetch(self.base + path, browser.cookie_header())
        check(status == 404, f"{path} answered {status}, not 404")
        browser.open(path)
        browser.expect_heading("Page not found", f"the page {path}")
        browser.screenshot("not-found")

    # j

    def keyboard(self):
        browser = self.second
        browser.open("/console/messages")
        browser.press(Keys.TAB)
        skip = browser.focused()
        check(
            "skip" in (skip.get_attribute("class") or "").split() and skip.get_attribute("href").endswith("#main"),
            f"the first Tab on /console/messages focuses {browser.describe(skip)}, not the skip link",
        )
        left, visible = browser.driver.execute_script(
            "const box = arguments[0].getBoundingClientRect(); return [box.left, box.right > 0 && box.width > 0];",
            skip)
        check(visible and left >= 0, f"the focused skip link is off the screen (left {left})")
        browser.press(Keys.ENTER)
        WebDriverWait(browser.driver, 20).until(
            lambda driver: driver.execute_script("return location.hash") == "#main")
        # Past the skip link, the next Tab lands in the content: the first field of the send form.
        browser.press(Keys.TAB)
        check(
            browser.focused().get_attribute("id") == "to",
            f"Tab after the skip link focuses {browser.describe(browser.focused())}, not the field `to`",
        )
        text = "Typed at the keyboard"
        browser.press(RECIPIENT, Keys.TAB, "ACME", Keys.TAB, text, Keys.TAB)
        send = browser.focused()
        check(
            send.tag_name == "button" and send.text.strip() == "Send",
            f"Tab after the text focuses {browser.describe(send)}, not the Send button",
        )
        browser.navigate(lambda: browser.press(Keys.ENTER))
        browser.expect_path(lambda path: path.startswith("/console/messages/msg"), "after sending with the keyboard")
        dd = browser.driver.find_elements(By.XPATH, "//dt[.='Text']/following-sibling::dd[1]")
        check(dd and dd[0].text.strip() == text, "the message sent with the keyboard does not show its text")
        check(browser.path.rsplit("/", 1)[-1] != self.message_id, "the keyboard's form showed the earlier message")

    # k

    def phone(self):
        pages = [
            (self.second, "messages", "/console/messages"),
            (self.second, "addon", "/console/addons/reporting"),
            (self.second, "receipt", f"/console/receipts/{self.receipt_id}"),
            (self.second, "privacy", "/console/privacy"),
            (self.second, "settings", "/console/settings"),
            (self.admin, "admin-audit",
             "/console/admin/audit?" + urllib.parse.urlencode({"addon": "reporting", "account": self.account_id})),
        ]
        overflowing = []
        for browser in (self.second, self.admin):
            browser.emulate_phone()
        try:
            for browser, name, path in pages:
                browser.open(path)
                check(browser.path == urllib.parse.urlsplit(path).path, f"{path} led to {browser.path}")
                viewport, width, culprits = browser.overflow()
                check(viewport == PHONE_WIDTH, f"the phone's emulated viewport is {viewport} px wide on {path}")
                browser.keep_picture(f"phone-{name}")
                if width > viewport + 1:
                    overflowing.append(f"{path} is {width} px wide ({'; '.join(culprits)})")
        finally:
            for browser in (self.second, self.admin):
                browser.stop_emulating()
        check(not overflowing, f"wider than a {PHONE_WIDTH} px screen: " + " | ".join(overflowing))

    def report_failure(self, error):
        print(f"FAIL {self.step}: {error}", file=sys.stderr)
        if self.accessibility_failures and self.step.startswith("axe-core"):
            return  # every other check passed: where the browsers ended up tells nothing more
        for browser in self.browsers:
            try:
                url = browser.driver.current_url
                text = browser.driver.find_element(By.TAG_NAME, "body").text
            except WebDriverException:
                continue
            print(f"     {browser.label} browser is at {url}:", file=sys.stderr)
            for line in text.splitlines()[:25]:
                print(f"       | {line}", file=sys.stderr)
            if self.screenshots:
                name = f"failed-{browser.label.replace(' ', '-')}.png"
                browser.driver.save_screenshot(os.path.join(self.screenshots, name))

    def close(self):
        for browser in self.browsers:
            browser.quit()


def main():
    parser = argparse.ArgumentParser(description="The Switchboard web console in headless Chromium.")
    parser.add_argument("--base", required=True, help="the daemon's address, http://127.0.0.1:PORT")
    parser.add_argument("--operator-token", required=True)
    parser.add_argument("--screenshots", help="a directory for console-<page>.png screenshots")
    arguments = parser.parse_args()
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            print(f"console_flow: {path} is missing: {SETUP_HINT}", file=sys.stderr)
            return 2
    if arguments.screenshots:
        os.makedirs(arguments.screenshots, exist_ok=True)
    flow = Flow(arguments.base, arguments.operator_token, arguments.screenshots)
    try:
        flow.run()
    except (CheckFailed, WebDriverException) as error:
        flow.report_failure(error)
        return 1
    except (OSError, urllib.error.URLError) as error:
        flow.report_failure(f"the daemon could not be reached: {error!r}")
        return 1
    finally:
        flow.close()
    print(f"accessibility (axe-core, WCAG 2 A/AA) checked on: {', '.join(flow.accessibility_checked)}", flush=True)
    print("the console flow passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
