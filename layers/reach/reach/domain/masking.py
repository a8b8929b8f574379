"""Phone numbers masked wherever they are logged or shown in an event.

Apart from parsing (reach.domain.phones) because every function's logger masks, and the
parser's metadata (phonenumbers) is too heavy for the functions that never parse a number.
"""

from __future__ import annotations

import re

_E164 = re.compile(r"\+[1-9]\d{6,14}")
# Bare national numbers such as 5551234567 or 15551234567 in free text.
_BARE = re.compile(r"(?<![\w.:-])\d{10,15}(?![\w.:])")


def mask_phone(e164: str) -> str:
    """``+15551234567`` -> ``+1*******567``: enough to tell numbers apart in a log, no more."""
    digits = e164.lstrip("+")
    if len(digits) <= 4:
        return "*" * len(e164)
    prefix = "+" if e164.startswith("+") else ""
    return f"{prefix}{digits[0]}{'*' * (len(digits) - 4)}{digits[-3:]}"


def mask_phones_in(text: str) -> str:
    """Mask every E.164 number and every bare 10-15 digit run in free text."""
    text = _E164.sub(lambda m: mask_phone(m.group(0)), text)
    return _BARE.sub(lambda m: mask_phone(m.group(0)), text)
