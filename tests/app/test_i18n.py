"""English and Korean: both catalogues complete, every key the page asks for in them, no page
string around them, and numbers and dates written the language's way."""

from __future__ import annotations

import ast
import datetime
import re
import string
import tomllib

import pytest
from google.protobuf.message import Message
from streamlit.testing.v1 import AppTest

from harness import ROOT
from studio import i18n
from tests.app.test_app import FakeTrain, use_fake, wait_until, weights  # noqa: F401

PAGE = [*sorted((ROOT / "studio").glob("*.py")), ROOT / "app.py"]
# What Korean keeps as it is: names of networks, layers, data, formats and units.
NAMES = re.compile(
    r"(?<![A-Za-z])(CNN|MLP|MNIST|Adam|ReLU|JSON|npz|IDX|Keras|CPU|CPUs|MB|x|conv[12]|pool[12]|dense[12]|"
    r"fully_connected|class|fast|seed|lr|lang|view|mnist|cnn|mlp|e|Studio)(?![A-Za-z])"
)
# Streamlit calls whose first argument, or these keywords, a visitor reads.
SHOWN = {
    "button",
    "caption",
    "markdown",
    "write",
    "title",
    "header",
    "subheader",
    "text",
    "info",
    "warning",
    "error",
    "success",
    "toast",
    "metric",
    "checkbox",
    "toggle",
    "radio",
    "selectbox",
    "slider",
    "number_input",
    "text_input",
    "expander",
    "tabs",
    "download_button",
    "progress",
    "popover",
    "segmented_control",
    "select_slider",
    "multiselect",
    "text_area",
    "file_uploader",
    "spinner",
    "status",
    "html",
}
SHOWN_KW = {"label", "help", "text", "caption", "placeholder", "title", "alt"}


def toml(lang: str) -> dict[str, str]:
    with (ROOT / "studio" / "locales" / f"{lang}.toml").open("rb") as f:
        return {f"{m}.{k}": v for m, t in tomllib.load(f).items() for k, v in t.items()}


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_both_catalogues_have_every_key_with_the_same_placeholders():
    en, ko = toml("en"), toml("ko")
    assert set(en) - set(ko) == set(), "missing in ko.toml"
    assert set(ko) - set(en) == set(), "missing in en.toml"
    for key, words in en.items():
        # Korean has no plural: an English "s" placeholder may go; nothing may be added.
        assert fields(ko[key]) <= fields(words), key
        assert fields(words) - fields(ko[key]) <= {"v2"}, key
        plain = NAMES.sub("", re.sub(r"\{[^}]*\}|<[^>]*>", "", words))
        assert ko[key] != words or not re.search(r"[a-z]{3,}", plain), key


def asked_keys() -> set[str]:
    """Every catalogue key the page's code names, as a string literal "module.key"."""
    sections = {k.split(".")[0] for k in toml("en")}
    keys = set()
    for path in PAGE:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if re.fullmatch(r"[a-z_]+\.[a-z0-9_]+", node.value):
                    if node.value.split(".")[0] in sections and not node.value.endswith("_"):
                        keys.add(node.value)
    for path in (ROOT / "mnist_demo").rglob("*.py"):  # the keys of the library's own errors
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                for k in node.exc.keywords:
                    if k.arg == "key" and isinstance(k.value, ast.Constant):
                        keys.add(f"errors.{k.value.value}")
    return keys


def test_every_key_the_page_asks_for_is_in_the_catalogue():
    en = toml("en")
    asked = asked_keys()
    assert len(asked) > 250
    assert asked - set(en) == set()
    prefixes = ("charts.series_", "charts.the_curves_", "inside.caption_", "i18n.")  # built
    unused = {k for k in set(en) - asked if not k.startswith(prefixes)}
    assert unused <= {"inside.the_input", "inside.the_32_conv1_filters"}, unused


def english_words(text: str) -> list[str]:
    """The English a Korean page should not show: words of 3+ Latin letters but the names."""
    text = re.sub(r"(?<![A-Za-z])[A-Z2-9]{5}(?![A-Za-z])", "", text)  # a class's code
    text = re.sub(r"https?://\S+|\?[a-z]+=\w+|\S+\.(keras|npz|json)\b|\(#[\w-]+\)", "", text)
    return re.findall(r"[A-Za-z]{3,}", NAMES.sub("", text))


def literal_text(node) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(literal_text(v) for v in node.values)
    return ""


def test_no_page_string_bypasses_the_catalogue_in_the_code():
    found = []
    for path in PAGE:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            if node.func.attr not in SHOWN or ast.unparse(node.func.value) in ("log", "logging"):
                continue
            shown = node.args[:1] + [k.value for k in node.keywords if k.arg in SHOWN_KW]
            for arg in shown:
                words = english_words(re.sub(r"<[^>]*>", "", literal_text(arg)))
                if words:
                    found.append(f"{path.name}:{node.lineno} {words}")
    assert found == []


def korean_page(script, **link):
    at = AppTest.from_function(script, args=(str(ROOT),), default_timeout=240)
    at.query_params.update({"lang": "ko", **link})
    return at.run()


def page_script(root):
    import os
    import sys

    sys.path.insert(0, root)
    import numpy as np
    import streamlit as st

    import app
    from harness.drawings import draw

    digit = np.load(os.environ["MNIST_DATA"])["x_test"][0] if "MNIST_DATA" in os.environ else None
    drawing = draw(digit, np.random.default_rng(0)) if digit is not None else None
    app.main(canvas=lambda stroke: drawing if st.session_state.get("drawn") else None)


