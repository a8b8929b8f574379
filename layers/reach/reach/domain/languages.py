"""Language tags of the texts Reach writes: one spelling, and the order to fall back in."""

from __future__ import annotations

DEFAULT_LANGUAGE = "en"


def normalize_language(tag: str) -> str:
    """``es_MX`` / ``ES-mx`` -> ``es-mx``; an empty tag means the default language."""
    return tag.strip().replace("_", "-").lower() or DEFAULT_LANGUAGE


def language_chain(tag: str) -> tuple[str, ...]:
    """The languages to try for ``tag``, most specific first: ``es-mx``, ``es``, English."""
    full = normalize_language(tag)
    return tuple(dict.fromkeys((full, full.split("-")[0], DEFAULT_LANGUAGE)))
