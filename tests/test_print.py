"""The printable plan: the print stylesheet is linked, and what it hides is marked for it."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

pytestmark = pytest.mark.django_db

EXAMPLE = Path(settings.BASE_DIR) / "planning" / "demo" / "first-90-days.json"
STATIC = Path(settings.BASE_DIR) / "static"
PRINT_CSS = STATIC / "css" / "print.css"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}
VOID |= {"track", "wbr", "rect", "line", "path", "circle"}


class Elements(HTMLParser):
    """Every element with its attributes and the classes of its ancestors (itself included)."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, set[str]]] = []
        self.found: list[tuple[str, dict, set[str]]] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        classes = set((attributes.get("class") or "").split())
        inherited = set().union(classes, *(c for _, c in self.stack))
        self.found.append((tag, attributes, inherited))
        if tag not in VOID:
            self.stack.append((tag, classes))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                break


def elements(html: str) -> list[tuple[str, dict, set[str]]]:
    parser = Elements()
    parser.feed(html)
    return parser.found


def print_rules() -> str:
    css = PRINT_CSS.read_text(encoding="utf-8")
    assert css.count("@media print") == 1
    return re.sub(r"/\*.*?\*/", "", css, flags=re.S)  # without comments


def hidden_in_print(classes: set[str], tag: str) -> bool:
    """Whether print.css hides an element with these classes (or ancestors' classes)."""
    css = print_rules()
    hidden = re.search(r"([^{}]*)\{\s*display:\s*none\s*!important;\s*\}", css.split("@page")[1])
    assert hidden, "print.css has one rule that hides the screen-only pieces"
    selectors = {s.strip() for s in hidden.group(1).split(",")}
    assert ".no-print" in selectors
    return any(f".{c}" in selectors for c in classes) or tag in selectors


@pytest.fixture
def plan_page(client):
    """The worked example's plan, as its DRI (who may edit every section) sees it."""
    call_command("import_plans", str(EXAMPLE), stdout=io.StringIO())
    client.force_login(get_user_model().objects.get(username="priya"))
    response = client.get(reverse("squads:plan", args=["first-90-days"]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_print_stylesheet_is_linked_on_the_plan_page(plan_page):
    link = re.search(r'<link rel="stylesheet" href="([^"]+)" media="print">', plan_page)
    assert link and link.group(1) == f"/{settings.STATIC_URL.strip('/')}/css/print.css"
    assert print_rules()  # and the file exists, with its rules inside @media print
    # A print-only line says where and when it was printed.
    assert re.search(r'<p class="print-only[^"]*">Printed .* from Throughline\.</p>', plan_page)


def _controls(found):
    return [
        (tag, attrs, classes)
        for tag, attrs, classes in found
        if tag in {"nav", "form", "button", "select", "textarea", "details"}
        or "btn" in set((attrs.get("class") or "").split())
        or "hx-get" in attrs
        or "hx-post" in attrs
        or (tag == "a" and (attrs.get("href") or "").endswith("/edit/"))
    ]


def test_every_screen_only_control_on_the_plan_carries_no_print(plan_page):
    assert hidden_in_print({"no-print"}, "")
    main = plan_page[plan_page.index("<main") :]
    found = elements(main)
    controls = _controls(found)
    # The page has edit links, HTMX controls and navigation to hide (the DRI sees them all).
    assert sum(1 for _, attrs, _ in controls if "hx-get" in attrs) >= 8
    assert sum(1 for tag, _, _ in controls if tag == "nav") >= 3
    # A link inside a sentence (the pulse check names initiatives) prints as its text.
    in_prose = {"balance-panel__text"}
    unmarked = [
        f"<{tag} {attrs}>"
        for tag, attrs, classes in controls
        if "no-print" not in classes and not (tag == "a" and classes & in_prose)
    ]
    assert not unmarked
    # The content itself is not marked: sections, initiatives, dependency tables.
    for tag, attrs, classes in found:
        if tag in {"section", "table"} or "initiative" in (attrs.get("class") or "").split():
            assert "no-print" not in classes, attrs


def test_the_site_navigation_is_hidden_in_print(plan_page):
    header = plan_page[: plan_page.index("<main")]
    controls = _controls(elements(header))
    assert controls
    assert all(hidden_in_print(classes, tag) for tag, _, classes in controls)


def test_the_print_button_works_without_inline_script(plan_page):
    button = re.search(r"<button [^>]*data-print[^>]*>Print</button>", plan_page)
    assert button and " hidden" in button.group(0)  # shown by app.js, which prints on click
    app_js = (STATIC / "js" / "app.js").read_text(encoding="utf-8")
    assert "button[data-print]" in app_js and "window.print()" in app_js
    # No inline script or event handler anywhere on the page.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", plan_page)
    assert not re.search(r"\son[a-z]+=", plan_page)


def test_print_css_keeps_rows_whole_and_prints_no_link_urls():
    css = print_rules()
    assert re.search(r"\.initiative \{[^}]*break-inside: avoid", css)
    assert re.search(r"\btr \{[^}]*break-inside: avoid", css)
    assert "thead { display: table-header-group; }" in css
    assert re.search(r"a\[href\]::after \{ content: none", css)
    assert "background: #fff !important; color: #000 !important;" in css
