"""Where a webhook may point, as deployed: IPv6 forms of internal IPv4 addresses
(NAT64, 6to4, Teredo, IPv4-compatible and -mapped) and site-local IPv6 are
refused like the IPv4 they reach, whether written in the URL or what its host name
resolves to, and a host name that takes too long to resolve is refused in time.

Host names resolve through a stand-in for socket.getaddrinfo: no loopback resolver
can answer with these addresses."""

import socket
import threading
import time

import pytest

from taskapi.webhooks import urls as webhook_urls
from taskapi.webhooks.urls import RefusedURL, public_addresses
from tests.support.responses import assert_error
from tests.support.users import User, new_user_id

REFUSED_IPV6 = [
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254, the cloud metadata address
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "64:ff9b:1::a9fe:a9fe",  # local-use NAT64 (RFC 8215): refused whole
    "64:ff9b:1:ffff::808:808",  # even with a public IPv4 in it
    "::127.0.0.1",  # IPv4-compatible (deprecated)
    "::8.8.8.8",  # refused whole
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:169.254.169.254",
    "::ffff:0:127.0.0.1",  # SIIT's IPv4-translated form
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
    "2002:c0a8:1::1",  # 6to4 of 192.168.0.1
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1 (XOR'ed)
    "2001:0:4136:e378:8000:63bf:f7f7:f7f7",  # Teredo: refused whole, client 8.8.8.8
    "2001::1",
    "fec0::1",  # site-local
    "fec0:0:0:ffff::1",  # site-local DNS resolvers
    "fe80::1",  # link-local
    "fd00:ec2::254",  # unique-local: AWS metadata over IPv6
    "ff02::1",  # multicast
]
PUBLIC_IPV6 = [
    "2606:4700:4700::1111",  # Cloudflare's resolver
    "2001:4860:4860::8888",  # Google's (2001:4860::/32 is not Teredo)
    "64:ff9b::5db8:d70e",  # NAT64 of 93.184.215.14, as a DNS64 resolver answers
    "2002:5db8:d70e::1",  # 6to4 of 93.184.215.14
]


@pytest.fixture
def production(make_app):
    """The app as deployed: webhook URLs checked against their addresses."""
    return make_app(WEBHOOK_PRIVATE_URLS=False)


@pytest.fixture
def carol(production):
    return User(production.test_client(), new_user_id("carol"))


@pytest.fixture
def resolver(monkeypatch):
    """Host names under `.test` resolve to what the test puts in `names`; every
    other name as usual."""
    names: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in names:
            return real(host, port, *args, **kwargs)
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6)
            + ("", (a, port, 0, 0) if ":" in a else (a, port))
            for a in names[host]
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return names


def register(user, url):
    return user.post("/webhooks", json={"url": url, "events": ["task.created"]})


def assert_refused(user, url):
    body = assert_error(register(user, url), 422)
    assert "url" in body["errors"]["json"]
    assert user.get("/webhooks").get_json() == []
    return body["errors"]["json"]["url"]


@pytest.mark.parametrize("address", REFUSED_IPV6)
def test_an_ipv6_form_of_an_internal_address_in_the_url_is_refused(carol, address):
    assert_refused(carol, f"https://[{address}]/hook")


@pytest.mark.parametrize("address", REFUSED_IPV6)
def test_a_host_name_resolving_to_one_is_refused_at_registration_and_delivery(
    carol, resolver, address
):
    resolver["hooks.example.test"] = ["93.184.215.14", address]
    url = "https://hooks.example.test/hook"
    assert_refused(carol, url)
    # what the worker calls before each delivery, which then fails as `refused: ...`
    with pytest.raises(RefusedURL):
        public_addresses(url)


@pytest.mark.parametrize("address", PUBLIC_IPV6)
def test_a_public_ipv6_address_is_accepted(carol, resolver, address):
    assert register(carol, f"https://[{address}]/hook").status_code == 201
    resolver["hooks.example.test"] = [address, "93.184.215.14"]
    assert register(carol, "https://hooks.example.test/hook").status_code == 201
    assert public_addresses("https://hooks.example.test/hook") == [
        address,
        "93.184.215.14",
    ]


@pytest.fixture
def hanging_resolver(monkeypatch):
    """A resolver that answers nothing until the test ends, as one whose
    servers drop every packet; counts the look-ups it was given."""
    release, calls = threading.Event(), []

    def getaddrinfo(*args, **kwargs):
        calls.append(args[0])
        release.wait(60)
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield calls
    release.set()


def test_a_host_name_that_does_not_resolve_in_time_is_422_within_the_deadline(
    carol, hanging_resolver
):
    started = time.monotonic()
    detail = assert_refused(carol, "https://hooks.example.test/hook")
    took = time.monotonic() - started
    assert detail == [
        f"Its host name could not be resolved in {webhook_urls.RESOLVE_SECONDS:g} s."
    ]
    assert hanging_resolver == ["hooks.example.test"]
    assert webhook_urls.RESOLVE_SECONDS - 0.1 <= took < webhook_urls.RESOLVE_SECONDS + 2


def test_hung_look_ups_hold_a_few_threads_and_never_more_time(
    production, hanging_resolver
):
    """Twice as many registrations as look-ups may run at once, all together: each
    is refused within the deadline, and the rest wait instead of adding threads."""
    users = [
        User(production.test_client(), new_user_id("carol"))
        for _ in range(2 * webhook_urls.MAX_LOOKUPS)
    ]
    answers, took = {}, {}

    def attempt(user):
        started = time.monotonic()
        answers[user.id] = register(user, "https://hooks.example.test/hook")
        took[user.id] = time.monotonic() - started

    threads = [threading.Thread(target=attempt, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert [answer.status_code for answer in answers.values()] == [422] * len(users)
    assert max(took.values()) < webhook_urls.RESOLVE_SECONDS + 2
    assert 0 < len(hanging_resolver) <= webhook_urls.MAX_LOOKUPS
