import pytest

from reach.domain.errors import InvalidInput
from reach.domain.zones import iana_zone_names, load_zone, zone_name


def test_a_zone_name_is_accepted_when_the_zone_exists():
    assert zone_name("America/New_York") == "America/New_York"
    assert load_zone("America/New_York").key == "America/New_York"


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "", " America/New_York", "../etc/passwd"])
def test_anything_else_is_refused_naming_the_field(name):
    with pytest.raises(InvalidInput) as raised:
        zone_name(name, field="timezone")

    assert raised.value.field == "timezone"
    assert "is not an IANA time zone" in raised.value.reason


# --- issue 17 item 4: IANA names only --------------------------------------------------------


@pytest.mark.parametrize("name", ["localtime", "posixrules", "Factory", "posix/America/New_York"])
def test_a_name_zoneinfo_loads_but_iana_does_not_list_is_refused(name):
    # given a name a zoneinfo directory may hold, which says nothing about where anyone is
    # when it comes in as a zone
    with pytest.raises(InvalidInput) as raised:
        zone_name(name, field="timezone")

    # then it is refused, naming the field
    assert raised.value.field == "timezone"
    assert f"'{name}' is not an IANA time zone" in raised.value.reason


@pytest.mark.parametrize("name", ["UTC", "Europe/Paris", "US/Eastern", "Asia/Kolkata", "EST5EDT"])
def test_iana_zones_and_their_links_are_accepted(name):
    assert zone_name(name) == name


def test_the_list_of_names_is_computed_once_and_only_when_first_needed():
    # given the cache of the allow-list, cleared
    iana_zone_names.cache_clear()

    # when two names are checked
    zone_name("America/Chicago")
    zone_name("Europe/Madrid")

    # then the list was built once, and it is tzdata's, without the non-IANA names
    assert iana_zone_names.cache_info().misses == 1
    assert "America/Chicago" in iana_zone_names()
    assert not {"Factory", "localtime", "posixrules"} & iana_zone_names()
