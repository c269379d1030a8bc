"""Rules whose outcome must not depend on the Python version (CI runs 3.11 and 3.13)."""
import pytest

from migration.domain import planner


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


# --- the supported interpreters, wherever they are named ----------------------------------------------------------
import re  # noqa: E402
from pathlib import Path  # noqa: E402

from packaging.requirements import Requirement  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CI_PYTHONS = re.search(r"CI_PYTHONS:-([^}]*)\}", (ROOT / ".ci/run").read_text()).group(1).split()


def requirements(version: str) -> dict[str, str]:
    """name → pinned version of the requirements.txt lines that apply on Python `version`."""
    out = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"python_version": version}):
                assert req.name not in out, f"{req.name} pinned twice for Python {version}"
                out[req.name] = str(req.specifier)
    return out


def test_ci_runs_the_lowest_and_the_highest_supported_python():
    assert CI_PYTHONS == ["python3.11", "python3.13"]


@pytest.mark.parametrize("version", ["3.11", "3.12", "3.13"])
def test_each_supported_python_gets_one_azure_functions_line(version):
    reqs = requirements(version)
    major = reqs["azure-functions"].removeprefix("==").split(".")[0]
    assert major == ("2" if version >= "3.13" else "1")  # 1.x requires < 3.13, 2.x requires >= 3.13
    # From 3.13 on Azure loads the app through azure-functions-runtime: pinned, so tests and Azure run the same.
    assert ("azure-functions-runtime" in reqs) is (version >= "3.13")


def test_bicep_deploys_a_python_that_ci_tests():
    bicep = (ROOT / "infra/modules/functionapp.bicep").read_text()
    version = re.search(r"name: 'python'\s*\n\s*version: '([0-9.]+)'", bicep).group(1)
    assert f"python{version}" in CI_PYTHONS
