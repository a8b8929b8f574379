"""Inbound replies: what a recipient's text asks for, as a ``ReplyIntent``.

Text is compared after folding: Unicode compatibility form, accents dropped, case folded,
French elisions split off ("l'arrêt" -> "l arret"), other apostrophes removed ("don't" ->
"dont") and everything that is not a letter or digit treated as a space; digits are split from
letters ("15min" -> "15 min") and any script's decimal digits read as ASCII. Keywords are
folded the same way, so ``SÍ`` matches "si", "Sí!" and " si. ".

The wording lives in one data file per language, ``phrases/en.json``, ``es.json`` and
``fr.json`` (read once, at import; all three apply to every reply). Their opt-out sets go well
beyond the carrier keywords (docs/facts.md#opt-out-words): asking to be removed from a list,
to have the number deleted, not to be contacted, to be left alone, and the usual misspellings
("stpo", "unsuscribe", "desuscribir", "desinscrire"). Their reschedule sets cover asking to
change, move or postpone the appointment or for another time or day. Only the reply codes
(1, 2, 3, C, Y, R, X) and the carrier words are here.

Rules, in order:

1. **Opt-out wins over everything.** The FCC (2024 revocation order) lets consent be revoked
   "by any reasonable means", so an opt-out word or phrase anywhere in the message, as a whole
   word ("please stop texting me", "Stop. Thank you", "cancel all messages"), opts out. When in
   doubt we opt out: negations ("don't stop") and homonyms ("the end of the road") still opt
   out, because a wrongly kept consent is a legal risk and a wrongly dropped one costs a START.
   So "I'll stop by at 3" and "the bus stop" opt out too, deliberately; an opt-out leaves the
   appointment booked, so no such reply ever cancels it. The multi-word revocations are worded
   so that their other senses do not match ("leave me alone", not "leave me a message").
2. **The one exception is a sentence about cancelling the appointment.** The whole message
   ``CANCEL`` is a carrier opt-out keyword and opts out; but a longer message with a cancel verb
   (cancel, cancelar, anular, annuler), an appointment noun ("appointment", "cita", "rdv"...), no
   other opt-out word and no word for the messages themselves ("texts", "reminders"...) is
   CANCEL_APPOINTMENT ("I need to cancel my appointment"). Negated ("don't cancel my
   appointment") it is UNKNOWN: neither a cancellation nor a revocation, so a person reads it.
3. **Single-word keywords match the whole message** ("yes!", " Yes. ", "3"), after dropping
   courtesy words ("Yes, thank you", "llámenme por favor"): a stray "yes" or "3" inside a
   sentence is not a reply to the reminder. A message made only of keywords of one intent
   counts as that keyword ("Sí, confirmo", "yes 1", "Yes, confirmed"); keywords of two
   intents ("yes 2") are UNKNOWN, for a person to read. A bare "OK" is not a confirmation: it
   is how people acknowledge an answer, and reading it as one would answer it again.
4. **Running late** is the word ``LATE``/``TARDE`` next to a number or a unit of time
   ("LATE 15", "late 15 min", "15 minutes late", "tarde 10", "2 hours late") or one of the
   running-late phrases; minutes are read from the adjacent number (hours times 60), capped at
   240, and None when there is no number.
5. **Not home** ("nobody home", "I won't be there", "no estaré en casa") is a phrase set of
   its own, read before the confirmations it contains ("no one will be there"). It never
   opts out: only an opt-out word does that.
6. **Multi-word phrases match anywhere** ("can you call me?", "I'm running late"), unless one
   of the two words before them is a negation ("please don't call me").

Anything else, including empty bodies, emoji and text in other scripts, is UNKNOWN.

Tenants may replace keyword sets (``ReplyKeywords.with_overrides``) but may not put an opt-out
word into another intent, drop a carrier opt-out word, or give one keyword two intents.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from functools import lru_cache

type Tokens = tuple[str, ...]


class ReplyIntent(StrEnum):
    CONFIRM = "confirm"
    RESCHEDULE = "reschedule"
    CANCEL_APPOINTMENT = "cancel_appointment"
    RUNNING_LATE = "running_late"
    #: Nobody will be home for a (service) visit: the company is told, nothing is cancelled.
    NOT_HOME = "not_home"
    CALL_ME = "call_me"
    HELP = "help"
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    #: A list's keyword, to join it ("ALERTS", "join alerts"): read by the inbound pipeline
    #: with the tenant's list keywords (``reach.services.inbound.conversations.lists``), never
    #: by ``classify_reply``.
    JOIN_LIST = "join_list"
    #: An opt-out word with a list's keyword ("STOP ALERTS"): leaves that list only.
    LEAVE_LIST = "leave_list"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ClassifiedReply:
    """The intent of one inbound text, with what matched it (folded) and any minutes late."""

    intent: ReplyIntent
    minutes_late: int | None = None
    matched: str | None = None


#: The AWS End User Messaging opt-out keywords plus the carriers' STOPALL and REVOKE. A tenant
#: may add opt-out words but never remove these.
CARRIER_OPT_OUT_WORDS = frozenset(
    {
        "ARRET",
        "CANCEL",
        "END",
        "OPT-OUT",
        "OPTOUT",
        "QUIT",
        "REMOVE",
        "STOP",
        "TD",
        "UNSUBSCRIBE",
        "STOPALL",
        "REVOKE",
    }
)

#: Longest running-late delay we report; beyond it the appointment is effectively missed.
MAX_MINUTES_LATE = 240

_NEGATION_WINDOW = 2
_MINUTE_UNITS = frozenset({"m", "min", "mins", "minute", "minutes", "minuto", "minutos"})
_HOUR_UNITS = frozenset({"h", "hr", "hrs", "hour", "hours", "hora", "horas"})
_UNITS = _MINUTE_UNITS | _HOUR_UNITS
#: Longer digit runs are not a delay; they also stay clear of int()'s digit limit.
_MAX_NUMBER_DIGITS = 4

_APOSTROPHES = re.compile(r"['’‘ʼ`´]")  # noqa: RUF001 - the look-alikes are the point
#: A French elided word at the start of a word ("l'arrêt", "m'écrire", "qu'on"): split off, so
#: the word after it is itself ("arret"), unlike the English "don't", which stays "dont".
_ELISION = re.compile(r"(?<![^\W\d_])([cdjlmnst]|qu)['’‘ʼ`´](?=[^\W\d_])")  # noqa: RUF001
_TOKEN = re.compile(r"\d+|[^\W\d_]+")


def fold(text: str) -> Tokens:
    """The words of ``text`` as compared: unaccented, case-folded, punctuation dropped."""
    decomposed = unicodedata.normalize("NFKD", text)
    unaccented = "".join(
        _ascii_digit(ch) for ch in decomposed if not unicodedata.combining(ch)
    ).casefold()
    unelided = _ELISION.sub(r"\1 ", unaccented)
    return tuple(_TOKEN.findall(_APOSTROPHES.sub("", unelided)))


def _ascii_digit(ch: str) -> str:
    # Arabic-Indic, Devanagari... digits are \d too; read them as the digit they are.
    return str(unicodedata.decimal(ch)) if ch.isdecimal() and not ch.isascii() else ch


#: The languages whose reply wording ships in ``phrases/<language>.json``; all are read for
#: every tenant, since people answer in their own language whatever the reminder's.
PHRASE_LANGUAGES = ("en", "es", "fr")
#: What a phrase file may hold: the keyword sets, then the words the rules read.
PHRASE_SETS = (
    "confirm",
    "reschedule",
    "cancel_appointment",
    "running_late",
    "not_home",
    "call_me",
    "help",
    "opt_in",
    "opt_out",
    "appointment_nouns",
    "cancel_verbs",
    "messaging_nouns",
    "negations",
    "courtesy",
)
_PHRASE_FILE_KEYS = frozenset({"language", "about", *PHRASE_SETS})
# Beside this module in the layer (sam build copies the source tree) and in the wheel
# (package data in pyproject.toml). A plain path: importlib.resources costs the cold start
# pathlib and more for three files that are never in a zip.
_PHRASE_DIR = os.path.join(os.path.dirname(__file__), "phrases")


def phrase_groups(language: str) -> dict[str, dict[str, tuple[str, ...]]]:
    """The wording of one language as written in its file: set name -> group name -> words.

    Raises ValueError for a file that is not in the expected shape, so a bad edit fails the
    tests (and the import) instead of silently dropping a way of saying stop.
    """
    with open(os.path.join(_PHRASE_DIR, f"{language}.json"), encoding="utf-8") as file:
        raw = json.load(file)
    if not isinstance(raw, dict) or raw.get("language") != language:
        raise ValueError(f"phrases/{language}.json must be an object for language '{language}'")
    unknown = sorted(set(raw) - _PHRASE_FILE_KEYS)
    if unknown:
        raise ValueError(f"phrases/{language}.json: '{unknown[0]}' is not a phrase set")
    return {name: _groups(language, name, raw[name]) for name in PHRASE_SETS if name in raw}


def _groups(language: str, name: str, groups: object) -> dict[str, tuple[str, ...]]:
    if not isinstance(groups, dict) or not all(
        isinstance(words, list) and all(isinstance(w, str) for w in words)
        for words in groups.values()
    ):
        raise ValueError(f"phrases/{language}.json: '{name}' must map group names to word lists")
    return {group: tuple(words) for group, words in groups.items()}


def _load_phrases() -> dict[str, frozenset[str]]:
    """Every language's words per set, merged (read once, at import: three small files)."""
    merged: dict[str, set[str]] = {name: set() for name in PHRASE_SETS}
    for language in PHRASE_LANGUAGES:
        for name, groups in phrase_groups(language).items():
            for words in groups.values():
                merged[name].update(words)
    return {name: frozenset(words) for name, words in merged.items()}


