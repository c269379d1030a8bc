"""Which fields are secrets, and how they are swapped for vault references."""
import pytest

from migration.domain.secret_fields import PLACEHOLDER_PREFIX, extract, is_secret_name, restore


@pytest.mark.parametrize("name", ["apiKey", "api_key", "x-api-key", "Authorization", "GITHUB_PERSONAL_ACCESS_TOKEN",
                                  "password", "clientSecret", "connectionString", "refresh_token", "Cookie"])
def test_secret_names(name):
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["maxTokens", "name", "keyboardLayout", "model", "tokenizerName", "monkey"])
def test_not_secret_names(name):
    assert not is_secret_name(name)


def test_extract_and_restore_round_trip_without_touching_the_original():
    item = {"id": "m1", "env": {"A": "one", "B": 2}, "headers": {"Authorization": "Bearer abc"},
            "nested": [{"apiKey": "k1"}, {"apiKey": ""}], "maxTokens": 10, "endpoint": "https://x"}
    ext = extract(item, tenant="t", user="u", source_key="k", extra_fields=frozenset({"endpoint"}))
    values = sorted(s.value for s in ext.slots)
    assert values == ["2", "Bearer abc", "https://x", "k1", "one"]   # a numeric env value is a secret too
    assert ext.value["env"]["A"].startswith(PLACEHOLDER_PREFIX) and ext.value["env"]["B"].startswith(
        PLACEHOLDER_PREFIX)
    assert ext.value["nested"][1]["apiKey"] == ""           # empty strings are not secrets
    assert item["env"]["A"] == "one"                          # the original is not modified
    refs = [s.ref() for s in ext.slots]
    assert restore(ext.value, refs, {s.name: s.value for s in ext.slots}) == item


def test_names_are_deterministic_and_distinct_per_location():
    a = extract({"apiKey": "x"}, tenant="t", user="u", source_key="k", base=(0,)).slots[0].name
    b = extract({"apiKey": "x"}, tenant="t", user="u", source_key="k", base=(0,)).slots[0].name
    c = extract({"apiKey": "x"}, tenant="t", user="u", source_key="k", base=(1,)).slots[0].name
    d = extract({"apiKey": "x"}, tenant="t2", user="u", source_key="k", base=(0,)).slots[0].name
    assert a == b and len({a, c, d}) == 3
    assert all(len(n) <= 127 and n.replace("-", "").isalnum() for n in (a, c, d))


def test_long_secrets_are_stored_in_parts_that_fit_the_vault():
    value = "k" * 9000
    ext = extract({"token": value}, tenant="t", user="u", source_key="k")
    [slot] = ext.slots
    entries = slot.vault_entries()
    assert len(entries) == 3 and all(len(v.encode()) <= 16_000 for _, v in entries)
    assert restore(ext.value, [slot.ref()], dict(entries)) == {"token": value}
