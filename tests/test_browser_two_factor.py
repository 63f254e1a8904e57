"""Two-factor sign-in in a real browser (Playwright, Debian's chromium), on the demo company:
Priya turns it on from her account page with a code computed from the key the page shows,
signs out, and signs in again with her password and then a code; a wrong code is refused, a
page asked for between the two steps leads back to the code step, and a recovery code works
once. Screenshots go where tests/test_browser.py puts its own."""

from __future__ import annotations

import re
import time
from base64 import b32decode
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django_otp.oath import TOTP

from tests import test_browser
from tests.test_browser import PASSWORD, accessibility_problems, expect, screenshot

# The browser tests' fixtures: one Chromium, the live server with the demo, a signed-out page.
browser = test_browser.browser
artifacts = test_browser.artifacts
demo = test_browser.demo
page = test_browser.page

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


def code_for(secret: str, *, steps_ahead: int = 0) -> str:
    """What an authenticator app that was given `secret` shows now, or that many periods of
    30 seconds later."""
    key = secret.replace(" ", "")
    totp = TOTP(b32decode(key + "=" * (-len(key) % 8)))
    totp.time = time.time() + 30 * steps_ahead
    return f"{totp.token():06d}"


def not_a_code_for(secret: str) -> str:
    """Six digits that no code the server would accept around now matches."""
    near = {code_for(secret, steps_ahead=n) for n in range(-2, 4)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in near)


def password_step(page: Page, username: str = "priya") -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))


def test_two_factor_sign_in_from_set_up_to_recovery_code(page: Page, artifacts: Path):
    test_browser.sign_in(page, "priya")
    page.goto("/account/")
    page.get_by_role("link", name="Set up two-factor sign-in").click()
    page.get_by_role("button", name="Set up two-factor sign-in").click()
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    secret = page.get_by_label("Or type this key into the app").input_value()
    assert re.fullmatch(r"[A-Z2-7 ]{32,}", secret)
    screenshot(page, artifacts, "two-factor-set-up")
    assert accessibility_problems(page) == []

    page.get_by_label("Code from the app").fill(code_for(secret))
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your recovery codes")
    codes = page.locator(".recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    screenshot(page, artifacts, "two-factor-recovery-codes")
    page.get_by_role("link", name="I have kept them").click()
    expect(page.get_by_text("On: signing in with your password")).to_be_visible()
    sign_out(page)

    # The password alone leads to the code step, and nowhere else.
    password_step(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Your code")
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
    screenshot(page, artifacts, "two-factor-code-step")
    assert accessibility_problems(page) == []
    page.goto("/squads/")
    expect(page).to_have_url(re.compile(r"/accounts/code/\?next=%2Fsquads%2F$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your code")

    page.get_by_label("Code", exact=True).fill(not_a_code_for(secret))
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("That code is not right.")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)

    # The code the app shows next (the one used to set up is spent) opens the page asked for.
    page.get_by_label("Code", exact=True).fill(code_for(secret, steps_ahead=1))
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/squads/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Squads")
    expect(page.locator(".whoami")).to_have_text("Priya Shah")
    sign_out(page)

    # A recovery code instead of the app's, once.
    password_step(page)
    page.get_by_label("Code", exact=True).fill(codes[0])
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    sign_out(page)
    password_step(page)
    page.get_by_label("Code", exact=True).fill(codes[0])
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("That code is not right.")).to_be_visible()
    page.goto("/squads/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your code")