_PHRASES = _load_phrases()


def _folded_words(name: str) -> frozenset[str]:
    return frozenset(token for word in _PHRASES[name] for token in fold(word))


_CANCEL_VERBS = _folded_words("cancel_verbs")
#: Words for the messages themselves: "cancel the reminders" is about consent, not the visit.
_MESSAGING_NOUNS = _folded_words("messaging_nouns")
_NEGATIONS = _folded_words("negations")
#: Longest first, so "thank you" is dropped whole before any one-word courtesy.
_COURTESY: tuple[Tokens, ...] = tuple(
    sorted({fold(word) for word in _PHRASES["courtesy"]}, key=lambda t: (-len(t), t))
)


def _find(tokens: Tokens, phrase: Tokens, *, skip_negated: bool = False) -> int | None:
    """Index of the first occurrence of ``phrase`` in ``tokens`` (optionally not negated)."""
    width = len(phrase)
    for start in range(len(tokens) - width + 1):
        if tokens[start : start + width] == phrase and not (
            skip_negated and _negated(tokens, start)
        ):
            return start
    return None


def _negated(tokens: Tokens, start: int) -> bool:
    return any(t in _NEGATIONS for t in tokens[max(0, start - _NEGATION_WINDOW) : start])


def _by_first_word(phrases: Iterable[Tokens]) -> dict[str, tuple[Tokens, ...]]:
    index: dict[str, list[Tokens]] = {}
    for phrase in sorted(phrases, key=lambda p: (-len(p), p)):
        index.setdefault(phrase[0], []).append(phrase)
    return {word: tuple(found) for word, found in index.items()}


