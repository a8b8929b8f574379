"""Plain text that ends up in a text message: a first name, a location, an organisation name.

Such a value is one line of visible characters. Invisible format characters can make an SMS
say something other than what it seems to (U+202E RIGHT-TO-LEFT OVERRIDE reverses what
follows it; U+200B ZERO WIDTH SPACE hides inside a word), and a line or paragraph separator,
U+0085 NEL and U+2028 included, lets a "name" start a new line of the message that reads as
our own wording. Both are refused where the value comes in, naming the character, so that
the sender of the value can fix it; nothing is silently removed.
"""

from __future__ import annotations

import unicodedata

from reach.domain.errors import InvalidInput

#: Unicode general categories refused in a plain-text value, and how a person would say it.
_REFUSED_CATEGORIES = {
    "Cc": "a control character or line break",
    "Cf": "an invisible format character",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
    "Cs": "an unpaired surrogate, which is not valid Unicode text",
}

#: Format characters that only join or part letters (a Persian name such as "محمد‌رضا" needs
#: U+200C, an emoji sequence U+200D): they neither reorder nor hide text, so they stay.
_JOINERS = frozenset({"\u200c", "\u200d"})


def refused_character(value: str) -> str | None:
    """Why the first character ``value`` may not hold is refused, or None if there is none."""
    for character in value:
        kind = _REFUSED_CATEGORIES.get(unicodedata.category(character))
        if kind is not None and character not in _JOINERS:
            return f"{_code_point(character)} is {kind}"
    return None


def plain_text(field: str, value: str) -> str:
    """``value`` without surrounding whitespace, or InvalidInput naming ``field`` and the
    first character it may not hold (as U+XXXX, with its Unicode name when it has one)."""
    problem = refused_character(value)
    if problem is not None:
        raise InvalidInput(field, f"must be one line of visible text: {problem}")
    return value.strip()


def _code_point(character: str) -> str:
    code = f"U+{ord(character):04X}"
    name = unicodedata.name(character, "")
    return f"{code} ({name})" if name else code
