"""The dark theme and the journey map's stage strip, in a real browser (Playwright, Debian's
chromium) on the demo company.

Dark: a browser that prefers a dark colour scheme gets dark pages with light words, the
charts' words readable on them, and paper still printed light; a light one gets the pages as
they always were. The journey map: with more stages than fit, the strip says so and scrolls
by keyboard; each stage's point on the emotion curve sits over its card's centre; the
chart's words stay readable on a phone.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests import test_browser
from tests.test_browser import TIMEOUT_MS, expect, screenshot, sign_in

# The browser tests' fixtures: one Chromium, the live server with the demo.
browser = test_browser.browser
artifacts = test_browser.artifacts
demo = test_browser.demo

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
JOURNEY = "/journeys/lifecycle/"
# Pages whose every colour should follow the scheme, charts included.
THEMED_PAGES = {
    "journey": JOURNEY,
    "board": "/board/",
    "graph": "/board/graph/",
    "timeline": "/timeline/",
    "plan": "/squads/first-90-days/plan/",
    "milestones": "/segments/mid-market/milestones/",
}

# The relative luminance and the contrast ratio of WCAG 2, on colours as the browser
# computes them ("rgb(r, g, b)" or "rgba(r, g, b, a)"); run in the page.
CONTRAST_JS = """
(() => {
  const parse = (text) => {
    const n = (text.match(/[\\d.]+/g) || []).map(Number);
    return {r: n[0], g: n[1], b: n[2], a: n.length > 3 ? n[3] : 1};
  };
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const ratio = (a, b) => {
    const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  };
  // What a text is painted on: the box of a graph node, else the nearest opaque background.
  const backdrop = (el) => {
    const node = el.closest(".g-node");
    const box = node && node.querySelector("rect");
    if (box) return parse(getComputedStyle(box).fill);
    for (let at = el.closest("svg").parentElement; at; at = at.parentElement) {
      const bg = parse(getComputedStyle(at).backgroundColor);
      if (bg.a > 0.5) return bg;
    }
    return {r: 255, g: 255, b: 255, a: 1};
  };
  window.__theme = {parse, lum, ratio, backdrop};
})();
"""


@contextmanager
def browsing(browser: Browser, live_server, *, scheme: str, viewport: dict) -> Iterator[Page]:
    """A page in a fresh context with this colour scheme and window, signed in as the admin;
    on leaving, fails on any JavaScript error the pages raised."""
    context = browser.new_context(
        base_url=live_server.url, viewport=viewport, color_scheme=scheme, locale="en-GB"
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        sign_in(page, "admin")
        yield page
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the pages: {errors}"


def body_colours(page: Page) -> tuple[float, float]:
    """The luminance of the page's background and of its body text."""
    page.evaluate(CONTRAST_JS)
    return page.evaluate(
        """[__theme.lum(__theme.parse(getComputedStyle(document.body).backgroundColor)),
            __theme.lum(__theme.parse(getComputedStyle(document.body).color))]"""
    )


def unreadable_chart_words(page: Page) -> list[str]:
    """Every word drawn in the page's SVG pictures whose contrast with what it is painted
    on is under AA's 4.5:1."""
    page.evaluate(CONTRAST_JS)
    return page.evaluate(
        """Array.from(document.querySelectorAll("main svg text"))
          .filter((t) => t.getClientRects().length && t.textContent.trim())
          .map((t) => [t.textContent.trim().slice(0, 30),
                       __theme.ratio(__theme.parse(getComputedStyle(t).fill), __theme.backdrop(t))])
          .filter(([, r]) => r < 4.5)
          .map(([word, r]) => `${word}: ${r.toFixed(2)}`)"""
    )


