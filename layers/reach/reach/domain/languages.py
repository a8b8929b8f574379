"""Language tags of the texts Reach writes: one spelling, and the order to fall back in."""

from __future__ import annotations

from reach.domain.errors import InvalidInput

DEFAULT_LANGUAGE = "en"

#: The languages Reach writes reminders in (``templates.DEFAULT_TEMPLATES`` and
#: ``rendering.REPLY_OPTIONS`` hold each of them; a test keeps the three in step). A
#: regional variant of one (es-MX) is written in its base language.
SUPPORTED_LANGUAGES = ("en", "es", "ar")


def normalize_language(tag: str) -> str:
    """``es_MX`` / ``ES-mx`` -> ``es-mx``; an empty tag means the default language."""
    return tag.strip().replace("_", "-").lower() or DEFAULT_LANGUAGE


def language_chain(tag: str) -> tuple[str, ...]:
    """The languages to try for ``tag``, most specific first: ``es-mx``, ``es``, English."""
    full = normalize_language(tag)
    return tuple(dict.fromkeys((full, full.split("-")[0], DEFAULT_LANGUAGE)))


def supported_language(tag: str, *, field: str = "language") -> str:
    """``tag`` unchanged if Reach writes its base language, or InvalidInput naming ``field``
    and the languages there are: a reminder in an unknown language would otherwise go out in
    English without anyone having chosen that."""
    base = normalize_language(tag).split("-")[0]
    if base not in SUPPORTED_LANGUAGES:
        raise InvalidInput(
            field,
            f"'{tag}' is not a language Reach writes: use one of "
            f"{', '.join(SUPPORTED_LANGUAGES)}, or a regional variant such as es-MX",
        )
    return tag
