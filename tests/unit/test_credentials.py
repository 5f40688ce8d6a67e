"""Credential providers without a server: RotatingCredentials, fetch(), the tracker, options."""

from __future__ import annotations

import asyncio

import pytest

from aiopool import ConnectError, ConnectionOptions, Pool, RotatingCredentials
from aiopool._credentials import fetch, tracker_for

SECRET = "s3cr3t-token"


class Counter:
    def __init__(self, *pairs: tuple[str | None, str]) -> None:
        self.pairs = list(pairs)
        self.calls = 0

    async def __call__(self) -> tuple[str | None, str]:
        self.calls += 1
        await asyncio.sleep(0)
        return self.pairs[min(self.calls, len(self.pairs)) - 1]


async def test_first_use_fetches_once_for_concurrent_callers() -> None:
    source = Counter(("app", SECRET))
    creds = RotatingCredentials(source, refresh_every=60)
    got = await asyncio.gather(*(creds.get_credentials() for _ in range(10)))
    assert got == [("app", SECRET)] * 10
    assert source.calls == 1
    await creds.aclose()


async def test_a_refresh_announces_only_a_changed_pair() -> None:
    source = Counter(("app", "a"), ("app", "a"), ("app", "b"))
    creds = RotatingCredentials(source, refresh_every=60)
    heard: list[tuple[str | None, str]] = []
    unsubscribe = creds.subscribe(heard.append)
    await creds.get_credentials()  # the first pair is no change
    await creds.refresh()  # the same pair again
    assert heard == []
    await creds.refresh()
    assert heard == [("app", "b")]
    unsubscribe()
    await creds.refresh()
    assert heard == [("app", "b")]
    await creds.aclose()


async def test_the_schedule_refreshes_and_a_failure_keeps_the_current_pair() -> None:
    calls = 0

    async def flaky() -> tuple[str | None, str]:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise OSError("secrets store down")
        return ("app", f"pw-{calls}")

    creds = RotatingCredentials(flaky, refresh_every=0.05, retry_after=0.05)
    heard: list[tuple[str | None, str]] = []
    creds.subscribe(heard.append)
    assert await creds.get_credentials() == ("app", "pw-1")
    for _ in range(200):
        if heard:
            break
        await asyncio.sleep(0.01)
    assert creds.failures == 1  # the second fetch failed: pw-1 was kept meanwhile
    assert heard[0] == ("app", "pw-3")
    await creds.aclose()
    after = calls
    await asyncio.sleep(0.15)
    assert calls == after  # closed: no more refreshes
    assert await creds.get_credentials() == heard[-1]


async def test_repr_shows_the_user_never_the_password() -> None:
    creds = RotatingCredentials(Counter(("app", SECRET)), refresh_every=60)
    await creds.get_credentials()
    assert "app" in repr(creds)
    assert SECRET not in repr(creds)
    await creds.aclose()


@pytest.mark.parametrize("name", ["refresh_every", "retry_after", "timeout"])
def test_rotating_credentials_check_their_times(name: str) -> None:
    times = {"refresh_every": 1.0, name: 0}
    with pytest.raises(ValueError, match=name):
        RotatingCredentials(Counter(("u", "p")), **times)


async def test_fetch_names_the_provider_and_hides_its_message() -> None:
    class Broken:
        async def get_credentials(self) -> tuple[str | None, str]:
            raise RuntimeError(SECRET)

    with pytest.raises(ConnectError) as info:
        await fetch(Broken(), "h:1", 1.0)
    assert "Broken.get_credentials() raised RuntimeError" in str(info.value)
    assert SECRET not in str(info.value)
    assert isinstance(info.value.__cause__, RuntimeError)


async def test_fetch_times_out_with_a_connect_error() -> None:
    class Slow:
        async def get_credentials(self) -> tuple[str | None, str]:
            await asyncio.sleep(10)
            return (None, SECRET)

    with pytest.raises(ConnectError, match=r"did not answer within 0.05s"):
        await fetch(Slow(), "h:1", 0.05)


async def test_fetch_refuses_a_malformed_answer_without_showing_it() -> None:
    class Odd:
        async def get_credentials(self) -> object:
            return {"password": SECRET}

    with pytest.raises(ConnectError, match="must return") as info:
        await fetch(Odd(), "h:1", 1.0)
    assert SECRET not in str(info.value)


async def test_redis_py_style_providers_are_accepted() -> None:
    class Sync:  # redis-py's UsernamePasswordCredentialProvider shape
        def get_credentials(self) -> tuple[str]:
            return (SECRET,)

    class Both:
        def get_credentials(self) -> tuple[str, str]:
            raise AssertionError("the async variant is preferred")

        async def get_credentials_async(self) -> tuple[str, str]:
            return ("u", SECRET)

    assert (await fetch(Sync(), "h:1", 1.0))[1] == (None, SECRET)
    assert (await fetch(Both(), "h:1", 1.0))[1] == ("u", SECRET)


async def test_an_announcement_bumps_the_generation_and_tells_pools() -> None:
    creds = RotatingCredentials(Counter(("u", "a"), ("u", "b")), refresh_every=60)
    pool = Pool(ConnectionOptions(credential_provider=creds))
    tracker = tracker_for(creds)
    assert pool._auth is tracker
    told: list[int] = []
    pool._credentials_changed = lambda loop: told.append(tracker.generation)  # type: ignore[method-assign]
    await creds.get_credentials()
    assert tracker.generation == 0
    await creds.refresh()
    assert tracker.generation == 1
    assert tracker.latest == ("u", "b")
    assert told == [1]
    assert SECRET not in repr(tracker)
    await creds.aclose()


def test_options_refuse_a_provider_with_a_password_or_username() -> None:
    creds = RotatingCredentials(Counter(("u", "p")), refresh_every=60)
    with pytest.raises(ValueError, match="credential_provider and password"):
        ConnectionOptions(credential_provider=creds, password=SECRET)
    with pytest.raises(ValueError, match="credential_provider and username"):
        ConnectionOptions(credential_provider=creds, username="u")
    with pytest.raises(TypeError, match="get_credentials"):
        ConnectionOptions(credential_provider="not a provider")
    with pytest.raises(ValueError, match="unknown query parameter 'credential_provider'"):
        Pool.from_url("redis://h/0?credential_provider=x")
    options = ConnectionOptions(credential_provider=creds)
    assert "credential_provider" not in repr(options)
