"""A body the Functions host would not forward is refused with 411, decided from the headers alone."""
import azure.functions as func
import pytest
from hypothesis import given, strategies as st

from shared.http import HttpError, parse_json_body

BODY = b'{"localStorage_data": {}}'


def parse(headers: dict, body: bytes):
    req = func.HttpRequest(method="POST", url="http://x/api", body=body,
                           headers={"content-type": "application/json", **headers})
    return parse_json_body(req, max_bytes=10_000, max_depth=8)


@pytest.mark.parametrize("headers,body", [
    ({"transfer-encoding": "chunked"}, b""),      # the real host: a chunked body arrives empty
    ({"Transfer-Encoding": "chunked"}, BODY),     # the local host read it anyway: refused the same
    ({"transfer-encoding": "gzip, chunked"}, b""),
    ({}, b""),                                     # no length at all (e.g. HTTP/2 without content-length)
])
def test_unsized_bodies_get_411(headers, body):
    with pytest.raises(HttpError) as e:
        parse(headers, body)
    assert (e.value.status, e.value.code) == (411, "LENGTH_REQUIRED")


@pytest.mark.parametrize("headers,body", [({"content-length": str(len(BODY))}, BODY),
                                          ({"content-length": str(len(BODY)), "transfer-encoding": "chunked"}, BODY),
                                          ({}, BODY)])  # a direct invocation carries its body without headers
def test_sized_bodies_are_parsed(headers, body):
    assert parse(headers, body) == {"localStorage_data": {}}


@given(st.sampled_from(["chunked", "identity", "gzip"]), st.binary(max_size=40))
def test_any_transfer_encoding_without_length_is_411(te, body):
    with pytest.raises(HttpError) as e:
        parse({"transfer-encoding": te}, body)
    assert e.value.status == 411
