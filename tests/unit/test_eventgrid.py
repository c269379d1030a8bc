"""The Event Grid schema the local blob webhook reads (pure)."""
import json

import pytest
from hypothesis import given, strategies as st

from devtools import eventgrid


@given(st.text(min_size=1).filter(lambda s: "/" not in s), st.text(min_size=1))
def test_created_blob_round_trips_through_its_subject(container, name):
    event = eventgrid.blob_created("http://127.0.0.1:10000/devstoreaccount1", container, name, size=3)
    events = eventgrid.parse_events(json.dumps([event]).encode())
    assert eventgrid.created_blobs(events, container) == [name]
    assert eventgrid.created_blobs(events, container + "x") == []


@pytest.mark.parametrize("body", [b"", b"{", b"[1]", b'"x"', b"[{}]", b'[{"eventType": 1}]', b"null"])
def test_not_an_event_array_is_refused(body):
    with pytest.raises(eventgrid.BadEvent):
        eventgrid.parse_events(body)


@pytest.mark.parametrize("subject", [None, 5, "", "/blobServices/default/containers/", "/x/containers/c/blobs/n",
                                     "/blobServices/default/containers/c/blobs/",
                                     "/blobServices/default/containers//blobs/n"])
def test_odd_subjects_name_no_blob(subject):
    assert eventgrid.blob_of(subject) is None


def test_only_blob_created_events_count_and_each_blob_once():
    created = eventgrid.blob_created("http://a", "c", "n", size=1)
    deleted = {**created, "eventType": "Microsoft.Storage.BlobDeleted"}
    assert eventgrid.created_blobs([deleted, created, created], "c") == ["n"]


def test_validation_code_only_from_the_validation_event():
    assert eventgrid.validation_code([eventgrid.validation_event("abc")]) == "abc"
    assert eventgrid.validation_code([{"eventType": "Other", "data": {"validationCode": "abc"}}]) is None
    for data in ("abc", None, [1], {"validationCode": 5}):
        assert eventgrid.validation_code([{"eventType": eventgrid.VALIDATION, "data": data}]) is None
