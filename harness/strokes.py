"""Digits as mouse strokes on the 280x280 canvas, drawn plainly, the way a person would."""

from __future__ import annotations

import math


def _arc(cx, cy, rx, ry, start, end, n=24):
    return [
        (cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a)))
        for a in (start + (end - start) * i / n for i in range(n + 1))
    ]


DIGITS: dict[int, list[list[tuple[float, float]]]] = {
    1: [[(150, 45), (145, 140), (140, 235)]],
    0: [_arc(140, 140, 58, 92, -90, 270, 36)],
    7: [[(75, 55), (205, 55), (160, 140), (125, 235)]],
    4: [[(115, 45), (78, 165), (210, 165)], [(175, 75), (172, 240)]],
    2: [_arc(140, 100, 55, 50, 190, 360, 16) + [(180, 150), (80, 230), (210, 230)]],
    3: [_arc(135, 90, 55, 45, 210, 450, 20)[:-4] + _arc(135, 185, 62, 50, -90, 150, 20)],
}


def draw_digit(page, canvas, digit: int, offset=(0, 0), scale=1.0) -> None:
    """Draw with the mouse: one press, move and release per stroke."""
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    ox, oy = box["x"] + offset[0], box["y"] + offset[1]

    def at(p):
        return ox + 140 + (p[0] - 140) * scale, oy + 140 + (p[1] - 140) * scale

    for stroke in DIGITS[digit]:
        page.mouse.move(*at(stroke[0]))
        page.mouse.down()
        for p in stroke[1:]:
            page.mouse.move(*at(p), steps=4)
        page.mouse.up()


def draw_digit_timed(page, canvas, digit: int, pause_s: float = 1.0) -> None:
    """Draw like draw_digit, letting the page settle between strokes, and mark the final
    mouse-up's time in the page (window.__t_up, browser clock) for a latency benchmark."""
    import time

    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    strokes = DIGITS[digit]
    for i, stroke in enumerate(strokes):
        page.mouse.move(box["x"] + stroke[0][0], box["y"] + stroke[0][1])
        page.mouse.down()
        for pt in stroke[1:]:
            page.mouse.move(box["x"] + pt[0], box["y"] + pt[1], steps=4)
        if i == len(strokes) - 1:
            page.evaluate("() => { window.__t_up = performance.now(); }")
        page.mouse.up()
        if i < len(strokes) - 1:
            time.sleep(pause_s)


def touch_digit(page, canvas, digit: int) -> None:
    """Draw with a finger: touch events (touchstart, touchmove, touchend) through the browser's
    own input pipeline, as a phone or tablet sends them. Needs a context with `has_touch`."""
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    cdp = page.context.new_cdp_session(page)
    try:
        for stroke in DIGITS[digit]:
            points = [(box["x"] + x, box["y"] + y) for x, y in stroke]
            for kind, (x, y) in [("touchStart", points[0])] + [
                ("touchMove", p) for p in _steps(points, 4)
            ]:
                cdp.send(
                    "Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": y}]}
                )
            cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    finally:
        cdp.detach()


def _steps(points, n: int):
    """The points of a stroke with n evenly spaced points on each segment, as a moving finger."""
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        for i in range(1, n + 1):
            yield x0 + (x1 - x0) * i / n, y0 + (y1 - y0) * i / n
