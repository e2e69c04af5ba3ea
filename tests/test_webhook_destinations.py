"""Server-side request forgery: every address class refused, names resolved by a stub."""
import pytest

from chalicelib.domain.errors import Invalid
from chalicelib.events import destinations


class Stub:
    """A resolver that answers from a table and remembers what it was asked."""

    def __init__(self, table):
        self.table, self.asked = table, []

    def __call__(self, host, port):
        self.asked.append((host, port))
        return self.table[host]


REFUSED = {
    "loopback": ("127.0.0.1", "loopback"),
    "loopback-other": ("127.10.20.30", "loopback"),
    "loopback6": ("::1", "loopback"),
    "metadata": ("169.254.169.254", "link-local"),
    "link-local6": ("fe80::1", "link-local"),
    "private10": ("10.1.2.3", "private"),
    "private172": ("172.16.5.4", "private"),
    "private192": ("192.168.1.1", "private"),
    "shared-cgnat": ("100.64.0.1", "not a public address"),
    "unique-local6": ("fc00::1", "private"),
    "multicast": ("224.0.0.1", "multicast"),
    "multicast6": ("ff02::1", "multicast"),
    "multicast6-global": ("ff0e::1", "multicast"),
    "reserved": ("240.0.0.1", "reserved"),
    "broadcast": ("255.255.255.255", "reserved"),
    "unspecified": ("0.0.0.0", "unspecified"),
    "unspecified6": ("::", "unspecified"),
    "this-network": ("0.1.2.3", "private"),
    "documentation": ("192.0.2.1", "private"),
    "benchmarking": ("198.18.0.1", "private"),
    "mapped-metadata": ("::ffff:169.254.169.254", "link-local"),
    "mapped-private": ("::ffff:10.0.0.1", "private"),
    "mapped-loopback": ("::ffff:127.0.0.1", "loopback"),
    "nat64-metadata": ("64:ff9b::a9fe:a9fe", "link-local"),
    "sixtofour-metadata": ("2002:a9fe:a9fe::1", "link-local"),
    "compatible-metadata": ("::169.254.169.254", "link-local"),
    "documentation6": ("2001:db8::1", "private"),
}
PUBLIC = {"public": ["93.184.215.14"], "public6": ["2606:4700::6810:84e5"], "dual": ["93.184.215.14", "2606:4700::1"]}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_a_name_resolving_to_any_non_public_class_is_refused_with_the_reason(name):
    address, reason = REFUSED[name]
    resolve = Stub({"hooks.example": [address]})  # a neutral name: the reason must come from the address
    with pytest.raises(Invalid, match=reason) as refused:
        destinations.check("https://hooks.example/hook", allow_loopback=False, resolve=resolve)
    assert f"resolves to {address}" in str(refused.value) or "embedded" in str(refused.value)


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_the_same_address_written_literally_is_refused_too(name):
    address, reason = REFUSED[name]
    host = f"[{address}]" if ":" in address else address
    resolve = Stub({})
    with pytest.raises(Invalid, match=reason):
        destinations.check(f"https://{host}/hook", allow_loopback=False, resolve=resolve)
    assert resolve.asked == []  # a literal is never sent to a resolver


def test_one_bad_address_among_good_ones_refuses_the_name():
    resolve = Stub({"mixed.example": ["93.184.215.14", "10.0.0.7"]})
    with pytest.raises(Invalid, match="10.0.0.7, which is a private address"):
        destinations.check("https://mixed.example/", allow_loopback=False, resolve=resolve)


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_public_addresses_are_allowed_and_are_what_gets_connected_to(name):
    resolve = Stub({f"{name}.example": PUBLIC[name]})
    target = destinations.check(f"https://{name}.example:8443/in?x=1", allow_loopback=False, resolve=resolve)
    assert target.addresses == tuple(PUBLIC[name])
    assert (target.scheme, target.host, target.port, target.path) == ("https", f"{name}.example", 8443, "/in?x=1")
    assert resolve.asked == [(f"{name}.example", 8443)]


@pytest.mark.parametrize("spelling", [
    "2852039166",  # decimal 169.254.169.254
    "0251.0376.0251.0376",  # octal
    "0xA9.0xFE.0xA9.0xFE",  # hex parts
    "0xa9fea9fe",  # one hex number
    "169.16689662",  # two parts
    "127.1",  # short
    "0177.0.0.1",  # a leading zero: octal to inet_aton
    "08.8.8.8",
    "1.2.3.4.",  # trailing dot reads as an address too
])
def test_odd_ipv4_spellings_are_refused_outright(spelling):
    resolve = Stub({})
    with pytest.raises(Invalid, match="decimal, octal, hex or short form"):
        destinations.check(f"https://{spelling}/", allow_loopback=True, resolve=resolve)
    assert resolve.asked == []


@pytest.mark.parametrize("url, reason", [
    ("http://public.example/", "must be https on a deployed stage"),
    ("ftp://public.example/", "must be https"),
    ("https://user:pw@public.example/", "credentials"),
    ("https:///path", "no host"),
    ("https://public.example:99999/", "malformed"),
    ("https://exa mple.com/", "spaces or control"),
    ("https://bad_host!.example/", "not a valid host name"),
    ("https://public.example/" + "x" * 2048, "longer than 2048"),
    ("", "non-empty string"),
])
def test_malformed_urls_are_refused_with_the_reason(url, reason):
    with pytest.raises(Invalid, match=reason):
        destinations.check(url, allow_loopback=False, resolve=Stub({"public.example": ["93.184.215.14"]}))


def test_a_name_that_does_not_resolve_is_refused():
    with pytest.raises(Invalid, match="does not resolve"):
        destinations.check("https://nowhere.example/", allow_loopback=False, resolve=Stub({"nowhere.example": []}))


def test_the_local_stage_allows_loopback_and_http_but_never_link_local():
    resolve = Stub({"localhost": ["127.0.0.1", "::1"], "metadata.example": ["169.254.169.254"]})
    for url in ("http://127.0.0.1:9000/hook", "http://[::1]:9000/", "http://localhost:9000/", "https://localhost/"):
        target = destinations.check(url, allow_loopback=True, resolve=resolve)
        assert target.addresses[0] in ("127.0.0.1", "::1")
    for url in ("http://169.254.169.254/latest/meta-data/", "http://metadata.example/", "http://[fe80::1]/",
                "http://[::ffff:169.254.169.254]/", "http://10.0.0.1/"):
        with pytest.raises(Invalid, match="link-local|private"):
            destinations.check(url, allow_loopback=True, resolve=resolve)
    with pytest.raises(Invalid, match="loopback"):
        destinations.check("https://localhost/", allow_loopback=False, resolve=resolve)


def test_the_system_resolver_reads_an_odd_spelling_as_the_address_it_hides():
    # Why odd spellings are refused before any lookup: getaddrinfo reads them as addresses.
    assert destinations.system_resolver("2852039166", 443) == ["169.254.169.254"]
    assert destinations.system_resolver("127.1", 443) == ["127.0.0.1"]


def test_the_local_stage_resolves_localhost_alone_and_never_asks_dns():
    assert destinations.check("http://localhost:9000/", allow_loopback=True,
                              resolve=destinations.local_resolver).addresses == ("127.0.0.1", "::1")
    with pytest.raises(Invalid, match="resolves no names but localhost"):
        destinations.check("https://hooks.example/", allow_loopback=True, resolve=destinations.local_resolver)
