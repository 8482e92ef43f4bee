"""Where a webhook may point. Outside development and testing: an https URL whose
host resolves to public addresses only (no loopback, private, link-local, CGNAT,
cloud metadata or other internal ones), checked when registered and again at each
delivery, which then connects to the very addresses checked (no second lookup
for DNS rebinding to answer differently). The look-up itself has a deadline."""

import ipaddress
import socket
import threading
import time
from urllib.parse import urlsplit

# A look-up slower than this is refused; the system resolver's own retries can
# take 30 s or more, and a delivery has 5 s in all.
RESOLVE_SECONDS = 2.0
# Look-ups running at once in a process: a hung resolver ties up at most this many
# threads, and look-ups past it wait for a free one within their own deadline.
MAX_LOOKUPS = 8

# IANA gives out global unicast IPv6 from 2000::/3 only. Outside it: the IPv4-mapped
# (::ffff:0:0/96, checked as IPv4), IPv4-compatible (::/96, deprecated) and SIIT
# (::ffff:0:0:0/96) forms, site-local fec0::/10, multicast, and everything unassigned.
_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
# NAT64's well-known prefix may translate to public IPv4 only (RFC 6052), so a
# public IPv4 in its last 32 bits is what a DNS64 resolver hands out for a public
# host; an internal one there is an attack.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")

_lookups = threading.BoundedSemaphore(MAX_LOOKUPS)


class RefusedURL(ValueError):
    """Why a URL may not be a webhook's, in words for the client."""


def _is_public_v4(address: ipaddress.IPv4Address) -> bool:
    # is_global is False for loopback, RFC 1918, link-local (169.254.169.254, the
    # metadata address), CGNAT 100.64/10, documentation ranges...
    return address.is_global and not address.is_multicast


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if address.version == 4:
        return _is_public_v4(address)
    if address.ipv4_mapped is not None:
        return _is_public_v4(address.ipv4_mapped)
    if address in _NAT64:
        return _is_public_v4(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    # Refused whole: local-use NAT64 64:ff9b:1::/48 (outside 2000::/3) may put its
    # IPv4 at any of RFC 6052's offsets; Teredo 2001::/32 relays to any client's.
    if address not in _GLOBAL_UNICAST or not address.is_global or address.teredo:
        return False
    # 6to4 (2002::/16) routes to the IPv4 in its bits 16-48.
    return address.sixtofour is None or _is_public_v4(address.sixtofour)


def _resolve(host: str, port: int, deadline: float) -> list:
    """socket.getaddrinfo within `deadline` seconds. It cannot be interrupted, so
    it runs in a daemon thread (a hung one never holds up the process's exit) and
    is abandoned when late; MAX_LOOKUPS bounds how many may hang at once."""
    late = RefusedURL(f"Its host name could not be resolved in {deadline:g} s.")
    give_up_at = time.monotonic() + deadline
    if not _lookups.acquire(timeout=deadline):
        raise late
    answer: dict = {}
    done = threading.Event()

    def look_up():
        try:
            answer["found"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError, ValueError):
            pass
        finally:
            _lookups.release()
            done.set()

    threading.Thread(target=look_up, name="webhook-dns", daemon=True).start()
    if not done.wait(max(0.0, give_up_at - time.monotonic())):
        raise late
    if "found" not in answer:
        raise RefusedURL("Its host name does not resolve.")
    return answer["found"]


def public_addresses(url: str, deadline: float = RESOLVE_SECONDS) -> list[str]:
    """The addresses the URL's host resolves to, every one public; else RefusedURL.
    Name resolution takes at most `deadline` seconds."""
    parts = urlsplit(url)
    if parts.scheme != "https":
        raise RefusedURL("Must be an https:// URL.")
    try:
        port = parts.port or 443
        host = parts.hostname
    except ValueError:
        raise RefusedURL("Its port is not a port number.") from None
    if not host:
        raise RefusedURL("It names no host.")
    try:  # an address needs no look-up (nor a thread)
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        found = _resolve(host, port, deadline)
        addresses = list(dict.fromkeys(info[4][0].split("%")[0] for info in found))
    if not addresses or not all(_is_public(ipaddress.ip_address(a)) for a in addresses):
        raise RefusedURL(
            "Its host resolves to a loopback, private, link-local or otherwise "
            "internal address (IPv6 forms of one included): webhooks may only call "
            "public servers."
        )
    return addresses


def pinned_request(url: str, address: str) -> tuple[str, dict, dict]:
    """(url, headers, httpx extensions) that reach `address` while the server
    still sees the URL's host name: in the Host header, the TLS SNI and the
    certificate check."""
    parts = urlsplit(url)
    host = f"[{address}]" if ":" in address else address
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return (
        parts._replace(netloc=netloc).geturl(),
        {"Host": parts.netloc.rpartition("@")[2]},
        {"sni_hostname": parts.hostname},
    )