SENT = {
    "id",
    "tag",
    "type",
    "component_name",
    "js_content",
    "json",
    "html_content",
    "form_id",
    "default",
    "format",
    "mime",
    "url",
    "image_id",
    "src",
    "icon",
    "spec",
    "data",
    "key",
    "fragment_id",
    "anchor",
    "deferred_file_id",
    "raw_value",
    "value",
    "name",
}


def sent_strings(msg: Message):
    for field, value in msg.ListFields():
        repeated = not isinstance(value, str | bytes | Message) and hasattr(value, "__len__")
        for v in value if repeated else [value]:
            if isinstance(v, Message):
                yield from sent_strings(v)
            elif isinstance(v, str) and field.name not in SENT:
                yield v


def page_strings(at) -> list[str]:
    out, nodes = [], list(at._tree.children.values())
    while nodes:
        node = nodes.pop()
        if isinstance(getattr(node, "proto", None), Message):
            out += list(sent_strings(node.proto))
        if isinstance(getattr(node, "children", None), dict):
            nodes += node.children.values()
    return out


@pytest.mark.usefixtures("weights")
@pytest.mark.parametrize("drawn", [False, True], ids=["opened", "drawn"])
def test_a_korean_page_shows_no_english(drawn):
    at = korean_page(page_script)
    if drawn:
        at.session_state["drawn"] = True
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    own_names = {i18n.text(lang, "i18n.name") for lang in i18n.LANGUAGES}  # the switch's
    shown = [s for s in page_strings(at) if not s.lstrip().startswith("<style")]
    shown = [s for s in shown if s not in own_names]
    assert any("학습" in s for s in shown)
    english = {s[:80]: english_words(re.sub(r"<[^>]*>", " ", s)) for s in shown}
    assert {s: w for s, w in english.items() if w} == {}


def no_english(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    own_names = {i18n.text(lang, "i18n.name") for lang in i18n.LANGUAGES}  # the switch's
    # Styles, a table's JSON settings and id, and a chart's theme name are not read.
    shown = [s for s in page_strings(at) if not s.lstrip().startswith(("<style", "{"))]
    shown = [s for s in shown if s not in own_names and s != "streamlit"]
    shown = [s for s in shown if not re.fullmatch(r"[0-9a-f]{4,}", s)]  # a styled table's id
    english = {s[:80]: english_words(re.sub(r"<[^>]*>", " ", s)) for s in shown}
    assert {s: w for s, w in english.items() if w} == {}


@pytest.mark.usefixtures("weights")
def test_a_korean_teacher_trains_saves_and_starts_a_class_in_korean(monkeypatch):
    use_fake(monkeypatch, FakeTrain(steps=30))
    at = korean_page(page_script)
    at.session_state["drawn"] = True
    at.radio(key="train_kind").set_value("mlp").run()
    at.button(key="train").click().run()
    wait_until(at, lambda a: a.session_state["trained"])
    assert any("완료" in s.value for s in at.success)
    no_english(at)
    at.button(key="class_start").click().run()
    assert any("수업" in m.value for m in at.markdown)
    no_english(at)
    at.text_input(key="save_name").input("mlp").run()
    at.button(key="save").click().run()  # a shipped model's name: refused, in Korean
    assert any("기본 제공" in e.value for e in at.error), [e.value for e in at.error]
    # A Korean student joins, draws and sends the digit; the teacher looks inside and reports.
    student = korean_page(page_script, **{"class": at.session_state["class_code"]})
    student.session_state["drawn"] = True
    student.run()
    student.button_group(key="teach_pick").set_value("7").run()
    assert any("보냈습니다" in s.value for s in student.success), [w.value for w in student.warning]
    no_english(student)
    at.session_state["inside_open"] = at.session_state["report_open"] = True
    at.run()
    no_english(at)


def test_numbers_and_dates_follow_the_language():
    day = datetime.date(2026, 11, 28)
    assert i18n.text("ko", "choose.saved_model", name="cnn", acc="99.56%", date=day) == (
        "cnn (99.56%, 2026. 11. 28.)"
    )
    assert i18n.text("en", "choose.saved_model", name="cnn", acc="99.56%", date=day) == (
        "cnn (99.56%, Nov 28, 2026)"
    )
    assert i18n.text("ko", "progress.step", step=12345, total_steps=702) == "스텝 12,345 / 702"
    german = i18n.LocaleFormatter("de")  # a locale whose signs differ: the swap is real
    assert german.format("{x:,.1f} {p:.1%} {n}", x=12345.25, p=0.9915, n=7) == "12.345,2 99,2% 7"


def test_the_browser_language_picks_the_catalogue():
    assert i18n.from_browser("ko-KR") == "ko"
    assert i18n.from_browser("ko") == "ko"
    assert i18n.from_browser("en-US") == "en"
    assert i18n.from_browser("fr-FR") == "en"  # no French catalogue: English
    assert i18n.from_browser(None) == "en"


@pytest.mark.usefixtures("weights")
def test_the_switch_keeps_the_language_in_the_link():
    at = korean_page(page_script)
    assert at.title[0].value == "MNIST Studio"
    assert at.button(key="class_start").label == "수업 시작"
    assert at.button(key=i18n.SWITCH).label == "English"  # the other language, in itself
    at.button(key=i18n.SWITCH).click().run()
    assert at.button(key="class_start").label == "Start a class"
    assert "lang" not in at.query_params  # English is this browser's own (it names no locale)
    assert at.button(key=i18n.SWITCH).label == "한국어"
    at.button(key=i18n.SWITCH).click().run()
    assert at.button(key="class_start").label == "수업 시작"
    assert at.query_params["lang"] in (["ko"], "ko")