def _first_opt_out(tokens: Tokens, opt_outs: dict[str, tuple[Tokens, ...]]) -> Tokens | None:
    """The earliest opt-out phrase in ``tokens``, the longest one where several start there."""
    for start, token in enumerate(tokens):
        for phrase in opt_outs.get(token, ()):
            if tokens[start : start + len(phrase)] == phrase:
                return phrase
    return None


def _words(*keywords: str) -> frozenset[str]:
    return frozenset(keywords)


@dataclass(frozen=True)
class ReplyKeywords:
    """Keywords per intent, as tenants write them (any case, accents, punctuation).

    A keyword of one word matches the whole message; a keyword of several words matches as a
    phrase anywhere. ``appointment_nouns`` are the words that make "cancel my ..." a request to
    cancel the appointment instead of an opt-out.
    """

    confirm: frozenset[str] = field(default_factory=frozenset)
    reschedule: frozenset[str] = field(default_factory=frozenset)
    cancel_appointment: frozenset[str] = field(default_factory=frozenset)
    running_late: frozenset[str] = field(default_factory=frozenset)
    not_home: frozenset[str] = field(default_factory=frozenset)
    call_me: frozenset[str] = field(default_factory=frozenset)
    help: frozenset[str] = field(default_factory=frozenset)
    opt_in: frozenset[str] = field(default_factory=frozenset)
    opt_out: frozenset[str] = CARRIER_OPT_OUT_WORDS
    appointment_nouns: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        # Callers may pass sets or lists; frozensets keep the value hashable (compiled once).
        for f in fields(self):
            object.__setattr__(self, f.name, frozenset(getattr(self, f.name)))
        _validate(self)

    def with_overrides(self, **sets: Iterable[str]) -> ReplyKeywords:
        """A copy with whole keyword sets replaced; raises ValueError if the result is unsafe."""
        known = {f.name for f in fields(self)}
        for name in sets:
            if name not in known:
                raise ValueError(f"'{name}' is not a reply keyword set")
        return replace(self, **{name: frozenset(words) for name, words in sets.items()})

    def intent_sets(self) -> dict[ReplyIntent, frozenset[str]]:
        """Keywords per intent, opt-out included."""
        return {
            ReplyIntent.CONFIRM: self.confirm,
            ReplyIntent.RESCHEDULE: self.reschedule,
            ReplyIntent.CANCEL_APPOINTMENT: self.cancel_appointment,
            ReplyIntent.RUNNING_LATE: self.running_late,
            ReplyIntent.NOT_HOME: self.not_home,
            ReplyIntent.CALL_ME: self.call_me,
            ReplyIntent.HELP: self.help,
            ReplyIntent.OPT_IN: self.opt_in,
            ReplyIntent.OPT_OUT: self.opt_out,
        }


