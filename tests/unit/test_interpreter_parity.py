"""Rules whose outcome must not depend on the Python version (CI runs 3.11 and 3.13)."""
import pytest

from migration import planner


@pytest.mark.parametrize("depth,is_json", [(64, True), (65, True), (499, True), (500, True), (501, False),
                                           (999, False), (1001, False), (5000, False), (20000, False)])
def test_deep_json_is_json_or_not_on_every_interpreter(depth, is_json):
    # 3.11's json stops near 1,000 levels, 3.13's goes far deeper: the planner answers the same on both.
    for text in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth):
        assert planner.parse_json(text)[0] is is_json


@pytest.mark.parametrize("text", ['"' + "[" * 2000 + '"', '["\\"' + "[" * 2000 + '"]'])
def test_brackets_inside_strings_do_not_count(text):
    assert planner.parse_json(text)[0] is True


def test_deep_value_is_kept_raw_with_the_same_reason():
    value = "[" * 5000 + "]" * 5000
    [outcome] = planner.plan("t", "u", {"ai_agents_t": value}).keys
    assert outcome.reason == "invalid_json"
