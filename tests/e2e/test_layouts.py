"""Every screen a class brings: phones, tablets (touch, both orientations), projectors and wide
monitors. After a drawing nothing spills out of the page or its card, the canvas toolbar is on
screen, and no toolbar button can turn drawing off."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from harness.strokes import draw_digit, touch_digit
from tests.e2e.test_browser import UI, canvas_of, metric_value, no_traceback

SCREENS = [
    ("phone", 390, 844, True),
    ("tablet portrait", 820, 1180, True),
    ("tablet landscape", 1180, 820, True),
    ("projector 4:3", 1024, 768, False),
    ("projector 16:9", 1280, 720, False),
    ("wide monitor", 1920, 1080, False),
    ("narrow laptop", 700, 900, False),
]


def overflow(page) -> dict:
    """What spills: the document wider than the viewport, a picture wider than its card, a
    toolbar button off screen (the canvas lives in a shadow root: looked into)."""
    return page.evaluate(
        """() => {
      const out = {scroll: document.documentElement.scrollWidth - window.innerWidth,
                   images: [], buttons: []};
      for (const img of document.querySelectorAll("img[alt^='the 28x28 picture']")) {
        const card = img.closest(".stHtml") || img.parentElement;
        const a = img.getBoundingClientRect(), b = card.getBoundingClientRect();
        if (a.right > b.right + 1 || a.left < b.left - 1) out.images.push([a.right - b.right]);
      }
      const roots = [...document.querySelectorAll("*")].map(e => e.shadowRoot).filter(Boolean);
      for (const root of roots)
        for (const b of root.querySelectorAll(".dc-icon-button")) {
          const r = b.getBoundingClientRect();
          if (r.width === 0) continue;  // hidden on purpose
          if (r.left < 0 || r.top < -1 || r.right > window.innerWidth)
            out.buttons.push([b.getAttribute("aria-label"), r.left, r.top]);
        }
      return out;
    }"""
    )


def toolbar(page):
    return page.locator(".dc-icon-button:visible")


@pytest.mark.parametrize(("name", "width", "height", "touch"), SCREENS, ids=[s[0] for s in SCREENS])
def test_nothing_spills_and_the_toolbar_cannot_trap_a_class(
    browser, app_url, name, width, height, touch
):
    context = browser.new_context(
        viewport={"width": width, "height": height},
        has_touch=touch,
        is_mobile=touch and width < 500,
    )
    page = context.new_page()
    page.goto(app_url)
    canvas = canvas_of(page)
    stroke = touch_digit if touch else draw_digit
    stroke(page, canvas, 7)
    expect(metric_value(page, "Prediction · CNN")).to_have_text("7", timeout=UI)
    spilled = overflow(page)
    assert spilled["scroll"] <= 0 and not spilled["images"] and not spilled["buttons"], spilled
    # Every button left is a word a class can read, big enough for a finger, and none of them
    # stops the pen: after pressing each, a new digit is read.
    buttons = toolbar(page)
    labels = [buttons.nth(i).get_attribute("aria-label") for i in range(buttons.count())]
    assert "Edit" not in labels and labels, labels
    for i in range(buttons.count()):
        box = buttons.nth(i).bounding_box()
        assert box["width"] >= 44 and box["height"] >= 44, (labels[i], box)
        words = buttons.nth(i).evaluate("b => getComputedStyle(b, '::after').content")
        assert words not in ("none", "normal", '""'), labels[i]
    for i in range(buttons.count()):
        (buttons.nth(i).tap if touch else buttons.nth(i).click)()
    stroke(page, canvas, 4)
    expect(metric_value(page, "Prediction · CNN")).to_have_text("4", timeout=UI)
    no_traceback(page)
    context.close()


def test_the_first_tab_stops_skip_to_the_training(page):
    """Streamlit's own "Skip to main content" first, then ours: a few presses, not twenty."""
    canvas_of(page)
    stops = []
    for _ in range(3):
        page.keyboard.press("Tab")
        stops.append(
            page.evaluate(
                "(e => e.tagName + ' ' + e.innerText.slice(0, 30))(document.activeElement)"
            )
        )
        if stops[-1] == "A Skip to the training":
            break
    assert stops[-1] == "A Skip to the training", stops
    page.keyboard.press("Enter")
    heading = page.get_by_role("heading", name="Train a network")
    page.wait_for_function(
        "() => { const h = [...document.querySelectorAll('h3')].find(e => e.innerText.includes("
        "'Train a network')); if (!h) return false; const r = h.getBoundingClientRect();"
        " return r.top >= 0 && r.bottom <= window.innerHeight; }",
        timeout=UI,
    )
    expect(heading).to_be_visible()
