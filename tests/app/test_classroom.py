"""A class under AppTest: a teacher's page and a student's in one server process (they share
st.cache_resource, as a server's sessions do)."""

from __future__ import annotations

import numpy as np
from streamlit.testing.v1 import AppTest

from harness import ROOT
from harness.drawings import draw
from mnist_demo.drawing.preprocess import preprocess
from studio.classlink import classes
from tests.app.test_app import app_script, no_exception, weights

__all__ = ["weights"]  # a fixture, used by name


def page(drawing=None, **link) -> AppTest:
    at = AppTest.from_function(app_script, args=(str(ROOT),), default_timeout=240)
    at.query_params.update(link)
    if drawing is not None:
        at.session_state["test_drawing"] = drawing
    return at.run()


def texts(at) -> str:
    return "\n".join(
        [m.value for m in at.markdown]
        + [c.value for c in at.caption]
        + [w.value for w in at.warning]
    )


def start_class(teacher: AppTest) -> str:
    teacher.button(key="class_start").click().run()
    no_exception(teacher)
    return teacher.session_state["class_code"]


def test_a_student_joins_by_link_and_trains_only_when_allowed(weights):
    teacher = page()
    code = start_class(teacher)
    assert f"**Class {code}**" in texts(teacher)
    qr = [i for e in teacher.get("image") for i in e.proto.imgs if i.caption.startswith("Scan")]
    assert [i.caption for i in qr] == [f"Scan to join {code}"]
    student = page(**{"class": code.lower()})  # a code typed in any case joins
    no_exception(student)
    assert f"**Class {code}** · you watch" in texts(student)
    assert student.button(key="train").disabled
    teacher.toggle(key="class_allow").set_value(True).run()
    assert not student.run().button(key="train").disabled
    assert "1 student here now" in texts(teacher.run())
    teacher.button(key="class_end").click().run()
    student.run()
    assert f"Class {code} has ended. The teacher ended the class." in texts(student)
    assert not student.button(key="train").disabled  # on its own again


def test_an_unknown_class_code_says_so_and_the_page_works(weights):
    at = page(**{"class": "QQQQQ"})
    no_exception(at)
    assert "There is no class QQQQQ on this server" in texts(at)
    assert not at.button(key="train").disabled


def test_a_digit_a_student_keeps_goes_to_the_class(weights, mnist):
    teacher = page()
    code = start_class(teacher)
    drawing = draw(mnist.x_test[0], np.random.default_rng(0), rgba=True, height=200, pen=20)
    student = page(drawing, **{"class": code})
    student.button_group(key="teach_pick").set_value("3").run()
    no_exception(student)
    assert f"Sent to class {code} as a 3." in [s.value for s in student.success]
    [sent] = classes().get(code).sent()
    assert sent.y == 3
    # What the class keeps is what the networks read of the drawing, as the library makes it.
    want = np.clip(np.round(preprocess(drawing) * 255), 0, 255).astype(np.uint8).reshape(28, 28)
    np.testing.assert_array_equal(sent.x, want)
    teacher.run()
    assert any(e.label == "The class's digits (1)" for e in teacher.expander)
