"""The class view on a projector: the canvas, both readings, a training chart and the live
panel on one screen while a training runs, with no scrolling; it opens from a link too."""

from __future__ import annotations

from playwright.sync_api import expect

from harness import ROOT
from harness.strokes import draw_digit
from tests.e2e.test_browser import (
    SLOW,
    UI,
    canvas_of,
    choose_recipe,
    metric_value,
    no_traceback,
    set_number,
    wait_for_more_steps,
)


def inside(page, locator) -> None:
    """Wholly inside the viewport, as the page stands (no scrolling)."""
    expect(locator).to_be_visible(timeout=UI)
    box, view = locator.bounding_box(), page.viewport_size
    assert box["x"] >= 0 and box["x"] + box["width"] <= view["width"] + 1, (box, view)
    assert box["y"] >= 0 and box["y"] + box["height"] <= view["height"] + 1, (box, view)


SCREENS = [(1280, 720), (1024, 768)]  # a projector's common sizes


def on_one_screen(page, canvas) -> None:
    """The canvas, both readings, the chart and the live panel wholly inside the viewport."""
    chart = page.locator(".st-key-curves .stVegaLiteChart").first
    panel = page.locator(".st-key-curves .stHtml img[alt^='held-out digit']")
    expect(panel).to_have_count(20, timeout=UI)
    assert page.evaluate("window.scrollY") == 0
    for element in (
        canvas,
        metric_value(page, "Prediction · CNN"),
        metric_value(page, "Prediction · MLP"),
        chart,
        panel.first,
        panel.last,
    ):
        inside(page, element)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_the_class_view_puts_drawing_and_learning_on_one_screen(browser, app_url):
    """Each projector size in turn on one training (the page lays itself out again as the
    window changes, as a projector's screen does when it is plugged in)."""
    context = browser.new_context(viewport=dict(zip(("width", "height"), SCREENS[0])))
    page = context.new_page()
    page.goto(f"{app_url}/?view=class")  # a link opens it
    canvas = canvas_of(page)
    toggle = page.get_by_test_id("stCheckbox").filter(has_text="Class view").locator("input")
    expect(toggle).to_be_checked(timeout=UI)
    settings = page.get_by_text("Settings: network, recipe")
    settings.click()  # the form is folded: one click away
    page.get_by_test_id("stRadio").filter(has_text="Network").get_by_text("MLP").click()
    choose_recipe(page, "fast (a fixed length)")
    set_number(page, "Epochs", "20", shows="batch 256, 20 epochs")
    settings.click()
    draw_digit(page, canvas, 3)
    expect(metric_value(page, "Prediction · CNN")).to_have_text("3", timeout=UI)
    page.get_by_role("button", name="Train").click()
    expect(page.get_by_test_id("stProgress")).to_contain_text("samples/s", timeout=SLOW)
    wait_for_more_steps(page, 600)  # a few evaluations in, for the pictures
    for width, height in SCREENS:
        page.set_viewport_size({"width": width, "height": height})
        on_one_screen(page, canvas)
        page.screenshot(path=str(ROOT / f"tests/e2e/artifacts/class-view-{width}.png"))
    # Switched off, the page is the student's again, and the link follows.
    page.get_by_role("button", name="Stop").click()
    page.get_by_text("Class view").click()
    expect(toggle).not_to_be_checked(timeout=UI)
    page.wait_for_function("() => !location.search.includes('view=class')", timeout=UI)
    no_traceback(page)
    context.close()
