"""Where a webhook may point. Outside development and testing: an https URL whose
host resolves to public addresses only (no loopback, private, link-local, CGNAT,
cloud metadata or other internal ones), checked when registered and again at each
delivery, which then connects to the very addresses checked (no second lookup
for DNS rebinding to answer differently)."""

import ipaddress
import socket
from urllib.parse import urlsplit


class RefusedURL(ValueError):
    """Why a URL may not be a webhook's, in words for the client."""


def _is_public(address) -> bool:
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    # is_global is False for loopback, RFC 1918, link-local (169.254.169.254, the
    # metadata address), CGNAT 100.64/10, unique-local IPv6, documentation ranges...
    return address.is_global and not address.is_multicast


def public_addresses(url: str) -> list[str]:
    """The addresses the URL's host resolves to, every one public; else RefusedURL."""
    parts = urlsplit(url)
    if parts.scheme != "https":
        raise RefusedURL("Must be an https:// URL.")
    try:
        port = parts.port or 443
        found = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError):
        raise RefusedURL("Its host name does not resolve.") from None
    addresses = list(dict.fromkeys(info[4][0].split("%")[0] for info in found))
    if not addresses or not all(_is_public(ipaddress.ip_address(a)) for a in addresses):
        raise RefusedURL(
            "Its host resolves to a loopback, private, link-local or otherwise "
            "internal address: webhooks may only call public servers."
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
