"""A tiny HTML builder: every text is escaped unless it is already ``Html``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape

#: Every list on the page stops here, so a 10,000-recipient campaign renders a page, not a book.
PANEL_LIMIT = 50


class Html(str):
    """Markup that is already safe to put in a page."""

    __slots__ = ()


type Child = Html | str | int | float | None


def text(value: Child) -> Html:
    """``value`` as page text: escaped, unless it is markup already; None is nothing."""
    if value is None:
        return Html("")
    if isinstance(value, Html):
        return value
    return Html(escape(str(value)))


def join(children: Iterable[Child]) -> Html:
    return Html("".join(text(child) for child in children))


#: Elements with no content and no end tag.
VOID = frozenset({"input", "meta", "br"})


def tag(name: str, attrs: Mapping[str, Child] | None = None, *children: Child) -> Html:
    """``<name attrs>children</name>``; an attribute whose value is None is left out."""
    rendered = "".join(
        f' {key}="{escape(str(value), quote=True)}"'
        for key, value in (attrs or {}).items()
        if value is not None
    )
    if name in VOID:
        return Html(f"<{name}{rendered}>")
    return Html(f"<{name}{rendered}>{join(children)}</{name}>")
