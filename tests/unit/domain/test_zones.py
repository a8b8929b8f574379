import pytest

from reach.domain.errors import InvalidInput
from reach.domain.zones import load_zone, zone_name


def test_a_zone_name_is_accepted_when_the_zone_exists():
    assert zone_name("America/New_York") == "America/New_York"
    assert load_zone("America/New_York").key == "America/New_York"


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "", " America/New_York", "../etc/passwd"])
def test_anything_else_is_refused_naming_the_field(name):
    with pytest.raises(InvalidInput) as raised:
        zone_name(name, field="timezone")

    assert raised.value.field == "timezone"
    assert "is not an IANA time zone" in raised.value.reason
