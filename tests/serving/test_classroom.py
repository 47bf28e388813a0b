"""The class room on its own: codes, who is here, the digits' limits, and how a class ends."""

from __future__ import annotations

import numpy as np
import pytest

import mnist_demo.serving.classroom as classroom
from mnist_demo.serving.classroom import Classes, ClassFull

DIGIT = np.zeros((28, 28), np.uint8)


def test_codes_are_short_unambiguous_and_found_in_any_case():
    rooms = Classes()
    codes = {rooms.start(f"teacher-{i}").code for i in range(200)}
    assert len(codes) == 200  # every class its own code
    for code in codes:
        assert len(code) == 5 and not set(code) & set("0O1IL2Z5S6G8B")
    code = next(iter(codes))
    assert rooms.get(f" {code.lower()} ").code == code
    assert rooms.get("NOPE!") is None and rooms.get(None) is None


def test_limits_per_student_and_per_class(monkeypatch):
    monkeypatch.setenv("MNIST_STUDIO_CLASS_DIGITS_PER_STUDENT", "3")
    monkeypatch.setenv("MNIST_STUDIO_CLASS_DIGITS", "5")
    room = Classes().start("t")
    for y in range(3):
        room.send("ann", DIGIT, y)
    with pytest.raises(ClassFull, match="You have sent 3 digits"):
        room.send("ann", DIGIT, 9)
    room.send("bo", DIGIT, 4)
    room.send("cy", DIGIT, 5)
    with pytest.raises(ClassFull, match="The class has 5 digits"):
        room.send("di", DIGIT, 6)
    assert [d.y for d in room.sent()] == [0, 1, 2, 4, 5]
    room.remove(room.sent()[0].id)  # the teacher removes one: there is room again
    room.send("di", DIGIT, 6)
    assert [d.by for d in room.sent()] == ["ann", "ann", "bo", "cy", "di"]


@pytest.mark.parametrize(
    "x, y",
    [(np.zeros((28, 27), np.uint8), 1), (np.zeros((28, 28), np.float32), 1), (DIGIT, 10)],
)
def test_a_malformed_digit_is_refused(x, y):
    room = Classes().start("t")
    with pytest.raises(ValueError):
        room.send("ann", x, y)
    assert room.sent() == []


def test_students_here_and_joined():
    room = Classes().start("t")
    room.looked("ann")
    room.looked("bo")
    room.looked("t")  # the teacher is not a student
    assert room.here() == 2 and room.joined() == 2


def test_a_class_ends_when_its_teacher_ends_it_or_is_gone(monkeypatch):
    rooms = Classes()
    ended, left = rooms.start("t1"), rooms.start("t2")
    ended.end()
    with pytest.raises(ClassFull, match="The teacher ended the class"):
        ended.send("ann", DIGIT, 1)
    monkeypatch.setenv("MNIST_STUDIO_CLASS_TEACHER_GONE_S", "120")
    clock = [1000.0]
    monkeypatch.setattr(classroom.time, "monotonic", lambda: clock[0])
    left.looked("t2")
    clock[0] += 119
    assert rooms.get(left.code).ended is None
    clock[0] += 2
    assert (
        rooms.get(left.code).ended
        == "The teacher's page has been gone for 2 minutes: the class has ended."
    )
    clock[0] += 3600
    assert rooms.get(left.code) is None  # forgotten an hour later
