"""The page's words in English and Korean: one catalogue per language (studio/locales/*.toml),
the language the browser asks for or the visitor chose (kept in the link as ?lang=), and numbers
and dates written the language's way. The command line stays English."""

from __future__ import annotations

import datetime
import re
import string
import tomllib
from functools import cache
from pathlib import Path

import streamlit as st
from babel import Locale, dates, numbers

LOCALES = Path(__file__).with_name("locales")
LANGUAGES = ("en", "ko")  # the first is the default and the fallback
QUERY = "lang"  # ?lang=ko: the language chosen on the page, kept in the link
LANG = "lang"  # session state: this page's language
SWITCH = "lang_switch"  # the switch's widget key


@cache
def catalogue(lang: str) -> dict[str, str]:
    """{"module.key": template} of one language, flat."""
    with (LOCALES / f"{lang}.toml").open("rb") as f:
        tables = tomllib.load(f)
    return {f"{mod}.{k}": v for mod, table in tables.items() for k, v in table.items()}


class LocaleFormatter(string.Formatter):
    """str.format with Python's format specs, written with the locale's digits and signs."""

    def __init__(self, lang: str):
        super().__init__()
        self.locale = Locale.parse(lang)
        self.group = numbers.get_group_symbol(self.locale)
        self.decimal = numbers.get_decimal_symbol(self.locale)
        self.percent = numbers.format_percent(0, "0%", locale=self.locale).strip("0")

    def format_field(self, value, spec: str) -> str:
        if isinstance(value, datetime.datetime | datetime.date):
            return dates.format_date(value, "medium", locale=self.locale)
        text = super().format_field(value, spec)
        if isinstance(value, int | float) and not isinstance(value, bool):
            swap = {",": self.group, ".": self.decimal, "%": self.percent}
            text = re.sub(r"[,.%]", lambda m: swap[m.group()], text)
        return text


@cache
def formatter(lang: str) -> LocaleFormatter:
    return LocaleFormatter(lang)


def language() -> str:
    """This page's language: the one chosen on it, else its browser's, else English."""
    try:
        return st.session_state.get(LANG) or LANGUAGES[0]
    except Exception:  # no page: a thread of the server's own
        return LANGUAGES[0]


def t(key: str, /, **values) -> str:
    """The text of `key` in this page's language, its {placeholders} filled with `values`."""
    return text(language(), key, **values)


def text(lang: str, key: str, /, **values) -> str:
    words = catalogue(lang).get(key)
    if words is None:  # a catalogue test keeps both complete: this is a bug, not a visitor's
        words = catalogue(LANGUAGES[0])[key]
    return formatter(lang).vformat(words, (), values)


def error_text(e: BaseException) -> str:
    """A visitor's error in this page's language: the library names its message's key (see
    mnist_demo/errors.py); one it does not name is shown as it is."""
    key = f"errors.{getattr(e, 'key', None)}"
    if key in catalogue(LANGUAGES[0]):
        return t(key, **getattr(e, "values", {}))
    return str(e)


def date_text(iso: str) -> str:
    """A saved model's date ("2026-11-28...") as this page's language writes a date."""
    try:
        day = datetime.date.fromisoformat(str(iso)[:10])
    except ValueError:
        return str(iso)[:10]
    return dates.format_date(day, "medium", locale=Locale.parse(language()))


def from_browser(locale: str | None) -> str:
    """The catalogue for a browser's locale ("ko-KR" -> "ko"), English when we have none."""
    tag = (locale or "").replace("_", "-").split("-")[0].lower()
    return tag if tag in LANGUAGES else LANGUAGES[0]


def choose_language() -> str:
    """Set this run's language: the link's ?lang=, else the switch, else the browser's."""
    asked = st.query_params.get(QUERY)
    if asked in LANGUAGES:
        st.session_state[LANG] = asked
    elif LANG not in st.session_state:
        st.session_state[LANG] = from_browser(st.context.locale)
    return st.session_state[LANG]


def switch_ui() -> None:
    """The other language, named in itself ("한국어" on the English page, "English" on the
    Korean one): one small button, so that the top row stays one row on a phone. The choice
    goes into the link."""
    other = next(lang for lang in LANGUAGES if lang != language())
    st.button(
        text(other, "i18n.name"),
        key=SWITCH,
        on_click=_switched,
        args=(other,),
        help=t("i18n.language"),
    )


def _switched(lang: str) -> None:
    st.session_state[LANG] = lang
    if lang == from_browser(st.context.locale):
        st.query_params.pop(QUERY, None)
    else:
        st.query_params[QUERY] = lang