def _validate(keywords: ReplyKeywords) -> None:
    carrier = {fold(w) for w in CARRIER_OPT_OUT_WORDS}
    folded_opt_out = {fold(w) for w in keywords.opt_out}
    missing = sorted(w for w in CARRIER_OPT_OUT_WORDS if fold(w) not in folded_opt_out)
    if missing:
        raise ValueError(f"opt_out must keep the carrier opt-out word '{missing[0]}'")
    # Indexed by first word: checking every keyword against every phrase would make the
    # import (a cold start) grow with the product of the two lists.
    opt_outs = _by_first_word(p for p in folded_opt_out | carrier if p)
    owner: dict[Tokens, str] = {}
    others = {f.name: getattr(keywords, f.name) for f in fields(keywords) if f.name != "opt_out"}
    for name, words in [("opt_out", keywords.opt_out), *others.items()]:
        for word in words:
            tokens = fold(word)
            if not tokens:
                raise ValueError(f"keyword '{word}' in {name} has no letters or digits")
            opt_out = _first_opt_out(tokens, opt_outs) if name != "opt_out" else None
            if opt_out is not None:
                raise ValueError(
                    f"keyword '{word}' in {name} contains the opt-out word "
                    f"'{' '.join(opt_out)}'; opt-out words always opt out"
                )
            if name == "appointment_nouns":
                continue
            if owner.setdefault(tokens, name) != name:
                raise ValueError(f"keyword '{word}' is in both {owner[tokens]} and {name}")


#: Reply codes the reminders advertise ("reply 1 to confirm"); the same in every language.
_REPLY_CODES: dict[str, frozenset[str]] = {
    "confirm": _words("1", "C", "Y"),
    "reschedule": _words("2", "R"),
    # Never CANCEL: it is a carrier opt-out word (see the module docstring, rule 2).
    "cancel_appointment": _words("3", "X"),
}

DEFAULT_KEYWORDS = ReplyKeywords(
    **{
        f.name: _REPLY_CODES.get(f.name, frozenset()) | _PHRASES[f.name]
        for f in fields(ReplyKeywords)
        if f.name != "opt_out"
    },
    opt_out=CARRIER_OPT_OUT_WORDS | _PHRASES["opt_out"],
)


@dataclass(frozen=True)
class _Compiled:
    whole: dict[Tokens, ReplyIntent]
    phrases: tuple[tuple[ReplyIntent, Tokens], ...]
    #: Opt-out phrases by their first word, longest first: one pass over a reply finds them.
    opt_outs: dict[str, tuple[Tokens, ...]]
    late_markers: frozenset[str]
    appointment_nouns: tuple[Tokens, ...]


#: Among phrases found anywhere, the first intent in this order wins.
_PHRASE_ORDER = (
    ReplyIntent.CANCEL_APPOINTMENT,
    ReplyIntent.RESCHEDULE,
    # Before CONFIRM: "no one will be there" holds the confirmation "will be there".
    ReplyIntent.NOT_HOME,
    ReplyIntent.RUNNING_LATE,
    ReplyIntent.CALL_ME,
    ReplyIntent.CONFIRM,
    ReplyIntent.HELP,
    ReplyIntent.OPT_IN,
)


