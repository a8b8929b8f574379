"""Issue 17 item 4: a language Reach does not write is refused, never silently English."""

import pytest

from reach.domain.errors import InvalidInput
from reach.domain.languages import SUPPORTED_LANGUAGES, supported_language
from reach.domain.models import AppointmentKind
from reach.domain.rendering import REPLY_OPTIONS
from reach.domain.templates import DEFAULT_TEMPLATES


def test_the_supported_languages_are_those_with_a_reminder_of_every_kind_and_reply_options():
    # given the default templates and reply options
    with_templates = {
        language
        for language in {language for _, language in DEFAULT_TEMPLATES}
        if all((kind, language) in DEFAULT_TEMPLATES for kind in AppointmentKind)
    }

    # then the supported languages are exactly those Reach has wording for
    assert set(SUPPORTED_LANGUAGES) == with_templates == set(REPLY_OPTIONS)


@pytest.mark.parametrize("tag", ["en", "es", "ar", "es-MX", "en-GB", "ar-EG", "ES_mx"])
def test_a_supported_language_or_a_regional_variant_of_one_is_accepted(tag):
    assert supported_language(tag) == tag


@pytest.mark.parametrize("tag", ["fr", "fr-CA", "de", "zh-TW", "english", "xx"])
def test_another_language_is_refused_listing_the_supported_ones(tag):
    # when a language Reach has no wording for comes in
    with pytest.raises(InvalidInput) as raised:
        supported_language(tag, field="language")

    # then it is refused, naming the field, the tag and the languages there are
    assert raised.value.field == "language"
    assert f"'{tag}'" in raised.value.reason
    assert "en, es, ar" in raised.value.reason
