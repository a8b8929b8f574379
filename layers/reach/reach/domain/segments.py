"""SMS segments: how many billable parts a message body is sent as, and what that costs.

GSM 03.38 (3GPP TS 23.038) packs 160 septets into one SMS; any character outside its default
alphabet and extension table sends the whole message as UCS-2, 70 UTF-16 code units per SMS.
Split messages lose room to the concatenation header: 153 septets or 67 code units per part.
Providers never split an escape sequence or a surrogate pair across parts, so parts are
counted by packing characters, not by dividing a total.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class SmsEncoding(StrEnum):
    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


#: The GSM 03.38 default alphabet (one septet each); 0x1B is the escape, not a character.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
#: The extension table: each is sent as escape + character, two septets.
GSM7_EXTENSION = frozenset("\f^{}\\[]~|€")

_LIMITS: dict[SmsEncoding, tuple[int, int]] = {
    SmsEncoding.GSM7: (160, 153),
    SmsEncoding.UCS2: (70, 67),
}


@dataclass(frozen=True)
class SegmentCount:
    """How a message body is encoded and how many parts it is billed as."""

    encoding: SmsEncoding
    #: Septets for GSM-7, UTF-16 code units for UCS-2.
    units: int
    parts: int
    #: The distinct characters that forced UCS-2, in order of first appearance.
    unicode_characters: tuple[str, ...] = ()

    @property
    def single_part_limit(self) -> int:
        return _LIMITS[self.encoding][0]

    @property
    def per_part_limit(self) -> int:
        return _LIMITS[self.encoding][1]


def is_gsm7(character: str) -> bool:
    """Whether ``character`` can be sent in GSM-7 (default alphabet or extension table)."""
    return character in GSM7_BASIC or character in GSM7_EXTENSION


def count_segments(text: str) -> SegmentCount:
    """Encoding, size in units and number of parts ``text`` is sent as.

    An empty body still counts as one part: nothing is cheaper than one SMS.
    """
    encoding, unicode_characters = _encoding_of(text)
    costs = _unit_costs(text, encoding)
    return SegmentCount(
        encoding=encoding,
        units=sum(costs),
        parts=len(_pack(costs, encoding)),
        unicode_characters=unicode_characters,
    )


def split_into_parts(text: str) -> tuple[str, ...]:
    """``text`` cut where a provider cuts it into parts (one element when it fits in one)."""
    encoding, _ = _encoding_of(text)
    return tuple(text[start:end] for start, end in _pack(_unit_costs(text, encoding), encoding))


def estimate_cost(count: SegmentCount, price_per_part: Decimal) -> Decimal:
    """The price of sending a message of ``count`` once: carriers bill every part."""
    if price_per_part < 0:
        raise ValueError(f"price_per_part must not be negative, got {price_per_part}")
    return price_per_part * count.parts


def _encoding_of(text: str) -> tuple[SmsEncoding, tuple[str, ...]]:
    offending = tuple(dict.fromkeys(ch for ch in text if not is_gsm7(ch)))
    return (SmsEncoding.UCS2 if offending else SmsEncoding.GSM7), offending


def _unit_costs(text: str, encoding: SmsEncoding) -> list[int]:
    if encoding is SmsEncoding.GSM7:
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    # Outside the BMP a character is a surrogate pair; a lone surrogate is one code unit.
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def _pack(costs: list[int], encoding: SmsEncoding) -> list[tuple[int, int]]:
    """Index ranges of each part, filled greedily without splitting a character's units."""
    single, per_part = _LIMITS[encoding]
    if sum(costs) <= single:
        return [(0, len(costs))]
    ranges: list[tuple[int, int]] = []
    start, used = 0, 0
    for index, cost in enumerate(costs):
        if used + cost > per_part:
            ranges.append((start, index))
            start, used = index, 0
        used += cost
    ranges.append((start, len(costs)))
    return ranges


# Letters with no Unicode decomposition to a GSM-7 base, and typographic punctuation that
# word processors and phones substitute for plain ASCII.
_NEAREST_GSM7 = {
    "Ł": "L",
    "ł": "l",
    "Đ": "D",
    "đ": "d",
    "Ð": "D",
    "ð": "d",
    "Þ": "Th",
    "þ": "th",
    "Œ": "OE",
    "œ": "oe",
    "\u0131": "i",  # dotless i
    "ç": "c",  # GSM-7 has only the capital Ç; the small one would force UCS-2
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u2032": "'",
    "\u00b4": "'",
    "`": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u201f": '"',
    "\u2033": '"',
    "\u00ab": '"',
    "\u00bb": '"',
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2015": "-",
    "\u2212": "-",
    "\u2026": "...",
    "\t": " ",
    "\u00a0": " ",
    "\u2002": " ",
    "\u2003": " ",
    "\u2007": " ",
    "\u2009": " ",
    "\u200a": " ",
    "\u202f": " ",
    # Invisible characters pasted along with names; each alone would force UCS-2.
    "\u00ad": "",
    "\u200b": "",
    "\ufeff": "",
}


def gsm_safe(value: str) -> str:
    """``value`` with common non-GSM Latin letters and punctuation replaced by GSM-7 ones.

    Meant for field values (a first name, a clinic name) so that one accented letter does not
    switch a whole reminder to UCS-2 and double its cost: ``María`` becomes ``Maria`` while
    ``José`` keeps its ``é``, like every other GSM-7 letter (è ñ ü ö ä à Ç Å...).
    Characters with no close GSM-7 equivalent (Arabic, emoji...) are left untouched.
    """
    return "".join(_nearest_gsm7(ch) for ch in unicodedata.normalize("NFC", value))


def _nearest_gsm7(character: str) -> str:
    if is_gsm7(character):
        return character
    if character in _NEAREST_GSM7:
        return _NEAREST_GSM7[character]
    # Drop accents one at a time so that a GSM-7 letter survives where it can (ǘ -> ü, not u).
    decomposed = unicodedata.normalize("NFD", character)
    while len(decomposed) > 1 and unicodedata.combining(decomposed[-1]):
        decomposed = decomposed[:-1]
        candidate = unicodedata.normalize("NFC", decomposed)
        if all(is_gsm7(ch) for ch in candidate):
            return candidate
    return character
