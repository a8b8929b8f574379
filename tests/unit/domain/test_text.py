"""Issue 17 item 4: names and locations that are texted are one line of visible text."""

import pytest

from reach.domain.errors import InvalidInput
from reach.domain.text import plain_text

#: Mohammadreza in Persian: the zero-width non-joiner U+200C is part of its spelling.
PERSIAN_NAME = "\u0645\u062d\u0645\u062f\u200c\u0631\u0636\u0627"
INVISIBLE = {
    "\u202e": "U+202E (RIGHT-TO-LEFT OVERRIDE)",
    "\u202a": "U+202A (LEFT-TO-RIGHT EMBEDDING)",
    "\u200b": "U+200B (ZERO WIDTH SPACE)",
    "\u200e": "U+200E (LEFT-TO-RIGHT MARK)",
    "\u2066": "U+2066 (LEFT-TO-RIGHT ISOLATE)",
    "\u2067": "U+2067 (RIGHT-TO-LEFT ISOLATE)",
    "\u2068": "U+2068 (FIRST STRONG ISOLATE)",
    "\u2069": "U+2069 (POP DIRECTIONAL ISOLATE)",
    "\ufeff": "U+FEFF (ZERO WIDTH NO-BREAK SPACE)",
    "\u00ad": "U+00AD (SOFT HYPHEN)",
}
LINE_BREAKS = {
    "\u0085": "U+0085",
    "\u2028": "U+2028 (LINE SEPARATOR)",
    "\u2029": "U+2029 (PARAGRAPH SEPARATOR)",
    "\n": "U+000A",
    "\r": "U+000D",
    "\t": "U+0009",
    "\v": "U+000B",
    "\f": "U+000C",
    "\x00": "U+0000",
    "\x1b": "U+001B",
    "\x7f": "U+007F",
}


@pytest.mark.parametrize(("character", "named"), [*INVISIBLE.items(), *LINE_BREAKS.items()])
def test_an_invisible_or_line_breaking_character_is_refused_naming_it(character, named):
    # given a first name with a character that reorders, hides or breaks the line of a text
    # when it is checked
    with pytest.raises(InvalidInput) as raised:
        plain_text("first_name", f"Ana{character}Lopez")

    # then the refusal names the field and the character as U+XXXX
    assert raised.value.field == "first_name"
    assert named in raised.value.reason
    assert "one line of visible text" in raised.value.reason


def test_a_lone_surrogate_is_refused_as_not_unicode_text():
    with pytest.raises(InvalidInput, match=r"U\+D800 is an unpaired surrogate"):
        plain_text("location", "Room \ud800")


def test_the_first_refused_character_is_the_one_named():
    with pytest.raises(InvalidInput, match=r"U\+2028") as raised:
        plain_text("location", "Main St\u2028\u202eevil")

    assert "U+202E" not in raised.value.reason


@pytest.mark.parametrize(
    "name",
    [
        "José",
        "Zoë O'Brien-Smith",
        "محمد",
        PERSIAN_NAME,  # a Persian name needs the zero-width non-joiner
        "李小龍",
        "Ana \U0001f469\u200d\U0001f4bb",  # an emoji sequence joined by U+200D
        "Suite\u00a04",  # a no-break space is visible space
    ],
)
def test_names_in_any_script_are_accepted_unchanged(name):
    assert plain_text("first_name", name) == name


def test_surrounding_spaces_are_trimmed():
    assert plain_text("first_name", "  Ana  ") == "Ana"
