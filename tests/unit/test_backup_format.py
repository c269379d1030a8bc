"""Property: a backup's values, its per-key references and the secrets it names give back the localStorage."""
import json

from hypothesis import HealthCheck, given, settings

from migration.domain import backup_format, planner
from migration.domain.families import Disposition

from ..helpers import json_equal_or_same
from .test_roundtrip_property import TENANT, local_storage


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(local_storage)
def test_backup_rebuilds_every_key_it_holds(data):
    plan = planner.plan(TENANT, "user-1", data, max_document_bytes=4096)  # small cap: chunked payloads too
    stored = json.loads(json.dumps(plan.documents, ensure_ascii=True))
    refs = backup_format.key_refs(stored)
    assert backup_format.secret_names(refs) == set(plan.secrets)  # the backup names every secret it uses
    body = json.loads(json.dumps({"localStorage": plan.backup_values, "secretRefs": refs}, ensure_ascii=True))
    out = backup_format.rebuild(body["localStorage"], body["secretRefs"], plan.secrets)
    kept = {k.key for k in plan.keys if k.disposition is not Disposition.IGNORED}
    assert set(out) == kept
    for key in kept:
        assert json_equal_or_same(data[key], out[key]), key


def test_a_literal_placeholder_in_another_key_stays_literal():
    secret_key = f"user_llm_configs_{TENANT}"
    data = {secret_key: json.dumps([{"id": "c1", "apiKey": "sk-live-value"}])}
    plan = planner.plan(TENANT, "user-1", data)
    name = next(iter(plan.secrets))
    data[f"ui_preferences_{TENANT}"] = json.dumps({"note": f"@keyvault:{name}"})  # the user's own text
    plan = planner.plan(TENANT, "user-1", data)
    out = backup_format.rebuild(plan.backup_values, backup_format.key_refs(plan.documents), plan.secrets)
    assert json.loads(out[f"ui_preferences_{TENANT}"]) == {"note": f"@keyvault:{name}"}
    assert json.loads(out[secret_key]) == [{"id": "c1", "apiKey": "sk-live-value"}]