def test_a_dark_scheme_gets_dark_pages_with_readable_charts_and_a_light_one_the_usual(
    browser: Browser, live_server, demo, artifacts: Path
):
    with browsing(browser, live_server, scheme="dark", viewport=DESKTOP) as page:
        for name, path in THEMED_PAGES.items():
            page.goto(path)
            background, text = body_colours(page)
            assert background < 0.02 and text > 0.7, (path, background, text)
            # Form controls follow: the browser draws its own parts of them in the scheme.
            assert page.evaluate("getComputedStyle(document.documentElement).colorScheme") == (
                "light dark"
            )
            assert not unreadable_chart_words(page), (path, unreadable_chart_words(page))
            screenshot(page, artifacts, f"dark-{name}")
        # Paper stays light whatever the screen's scheme.
        page.goto("/squads/first-90-days/plan/")
        page.emulate_media(media="print")
        background, text = body_colours(page)
        assert background > 0.95 and text < 0.01, (background, text)

    with browsing(browser, live_server, scheme="light", viewport=DESKTOP) as page:
        for path in THEMED_PAGES.values():
            page.goto(path)
            assert page.evaluate(
                "[getComputedStyle(document.body).backgroundColor,"
                " getComputedStyle(document.body).color]"
            ) == ["rgb(245, 246, 249)", "rgb(28, 35, 51)"], path
            assert not unreadable_chart_words(page), (path, unreadable_chart_words(page))


# --- the journey map's stage strip ----------------------------------------------------------


def a_seventh_stage() -> None:
    from journeys.models import Journey, Stage

    journey = Journey.objects.get(key="lifecycle")
    assert journey.stages.count() == 6
    Stage.objects.create(
        journey=journey,
        key="referral",
        name="Referral",
        position=99,
        customer_goal="Bring a colleague along",
        today="Nothing asks them to",
        tomorrow="An invitation at the right moment",
        emotion_today=1,
        emotion_target=2,
    )


def points_and_cards(page: Page) -> list[tuple[float, float, float]]:
    """For each stage: its card's centre, its today point's and its target point's, across."""
    return page.evaluate(
        """Array.from(document.querySelectorAll(".stage-col")).map((col) => {
             const mid = (el) => {
               const box = el.getBoundingClientRect();
               return box.x + box.width / 2;
             };
             return [mid(col.querySelector("article.stage")),
                     mid(col.querySelector(".dot--today")), mid(col.querySelector(".dot--target"))];
           })"""
    )


def curve_joins(page: Page) -> list[tuple[dict, dict]]:
    """Where today's curve leaves each stage's strip and where the next strip takes it up."""
    return page.evaluate(
        """Array.from(document.querySelectorAll(".stage-col")).slice(0, -1).map((col) => {
             const end = (line, which) => {
               const svg = line.ownerSVGElement.getBoundingClientRect();
               const at = (v) => v.baseVal.value;
               return which === "out"
                 ? {x: svg.x + at(line.x2), y: svg.y + at(line.y2)}
                 : {x: svg.x + at(line.x1), y: svg.y + at(line.y1)};
             };
             const out = Array.from(col.querySelectorAll(".stage-curve .line--today")).pop();
             const next = col.nextElementSibling.querySelector(".stage-curve .line--today");
             return [end(out, "out"), end(next, "in")];
           })"""
    )


def smallest_chart_words(page: Page) -> list[tuple[str, float]]:
    """The chart's words as drawn (font size times the SVG's scale on screen), smallest first."""
    return page.evaluate(
        """(() => {
          const words = [];
          const area = document.querySelectorAll("#emotion-chart, .stage-curve");
          area.forEach((part) => part.querySelectorAll("text, .value-cell__label, .legend li")
            .forEach((el) => {
              if (!el.getClientRects().length) return;
              const size = parseFloat(getComputedStyle(el).fontSize);
              const svg = el.closest("svg");
              const scale = svg && el.tagName === "text" ? svg.getScreenCTM().d : 1;
              words.push([el.textContent.trim(), size * scale]);
            }));
          return words.sort((a, b) => a[1] - b[1]);
        })()"""
    )


