"""Where a webhook may point: the rules against server-side request forgery.

A webhook URL names a host a user chose, and imgstore's own network (the
Lambda's, with the instance metadata service at 169.254.169.254) is the
prize. `check` is run when a webhook is registered or changed, and again at
every delivery, and answers the address to connect to, so a DNS answer that
changes between the check and the connection cannot redirect it:

- `https` only, except on the local stage (`allow_loopback`), which also
  takes `http`;
- no credentials in the URL, and a host that is a name or a literal IP;
- an IPv4 address spelled any other way than four decimal parts (decimal
  `2852039166`, octal `0251.0376.0251.0376`, hex, short `127.1`) is refused
  outright: resolvers read those as addresses, and a checker may not;
- every address the host resolves to must be global: loopback, private
  (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7), link-local
  (169.254/16, fe80::/10), multicast, reserved, unspecified and
  documentation ranges are refused, IPv6 included; an IPv6 address that
  embeds an IPv4 one (IPv4-mapped `::ffff:a.b.c.d`, NAT64, 6to4, Teredo) is
  judged by the IPv4 one too;
- the local stage allows loopback; link-local is refused everywhere.

A refusal is `Invalid` with the reason (a 400 at the API).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..domain.errors import Invalid

MAX_URL_LENGTH = 2048
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# host, port -> the addresses it resolves to (strings, as getaddrinfo gives them).
Resolver = Callable[[str, int], Sequence[str]]
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
# Four decimal parts, each 0-255 with no leading zero: the only IPv4 spelling taken.
_DOTTED_QUAD = re.compile(r"(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}")
# What inet_aton would read as an IPv4 address: 1-4 parts of decimal, octal or hex digits.
_NUMERIC_HOST = re.compile(r"(0[xX][0-9a-fA-F]*|\d+)(\.(0[xX][0-9a-fA-F]*|\d+)){0,3}\.?")
_HOSTNAME = re.compile(r"(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9_-]{1,63}\.?")


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect, and what to say when there."""

    url: str
    scheme: str  # http | https
    host: str  # as written (the TLS name and the Host header), brackets removed
    port: int
    path: str  # path and query, as sent in the request line
    addresses: tuple[str, ...]  # every address the host resolved to, each checked


def system_resolver(host: str, port: int) -> Sequence[str]:
    """The addresses getaddrinfo gives for host (TCP). Invalid when it gives none."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Invalid(f"the webhook URL's host {host!r} does not resolve ({exc})") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


LOCAL_NAMES = {"localhost": ("127.0.0.1", "::1"), "localhost.": ("127.0.0.1", "::1")}


def local_resolver(host: str, port: int) -> Sequence[str]:
    """The local stage's resolver: `localhost` only, never a DNS query (this machine
    may reach no name server, and the stack's tests must send nothing off it)."""
    found = LOCAL_NAMES.get(host.lower())
    if found is None:
        raise Invalid(
            f"the local stage resolves no names but localhost: use http://localhost:PORT/... "
            f"or a literal address, not {host!r}"
        )
    return list(found)


def address_problem(address: IPAddress, *, allow_loopback: bool) -> str | None:
    """Why a connection to `address` is refused, or None when it is allowed."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        problem = address_problem(embedded, allow_loopback=allow_loopback)
        if problem:
            return f"{problem} (embedded in {address})"
    if address.is_link_local:
        return "a link-local address (the cloud metadata service lives there)"
    if address.is_loopback:
        return None if allow_loopback else "a loopback address"
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_multicast:
        return "a multicast address"
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is None and address in _NAT64_LOCAL:
        return "a local-use NAT64 address"
    if address.is_reserved:
        return "a reserved address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "not a public address"
    return None


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]  # the client's address
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if int(address) >> 32 == 0 and int(address) > 1:  # deprecated IPv4-compatible ::a.b.c.d
        return ipaddress.IPv4Address(int(address))
    return None


def parse(url: str, *, allow_loopback: bool) -> tuple[str, str, int, str]:
    """Scheme, host, port and request path of a webhook URL, or Invalid saying why not."""
    if not isinstance(url, str) or not url:
        raise Invalid("url must be a non-empty string")
    if len(url) > MAX_URL_LENGTH:
        raise Invalid(f"the webhook URL is longer than {MAX_URL_LENGTH} characters")
    if any(ord(c) <= 32 or ord(c) == 127 for c in url):
        raise Invalid("the webhook URL holds spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Invalid(f"the webhook URL is malformed ({exc})") from exc
    schemes = ("https", "http") if allow_loopback else ("https",)
    if parts.scheme not in schemes:
        raise Invalid(
            "the webhook URL must be https"
            + (" (or http on the local stage)" if allow_loopback else " on a deployed stage")
        )
    if parts.username is not None or parts.password is not None:
        raise Invalid("the webhook URL must not carry credentials (user:password@)")
    host = parts.hostname or ""
    if not host:
        raise Invalid("the webhook URL has no host")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path


def literal_address(host: str) -> IPAddress | None:
    """The IP address a host names literally, None for a name; Invalid for an
    IPv4 address in any spelling but four decimal parts."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _NUMERIC_HOST.fullmatch(host) and not _DOTTED_QUAD.fullmatch(host):
        raise Invalid(
            f"the webhook URL's host {host!r} spells an IPv4 address in decimal, octal, hex or short form; "
            "write it as four decimal parts (a.b.c.d)"
        )
    if not _HOSTNAME.fullmatch(host):
        raise Invalid(f"the webhook URL's host {host!r} is not a valid host name")
    return None


def check(url: str, *, allow_loopback: bool, resolve: Resolver = system_resolver) -> Target:
    """The URL checked against the rules above, with the addresses to connect to;
    Invalid with the reason otherwise. Every resolved address must pass."""
    scheme, host, port, path = parse(url, allow_loopback=allow_loopback)
    literal = literal_address(host)
    addresses = [str(literal)] if literal is not None else list(resolve(host, port))
    if not addresses:
        raise Invalid(f"the webhook URL's host {host!r} does not resolve")
    for text in addresses:
        try:
            address = ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone id
        except ValueError as exc:
            raise Invalid(f"the webhook URL's host {host!r} resolves to {text!r}, not an address") from exc
        problem = address_problem(address, allow_loopback=allow_loopback)
        if problem:
            where = f"{host} is" if literal is not None else f"{host} resolves to {address}, which is"
            raise Invalid(f"the webhook URL is refused: {where} {problem}; a webhook must point at a public address")
    return Target(url, scheme, host, port, path, tuple(addresses))
