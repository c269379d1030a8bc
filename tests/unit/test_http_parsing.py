"""Strict request bodies and the log redaction guard."""
import logging

import azure.functions as func
import pytest

from shared import logs
from shared.http import HttpError, parse_json_body


def req(body: bytes, ctype="application/json") -> func.HttpRequest:
    return func.HttpRequest(method="POST", url="http://x/api", body=body,
                            headers={"content-type": ctype, "content-length": str(len(body))})


def test_lone_surrogate_escapes_are_data():
    value = parse_json_body(req(b'{"a": "x\\ud800y"}'), max_bytes=1000, max_depth=8)
    assert value == {"a": "x\ud800y"}


@pytest.mark.parametrize("body,code", [(b'{"a":1,"a":2}', "DUPLICATE_KEY"), (b'[Infinity]', "NON_FINITE_NUMBER"),
                                       (b'\xc3\x28', "INVALID_ENCODING"), (b'', "INVALID_JSON"),
                                       (b'[[[[[[[[[[1]]]]]]]]]]', "JSON_TOO_DEEP")])
def test_refusals(body, code):
    with pytest.raises(HttpError) as e:
        parse_json_body(req(body), max_bytes=1000, max_depth=8)
    assert e.value.code == code and e.value.status == 400


def test_redaction_of_every_log_line(caplog):
    logs.install()
    with caplog.at_level(logging.INFO):
        logging.getLogger("anything").info("calling with %s and %s", "Bearer abcdefghijklmnop1234",
                                           "sk-ant-abcdefghijklmnopqrstu")
        logging.getLogger("azure.x").info("AccountKey=abc123==;")
    text = caplog.text
    assert "abcdefghijklmnop1234" not in text and "sk-ant-abc" not in text and "[REDACTED]" in text