def test_stages_that_overflow_scroll_with_a_cue_and_each_point_sits_over_its_card(
    browser: Browser, live_server, demo, artifacts: Path
):
    a_seventh_stage()
    with browsing(browser, live_server, scheme="light", viewport=DESKTOP) as page:
        page.goto(JOURNEY)
        strip = page.get_by_role("region", name="Stages, written outside-in")
        last = page.locator("article.stage").last
        expect(last).to_contain_text("Referral")
        # The seventh card is past the right edge, and the page says so.
        cue = page.locator("#stages-scroll-cue")
        expect(cue).to_be_visible()
        expect(cue).to_contain_text("More stages to the right")
        expect(page.locator("[data-scroll-frame]")).to_have_attribute("data-more-right", "")
        assert not last.evaluate(
            "(el) => el.getBoundingClientRect().right <= "
            "el.closest('.stage-scroller').getBoundingClientRect().right"
        )
        screenshot(page, artifacts, "journey-seven-stages")
        for card, today, target in points_and_cards(page):
            assert abs(card - today) < 1.5 and abs(card - target) < 1.5, (card, today, target)

        # The strip takes the keyboard: focused, an arrow scrolls it a step, the End key to
        # the last card; the cue, with nothing more to the right, goes.
        strip.focus()
        expect(strip).to_be_focused()
        page.keyboard.press("ArrowRight")
        expect(page.locator("[data-scroll-frame]")).to_have_attribute("data-more-left", "")
        page.keyboard.press("End")
        expect(cue).to_be_hidden()
        expect(page.locator("[data-scroll-frame]")).to_have_attribute("data-more-left", "")
        assert last.evaluate(
            "(el) => el.getBoundingClientRect().right <= "
            "el.closest('.stage-scroller').getBoundingClientRect().right + 1"
        )
        # Editing a stage widens its card; its point follows. Saved happier, its point rises
        # and the curve still runs on unbroken into its neighbours.
        page.get_by_role("link", name="Edit Onboarding").click()
        expect(page.get_by_role("button", name="Save stage")).to_be_visible()
        for card, today, target in points_and_cards(page):
            assert abs(card - today) < 1.5 and abs(card - target) < 1.5, (card, today, target)
        column = page.locator(".stage-col").nth(1)

        def height_in_strip() -> float:
            # Measured from the stage's own strip: saving moves focus, which may scroll.
            strip = column.locator(".stage-curve").bounding_box()
            return column.locator(".dot--today").bounding_box()["y"] - strip["y"]

        before = height_in_strip()
        page.locator("form.stage-form select[name$=emotion_today]").select_option("2")
        page.get_by_role("button", name="Save stage").click()
        expect(page.get_by_role("link", name="Edit Onboarding")).to_be_visible()
        assert height_in_strip() < before
        for left, right in curve_joins(page):
            assert abs(left["x"] - right["x"]) < 1 and abs(left["y"] - right["y"]) < 1.5

    with browsing(browser, live_server, scheme="dark", viewport=PHONE) as page:
        page.goto(JOURNEY)
        page.locator("#emotion-chart").scroll_into_view_if_needed()
        expect(page.locator("#stages-scroll-cue")).to_be_visible()
        for card, today, target in points_and_cards(page):
            assert abs(card - today) < 1.5 and abs(card - target) < 1.5, (card, today, target)
        words = smallest_chart_words(page)
        assert {"Very unhappy", "Delighted"} <= {word for word, _ in words}, words
        assert words[0][1] >= 11, f"chart words under 11px on a phone: {words[:5]}"
        screenshot(page, artifacts, "journey-phone-dark")

    # Three stages fit: no cue, no fading edge.
    from tests import factories

    for position, key in enumerate(("trial", "purchase", "setup")):
        factories.stage("short", key, position=position)
    with browsing(browser, live_server, scheme="light", viewport=DESKTOP) as page:
        page.goto("/journeys/short/")
        expect(page.locator("article.stage")).to_have_count(3)
        expect(page.locator("#stages-scroll-cue")).to_be_hidden()
        frame = page.locator("[data-scroll-frame]")
        assert frame.get_attribute("data-more-right") is None
        assert frame.get_attribute("data-more-left") is None
        for card, today, target in points_and_cards(page):
            assert abs(card - today) < 1.5 and abs(card - target) < 1.5, (card, today, target)
