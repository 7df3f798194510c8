"""What every asynchronous adapter makes of a request that got no answer, against a mocked API:
the shared transport (providers/base.py) decides, so one table of adapters covers them all.
A submit that timed out after sending may have been accepted (the studio must not pay twice);
one that never connected was not; a status check that timed out is simply retried.
No test touches the network: respx answers every request and fails on any it does not know.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import httpx
import pytest
import respx

from providers.aimlapi import AimlApi
from providers.apiframe import Apiframe
from providers.base import Adapter, ProviderDown
from providers.pixazo import Pixazo
from providers.runware import Runware

from .aimlapi import test_adapter as test_aimlapi
from .apiframe import test_adapter as test_apiframe
from .pixazo import test_adapter as test_pixazo
from .runware import test_adapter as test_runware


@dataclass(frozen=True)
class Api:
    make: Callable[[], Adapter]
    submit: Callable[[Adapter], object]
    submit_route: tuple[str, str]  # method, URL
    status_route: tuple[str, str]
    status_id: str


APIS = {
    "pixazo": Api(
        make=lambda: Pixazo(api_key=test_pixazo.API_KEY, base_url=test_pixazo.BASE_URL),
        submit=test_pixazo.submit_music,
        submit_route=("POST", test_pixazo.BASE_URL + test_pixazo.MUSIC_PATH),
        status_route=("GET", test_pixazo.BASE_URL + test_pixazo.STATUS_PATH.format(test_pixazo.MUSIC_ID)),
        status_id=test_pixazo.MUSIC_ID,
    ),
    "aimlapi": Api(
        make=lambda: AimlApi(api_key=test_aimlapi.API_KEY, base_url=test_aimlapi.BASE_URL + "/"),
        submit=test_aimlapi.submit_stable_audio,
        submit_route=("POST", test_aimlapi.BASE_URL + test_aimlapi.GENERATE),
        status_route=("GET", test_aimlapi.BASE_URL + test_aimlapi.GENERATE),
        status_id=test_aimlapi.STABLE_ID,
    ),
    "apiframe": Api(
        make=lambda: Apiframe(api_key=test_apiframe.API_KEY, base_url=test_apiframe.BASE_URL),
        submit=test_apiframe.submit,
        submit_route=("POST", test_apiframe.BASE_URL + test_apiframe.SUBMIT_PATH),
        status_route=("GET", test_apiframe.BASE_URL + test_apiframe.JOB_PATH),
        status_id=test_apiframe.JOB_ID,
    ),
    "runware": Api(  # one endpoint takes every task, submits and status checks alike
        make=lambda: Runware(api_key=test_runware.API_KEY, base_url=test_runware.BASE_URL),
        submit=test_runware.submit,
        submit_route=("POST", test_runware.BASE_URL),
        status_route=("POST", test_runware.BASE_URL),
        status_id=test_runware.TASK,
    ),
}


@pytest.fixture(params=sorted(APIS))
def api(request):
    return APIS[request.param]


@pytest.fixture
def adapter(api):
    made = api.make()
    yield made
    made.close()


@pytest.fixture
def mocked():
    """Every route must be called: a test that mocks a request expects the adapter to make it."""
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        yield mock


def test_read_timeout_on_submit_may_have_been_accepted(api, adapter, mocked):
    mocked.route(method=api.submit_route[0], url=api.submit_route[1]).mock(side_effect=httpx.ReadTimeout("read timed out"))

    with pytest.raises(ProviderDown) as caught:
        api.submit(adapter)

    assert caught.value.maybe_accepted is True
    assert caught.value.retryable is True
    assert caught.value.provider == adapter.label


@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectTimeout("connect timed out"), httpx.ConnectError("connection refused")],
    ids=["connect-timeout", "connect-error"],
)
def test_connect_failure_on_submit_was_never_accepted(api, adapter, mocked, failure):
    mocked.route(method=api.submit_route[0], url=api.submit_route[1]).mock(side_effect=failure)

    with pytest.raises(ProviderDown) as caught:
        api.submit(adapter)

    assert caught.value.maybe_accepted is False
    assert caught.value.retryable is True


def test_read_timeout_on_status_is_provider_down(api, adapter, mocked):
    mocked.route(method=api.status_route[0], url=api.status_route[1]).mock(side_effect=httpx.ReadTimeout("read timed out"))

    with pytest.raises(ProviderDown) as caught:
        adapter.status(api.status_id)

    assert caught.value.retryable is True