@lru_cache(maxsize=64)
def _compile(keywords: ReplyKeywords) -> _Compiled:
    sets = keywords.intent_sets()
    whole: dict[Tokens, ReplyIntent] = {}
    phrases: list[tuple[ReplyIntent, Tokens]] = []
    for intent in _PHRASE_ORDER:
        for word in sorted(sets[intent]):
            tokens = fold(word)
            whole[tokens] = intent
            if len(tokens) > 1:
                phrases.append((intent, tokens))
    opt_outs = {fold(w) for w in keywords.opt_out | CARRIER_OPT_OUT_WORDS}
    return _Compiled(
        whole=whole,
        phrases=tuple(phrases),
        opt_outs=_by_first_word(opt_outs),
        late_markers=frozenset(t[0] for w in keywords.running_late if len(t := fold(w)) == 1),
        appointment_nouns=tuple(sorted(fold(w) for w in keywords.appointment_nouns)),
    )


def keywords_with(extra: tuple[tuple[str, tuple[str, ...]], ...]) -> ReplyKeywords:
    """The default keywords plus a tenant's own words per set (``(set name, words)`` pairs):
    additions only, so the defaults the reminders and answers advertise keep working.

    Raises ValueError naming the problem: an unknown set, or a word that would capture an
    opt-out word (a tenant can never make STOP mean anything else).
    """
    return _keywords_with(tuple(sorted((name, tuple(sorted(words))) for name, words in extra)))


def keywords_for_replies(extra: tuple[tuple[str, tuple[str, ...]], ...]) -> ReplyKeywords:
    """The keywords a reply is read with: like ``keywords_with``, but a stored tenant word that
    has become unsafe (a newer opt-out phrasing now captures it) is left out instead of
    failing every reply of that tenant. Opt-out words always keep their meaning."""
    return _keywords_for_replies(
        tuple(sorted((name, tuple(sorted(words))) for name, words in extra))
    )


@lru_cache(maxsize=64)
def _keywords_for_replies(extra: tuple[tuple[str, tuple[str, ...]], ...]) -> ReplyKeywords:
    try:
        return _keywords_with(extra)
    except ValueError:
        kept = ((name, tuple(w for w in words if _is_usable(name, w))) for name, words in extra)
        return _keywords_with(tuple((name, words) for name, words in kept if words))


def _is_usable(name: str, word: str) -> bool:
    try:
        _keywords_with(((name, (word,)),))
    except ValueError:
        return False
    return True


@lru_cache(maxsize=64)
def _keywords_with(extra: tuple[tuple[str, tuple[str, ...]], ...]) -> ReplyKeywords:
    if not extra:
        return DEFAULT_KEYWORDS
    known = {f.name for f in fields(ReplyKeywords)}
    sets: dict[str, frozenset[str]] = {}
    for name, words in extra:
        if name not in known:
            raise ValueError(f"'{name}' is not a reply keyword set ({', '.join(sorted(known))})")
        sets[name] = frozenset(getattr(DEFAULT_KEYWORDS, name)) | frozenset(words)
    return DEFAULT_KEYWORDS.with_overrides(**sets)


def classify_reply(text: str, keywords: ReplyKeywords | None = None) -> ClassifiedReply:
    """What ``text`` asks for, by the rules in this module's docstring; never raises."""
    compiled = _compile(keywords or DEFAULT_KEYWORDS)
    tokens = fold(text)
    if not tokens:
        return ClassifiedReply(ReplyIntent.UNKNOWN)

    opt_out = _first_opt_out(tokens, compiled.opt_outs)
    cancel_sentence = _cancel_sentence(tokens, compiled)
    if opt_out is not None:
        if cancel_sentence is not None and _only_opt_out_is_cancel(tokens, compiled.opt_outs):
            return cancel_sentence
        return ClassifiedReply(ReplyIntent.OPT_OUT, matched=" ".join(opt_out))

    for candidate in (tokens, _without_courtesy(tokens)):
        intent = compiled.whole.get(candidate) or _one_intent(candidate, compiled.whole)
        if intent is not None:
            return ClassifiedReply(intent, matched=" ".join(candidate))

    if cancel_sentence is not None:
        return cancel_sentence

    late = _running_late(tokens, compiled.late_markers)
    if late is not None:
        return late

    return _first_phrase(tokens, compiled.phrases)


