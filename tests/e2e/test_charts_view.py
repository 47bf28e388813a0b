"""The live charts as a room reads them: text big and dark enough, lines thick enough, and never
faded while a training redraws them. Read from the SVG Vega renders in Chromium."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.test_browser import SLOW, UI, choose_recipe, set_number


def luminance(colour: str) -> float:
    """WCAG relative luminance of a CSS colour (#rrggbb, #rgb or rgb(r, g, b))."""
    colour = colour.strip()
    if colour.startswith("#"):
        h = colour[1:]
        h = "".join(c * 2 for c in h) if len(h) == 3 else h
        channels = [int(h[i : i + 2], 16) for i in (0, 2, 4)]
    else:
        channels = [int(float(v)) for v in re.findall(r"[\d.]+", colour)[:3]]

    def linear(c):
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_on_white(colour: str) -> float:
    return 1.05 / (luminance(colour) + 0.05)


def chart_facts(page) -> dict:
    return page.evaluate(
        """() => {
      const svgs = [...document.querySelectorAll(".st-key-curves .stVegaLiteChart svg")];
      const texts = [], lines = [];
      for (const svg of svgs) {
        for (const t of svg.querySelectorAll("text")) {
          if (!t.textContent.trim()) continue;
          const s = getComputedStyle(t);
          texts.push([t.textContent, parseFloat(s.fontSize), s.fill]);
        }
        for (const p of svg.querySelectorAll("g.mark-line path, path[aria-roledescription='line mark']")) {
          const s = getComputedStyle(p);
          lines.push([parseFloat(s.strokeWidth), s.stroke]);
        }
      }
      return {charts: svgs.length, texts, lines};
    }"""
    )


def faded_share(page, samples: int = 100) -> float:
    """The share of 100 ms samples in which a chart or the live panel was drawn faded."""
    return page.evaluate(
        """async (n) => {
      let faded = 0;
      for (let i = 0; i < n; i++) {
        const els = [...document.querySelectorAll(".st-key-curves .stVegaLiteChart, .st-key-curves .stHtml")];
        const low = els.some(el => {
          for (let e = el; e; e = e.parentElement) if (parseFloat(getComputedStyle(e).opacity) < 0.99) return true;
          return false;
        });
        faded += low ? 1 : 0;
        await new Promise(r => setTimeout(r, 100));
      }
      return faded / n;
    }""",
        samples,
    )


def test_the_live_charts_read_from_the_back_of_a_room_and_never_fade(page):
    page.get_by_test_id("stRadio").filter(has_text="Network").get_by_text("MLP").click()
    choose_recipe(page, "fast (a fixed length)")
    set_number(page, "Epochs", "20", shows="batch 256, 20 epochs")  # long enough to watch
    page.get_by_role("button", name="Train").click()
    expect(page.get_by_test_id("stProgress")).to_contain_text("samples/s", timeout=SLOW)
    charts = page.locator(".st-key-curves .stVegaLiteChart svg")
    expect(charts).to_have_count(2, timeout=UI)
    page.wait_for_function(  # a few points in: the lines are drawn
        "() => document.querySelectorAll('.st-key-curves svg path').length > 6", timeout=UI
    )
    facts = chart_facts(page)
    assert facts["charts"] == 2 and facts["texts"] and facts["lines"], facts
    small = [t for t in facts["texts"] if t[1] < 14]
    assert not small, small[:5]
    dim = [t for t in facts["texts"] if contrast_on_white(t[2]) < 4.5]
    assert not dim, dim[:5]
    thin = [ln for ln in facts["lines"] if ln[0] < 3]
    assert not thin, thin[:5]
    faint = [ln for ln in facts["lines"] if contrast_on_white(ln[1]) < 3]
    assert not faint, faint[:5]
    assert faded_share(page) <= 0.05
    page.get_by_role("button", name="Stop").click()
    expect(page.get_by_text(re.compile(r"Stopped: MLP trained"))).to_be_visible(timeout=SLOW)
