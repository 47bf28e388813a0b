"""A browser that asks for Korean gets the Korean page, drawn in a font that has its letters;
the switch goes back to English and the link keeps the choice."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from harness.strokes import draw_digit
from tests.e2e.test_browser import (
    SLOW,
    UI,
    canvas_of,
    metric_value,
    no_traceback,
    set_number,
    shoot,
)

# Two different Korean syllables drawn on a canvas in the page's font: with no font that has
# them, both are the same empty box.
GLYPHS_DIFFER = """() => {
  const font = getComputedStyle(document.body).fontFamily;
  const draw = (ch) => {
    const c = document.createElement('canvas'); c.width = c.height = 40;
    const g = c.getContext('2d'); g.font = `32px ${font}`; g.fillText(ch, 2, 32);
    return Array.from(g.getImageData(0, 0, 40, 40).data).join(',');
  };
  return draw('학') !== draw('습') && draw('학') !== draw('\\u{10FFFD}');
}"""


def test_a_korean_browser_gets_the_korean_page_and_can_switch_to_english(browser, app_url):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="ko-KR")
    page = context.new_page()
    page.goto(app_url)
    canvas = canvas_of(page)
    expect(page.get_by_text("검은 사각형에 숫자를 그리세요")).to_be_visible(timeout=UI)
    expect(page.get_by_role("heading", name="신경망 학습하기")).to_be_visible()
    expect(page.get_by_role("button", name="학습", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="수업 시작")).to_be_visible()
    assert page.evaluate(GLYPHS_DIFFER), "no font with Korean letters"
    undo = page.get_by_role("button", name="Undo")  # the canvas' toolbar: its words are ours
    expect(undo).to_be_visible()
    assert undo.evaluate("b => getComputedStyle(b, '::after').content") == '"되돌리기"'

    draw_digit(page, canvas, 7)
    for label in ("예측 · CNN", "예측 · MLP"):
        expect(metric_value(page, label)).to_have_text("7", timeout=UI)
    shoot(page, "korean.png")
    # A short MLP training, followed in Korean: its steps, its curves, how it ended.
    page.get_by_test_id("stRadio").filter(has_text="신경망").get_by_text("MLP").click()
    recipes = page.get_by_test_id("stRadio").filter(has_text="레시피")
    recipes.get_by_text("fast (정해진 길이)").click()
    set_number(page, "에포크", "1", shows="배치 256, 1 에포크")
    page.get_by_role("button", name="학습", exact=True).click()
    expect(page.get_by_test_id("stProgress")).to_contain_text("스텝", timeout=SLOW)
    expect(page.get_by_text(re.compile(r"완료: MLP이\(가\) .*초에 .* 스텝 학습"))).to_be_visible(
        timeout=SLOW
    )
    curves = page.locator(".st-key-curves .stVegaLiteChart svg")  # axes and legend in Korean
    expect(curves.last).to_contain_text("숫자 100개당 오답 (로그 척도)", timeout=UI)
    expect(curves.last).to_contain_text("테스트")
    no_traceback(page)
    # English, chosen on the page: the link says so, and a reload keeps it.
    page.get_by_role("button", name="English", exact=True).click()
    expect(page.get_by_text("Draw a digit. Two classic networks")).to_be_visible(timeout=UI)
    expect(page).to_have_url(re.compile(r"[?&]lang=en\b"))
    page.reload()
    canvas_of(page)
    expect(page.get_by_role("heading", name="Train a network")).to_be_visible(timeout=UI)
    no_traceback(page)
    context.close()