def _first_phrase(
    tokens: Tokens, phrases: tuple[tuple[ReplyIntent, Tokens], ...]
) -> ClassifiedReply:
    """The first keyword phrase found (not negated) anywhere in the reply, else UNKNOWN."""
    for intent, phrase in phrases:
        start = _find(tokens, phrase, skip_negated=True)
        if start is None:
            continue
        if intent is ReplyIntent.RUNNING_LATE:
            minutes = _minutes_near(tokens, start, start + len(phrase))
            return ClassifiedReply(intent, minutes_late=minutes, matched=" ".join(phrase))
        return ClassifiedReply(intent, matched=" ".join(phrase))
    return ClassifiedReply(ReplyIntent.UNKNOWN)


def _one_intent(tokens: Tokens, whole: dict[Tokens, ReplyIntent]) -> ReplyIntent | None:
    """The intent of a message made only of single-word keywords, all of that intent."""
    intents = {whole.get((token,)) for token in tokens}
    if len(tokens) < 2 or len(intents) != 1:
        return None
    return intents.pop()


def _only_opt_out_is_cancel(tokens: Tokens, opt_outs: dict[str, tuple[Tokens, ...]]) -> bool:
    rest = tuple("" if t in _CANCEL_VERBS else t for t in tokens)
    return _first_opt_out(rest, opt_outs) is None


def _cancel_sentence(tokens: Tokens, compiled: _Compiled) -> ClassifiedReply | None:
    """CANCEL_APPOINTMENT (or UNKNOWN when negated) for "cancel my appointment"-style text."""
    if len(tokens) < 2 or all(_find(tokens, noun) is None for noun in compiled.appointment_nouns):
        return None
    if _MESSAGING_NOUNS.intersection(tokens):
        return None
    verbs = [i for i, t in enumerate(tokens) if t in _CANCEL_VERBS]
    if not verbs:
        return None
    if any(_negated(tokens, i) for i in verbs):
        return ClassifiedReply(ReplyIntent.UNKNOWN)
    return ClassifiedReply(ReplyIntent.CANCEL_APPOINTMENT, matched=tokens[verbs[0]])


def _without_courtesy(tokens: Tokens) -> Tokens:
    kept: list[str] = []
    i = 0
    while i < len(tokens):
        polite = next((p for p in _COURTESY if tokens[i : i + len(p)] == p), None)
        if polite is None:
            kept.append(tokens[i])
            i += 1
        else:
            i += len(polite)
    return tuple(kept)


def _running_late(tokens: Tokens, markers: frozenset[str]) -> ClassifiedReply | None:
    """RUNNING_LATE for a late marker beside a number or a unit ("late 15", "10 min late")."""
    for i, token in enumerate(tokens):
        if token not in markers:
            continue
        before = tokens[i - 1] if i > 0 else ""
        after = tokens[i + 1] if i + 1 < len(tokens) else ""
        beside_time = _is_number(after) or _is_number(before) or before in _UNITS
        start = i - 2 if before in _UNITS and i >= 2 and _is_number(tokens[i - 2]) else i - 1
        if beside_time and not _negated(tokens, max(start, 0)):
            return ClassifiedReply(
                ReplyIntent.RUNNING_LATE,
                minutes_late=_minutes_near(tokens, i, i + 1),
                matched=token,
            )
    return None


def _is_number(token: str) -> bool:
    return token.isdigit()


def _minutes_near(tokens: Tokens, start: int, end: int) -> int | None:
    """Minutes from the number right after ``tokens[start:end]``, else right before it."""
    if end < len(tokens) and _is_number(tokens[end]):
        unit = tokens[end + 1] if end + 1 < len(tokens) else ""
        return _minutes(tokens[end], unit)
    if start >= 1 and _is_number(tokens[start - 1]):
        return _minutes(tokens[start - 1], "")
    if start >= 2 and tokens[start - 1] in _UNITS and _is_number(tokens[start - 2]):
        return _minutes(tokens[start - 2], tokens[start - 1])
    return None


def _minutes(number: str, unit: str) -> int:
    if len(number.lstrip("0")) > _MAX_NUMBER_DIGITS:
        return MAX_MINUTES_LATE
    value = int(number) * (60 if unit in _HOUR_UNITS else 1)
    return min(value, MAX_MINUTES_LATE)
