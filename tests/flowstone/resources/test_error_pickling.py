"""The resource and HTTP errors survive pickle and copy with their fields (their
keyword-only arguments are not in ``args``, so the default rebuild failed)."""

from __future__ import annotations

import copy
import pickle

import pytest

import flowstone as fs


@pytest.mark.parametrize("cls", [fs.ResourceError, fs.ResourceUnavailableError])
def test_resource_errors_round_trip(cls: type[fs.ResourceError]) -> None:
    error = cls("resource 'wh' failed to set up: boom", resource="wh")
    for again in (pickle.loads(pickle.dumps(error)), copy.copy(error)):
        assert type(again) is cls
        assert again.resource == "wh"
        assert str(again) == str(error)


def test_http_error_round_trips_without_its_response() -> None:
    error = fs.http.HTTPError(
        "GET http://x/y answered 503",
        method="GET",
        url="http://x/y",
        status=503,
        attempts=3,
        response=object(),
    )
    again = pickle.loads(pickle.dumps(error))
    assert (again.method, again.url, again.status, again.attempts) == ("GET", "http://x/y", 503, 3)
    assert again.response is None
    assert str(again) == str(error)
