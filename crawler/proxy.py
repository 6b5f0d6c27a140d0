"""A source's proxy (`proxy` in sources.toml): every request of the source, robots.txt included, goes through it.

HTTP and HTTPS proxies are Scrapy's own: `request.meta["proxy"]` and a `Proxy-Authorization` header, sent by
Scrapy's HTTP/1.1 handler (a plain request to the proxy for http pages, a CONNECT tunnel for https pages).
The header is set by `SourceProxyMiddleware` next to the downloader and taken off again before the WARC
recorder sees the request, so that the proxy's credentials never reach a WARC file.

SOCKS5 proxies (RFC 1928, with RFC 1929's user name and password) are not Scrapy's: the source's
`SocksDownloadHandler` is our usual download handler (Scrapy's HTTP/1.1 handler behind the politeness gate)
whose connections are opened through the proxy by a SOCKS5 handshake, and then carry HTTP, or TLS and HTTP,
as a direct connection would. Everything above the connection is unchanged: DOWNLOAD_MAXSIZE and its bounded
reads, DOWNLOAD_TIMEOUT (the handshake counts), Content-Encoding, redirects, the WARC capture. With
`socks5://` the host name of a page is resolved here and the proxy is given the address; with `socks5h://`
the proxy is given the name and resolves it (nothing about the site is looked up from here).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import HostnameEndpoint, wrapClientTLS
from twisted.internet.error import ConnectError
from twisted.internet.interfaces import IAddress, IProtocol, IProtocolFactory, IStreamClientEndpoint
from twisted.internet.protocol import Factory, Protocol, connectionDone
from twisted.python.failure import Failure
from twisted.web.client import HTTPConnectionPool
from w3lib.http import basic_auth_header
from zope.interface import implementer

from samizdat.archive.config import redact_proxy
from samizdat.crawler.politeness import PoliteDownloadHandler

logger = logging.getLogger(__name__)

SOCKS_SCHEMES = ("socks5", "socks5h")
HANDLER = "samizdat.crawler.proxy.SocksDownloadHandler"

# RFC 1928, 6: what a proxy's reply code means.
SOCKS5_REPLIES = {
    1: "general SOCKS server failure",
    2: "connection not allowed by ruleset",
    3: "network unreachable",
    4: "host unreachable",
    5: "connection refused",
    6: "TTL expired",
    7: "command not supported",
    8: "address type not supported",
}


@dataclass(frozen=True)
class Proxy:
    """A proxy URL taken apart (archive.config has checked it)."""

    scheme: str
    host: str
    port: int
    username: str | None
    password: str | None
    shown: str  # the URL with its password redacted: the only form that is logged

    @classmethod
    def parse(cls, url: str) -> Proxy:
        parts = urlsplit(url)
        if parts.hostname is None or parts.port is None:
            raise ValueError(f"proxy {redact_proxy(url)!r} needs a host and a port")
        username = unquote(parts.username) if parts.username is not None else None
        password = unquote(parts.password) if parts.password is not None else None
        return cls(parts.scheme, parts.hostname, parts.port, username, password, redact_proxy(url))

    @property
    def socks(self) -> bool:
        return self.scheme in SOCKS_SCHEMES

    @property
    def remote_dns(self) -> bool:
        return self.scheme == "socks5h"

    @property
    def address(self) -> str:
        """scheme://host:port, without the credentials."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


def proxy_settings(proxy: str | None) -> dict[str, Any]:
    """A source's Scrapy settings for its proxy (none when it has none)."""
    if not proxy:
        return {}
    settings: dict[str, Any] = {
        "SAMIZDAT_PROXY": proxy,
        # The source's proxy is the one used: not one from the environment (http_proxy, ...) as well.
        "HTTPPROXY_ENABLED": False,
    }
    if Proxy.parse(proxy).socks:
        settings["DOWNLOAD_HANDLERS"] = {"http": HANDLER, "https": HANDLER}
    return settings


class SourceProxyMiddleware:
    """Sends every request of the source through its proxy. Placed next to the downloader (after the WARC
    recorder in process_request, before it in process_response): redirect hops, retries and robots.txt pass
    here too, and the Proxy-Authorization header exists only while the request is being downloaded."""

    def __init__(self, proxy: Proxy) -> None:
        self.proxy = proxy
        self.authorization = (
            basic_auth_header(proxy.username, proxy.password or "", encoding="latin-1")
            if proxy.username is not None and not proxy.socks
            else None
        )

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SourceProxyMiddleware:
        url = crawler.settings.get("SAMIZDAT_PROXY")
        if not url:
            raise NotConfigured
        proxy = Proxy.parse(url)
        logger.info("every request of this source goes through the proxy %s", proxy.shown)
        return cls(proxy)

    def process_request(self, request: Request) -> None:
        request.headers.pop(b"Proxy-Authorization", None)
        if self.proxy.socks:
            request.meta.pop("proxy", None)  # the connection itself goes through the proxy
            return
        request.meta["proxy"] = self.proxy.address  # never the credentials: meta is logged and serialized
        if self.authorization:
            request.headers[b"Proxy-Authorization"] = self.authorization

    def process_response(self, request: Request, response: Response) -> Response:
        request.headers.pop(b"Proxy-Authorization", None)
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        request.headers.pop(b"Proxy-Authorization", None)


class ProxyError(ConnectError):
    """The SOCKS5 proxy would not connect us to the site (the crawl summary counts these as proxy_error)."""


class _Socks5Handshake(Protocol):
    """Speaks SOCKS5 to the proxy until it has connected us to the site, then hands the connection to the
    protocol that was asked for (HTTP, or TLS carrying HTTP) and relays everything to it."""

    def __init__(self, proxy: Proxy, host: str, port: int, factory: IProtocolFactory, done: Deferred[Any]) -> None:
        self.proxy, self.host, self.port, self.factory, self.done = proxy, host, port, factory, done
        self.inner: IProtocol | None = None
        self.buffer = b""
        self.state = "method"

    def connectionMade(self) -> None:
        methods = b"\x00\x02" if self.proxy.username is not None else b"\x00"  # none, user name + password
        self.transport.write(b"\x05" + bytes([len(methods)]) + methods)  # type: ignore[union-attr]

    def dataReceived(self, data: bytes) -> None:
        if self.inner is not None:
            self.inner.dataReceived(data)
            return
        self.buffer += data
        try:
            self.advance()
        except ProxyError as exc:
            self.fail(exc)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if self.inner is not None:
            self.inner.connectionLost(reason)
        elif not self.done.called:
            self.fail(ProxyError(string=f"the proxy {self.proxy.shown} closed the connection during the handshake"))

    def fail(self, exc: Exception) -> None:
        if not self.done.called:
            self.done.errback(exc)
        if self.transport is not None:
            self.transport.loseConnection()

    def advance(self) -> None:
        while self.inner is None and not self.done.called:
            before = len(self.buffer)
            if self.state == "method":
                self.read_method()
            elif self.state == "auth":
                self.read_auth()
            else:
                self.read_reply()
            if len(self.buffer) == before:
                return  # wait for more bytes

    def read_method(self) -> None:
        if len(self.buffer) < 2:
            return
        version, method = self.buffer[0], self.buffer[1]
        self.buffer = self.buffer[2:]
        if version != 5:
            raise ProxyError(string=f"{self.proxy.shown} does not answer as a SOCKS5 proxy")
        if method == 0:
            self.send_connect()
        elif method == 2 and self.proxy.username is not None:
            user, password = self.proxy.username.encode(), (self.proxy.password or "").encode()
            message = b"\x01" + bytes([len(user)]) + user + bytes([len(password)]) + password
            self.transport.write(message)  # type: ignore[union-attr]
            self.state = "auth"
        elif method == 2:
            raise ProxyError(string=f"the proxy {self.proxy.shown} wants a user name and password (user:password@)")
        else:
            raise ProxyError(string=f"the proxy {self.proxy.shown} accepts none of our ways to sign in")

    def read_auth(self) -> None:
        if len(self.buffer) < 2:
            return
        status = self.buffer[1]
        self.buffer = self.buffer[2:]
        if status != 0:
            raise ProxyError(string=f"the proxy {self.proxy.shown} refused the user name and password")
        self.send_connect()

    def send_connect(self) -> None:
        try:
            address = ipaddress.ip_address(self.host)
            target = (b"\x01" if address.version == 4 else b"\x04") + address.packed
        except ValueError:  # a host name, for the proxy to resolve (socks5h)
            name = self.host.encode("idna")
            target = b"\x03" + bytes([len(name)]) + name
        self.transport.write(b"\x05\x01\x00" + target + self.port.to_bytes(2, "big"))  # type: ignore[union-attr]
        self.state = "reply"

    def read_reply(self) -> None:
        if len(self.buffer) < 2:
            return
        if self.buffer[1] != 0:
            reason = SOCKS5_REPLIES.get(self.buffer[1], f"reply {self.buffer[1]}")
            raise ProxyError(
                string=f"the proxy {self.proxy.shown} could not connect to {self.host}:{self.port}: {reason}"
            )
        if len(self.buffer) < 5:
            return
        lengths = {1: 4, 4: 16, 3: 1 + self.buffer[4]}
        if self.buffer[3] not in lengths:
            raise ProxyError(string=f"{self.proxy.shown} sent a SOCKS5 reply that cannot be read")
        end = 4 + lengths[self.buffer[3]] + 2
        if len(self.buffer) < end:
            return
        rest, self.buffer = self.buffer[end:], b""
        self.start(rest)

    def start(self, rest: bytes) -> None:
        assert self.transport is not None
        peer: IAddress = self.transport.getPeer()
        inner = self.factory.buildProtocol(peer)
        if inner is None:
            raise ProxyError(string="no protocol for the connection")
        self.inner = inner
        inner.makeConnection(self.transport)
        self.done.callback(inner)
        if rest:
            inner.dataReceived(rest)


class _HandshakeFactory(Factory):
    def __init__(self, make: Any) -> None:
        self.make = make

    def buildProtocol(self, addr: IAddress | None) -> Protocol:
        protocol: Protocol = self.make()
        return protocol


@implementer(IStreamClientEndpoint)
class Socks5Endpoint:
    """A connection to host:port through a SOCKS5 proxy (an endpoint, as Twisted's HTTP client uses them).
    The Deferred fires once the proxy has connected us to the site; cancelling it (the download timeout)
    stops whatever stage it is in."""

    def __init__(self, reactor: Any, proxy: Proxy, host: str, port: int, timeout: float) -> None:
        self.reactor, self.proxy, self.host, self.port, self.timeout = reactor, proxy, host, port, timeout

    def __repr__(self) -> str:  # Twisted's pool logs it: the proxy's password is not in it
        return f"<Socks5Endpoint {self.host}:{self.port} via {self.proxy.shown}>"

    def connect(self, protocolFactory: IProtocolFactory) -> Deferred[Any]:
        pending: list[Deferred[Any]] = []
        handshakes: list[_Socks5Handshake] = []

        def cancel(_: Deferred[Any]) -> None:
            for step in pending:
                if not step.called:
                    step.cancel()
            for handshake in handshakes:
                if handshake.transport is not None:
                    handshake.transport.abortConnection()  # type: ignore[attr-defined]

        done: Deferred[Any] = Deferred(cancel)

        def failed(failure: Failure) -> None:
            if not done.called:
                done.errback(failure)

        def handshake(host: str) -> _Socks5Handshake:
            protocol = _Socks5Handshake(self.proxy, host, self.port, protocolFactory, done)
            handshakes.append(protocol)
            return protocol

        def open_to(host: str) -> None:
            endpoint = HostnameEndpoint(self.reactor, self.proxy.host, self.proxy.port, timeout=self.timeout)
            connecting = endpoint.connect(_HandshakeFactory(lambda: handshake(host)))
            pending.append(connecting)
            connecting.addErrback(failed)

        host = self.host.strip("[]")
        if self.proxy.remote_dns or _is_address(host):
            open_to(host)
        else:  # socks5://: the name is resolved here, the proxy is given the address
            resolving = self.reactor.resolve(host)
            pending.append(resolving)
            resolving.addCallbacks(open_to, failed)
        return done


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class SocksConnectionPool(HTTPConnectionPool):
    """Twisted's connection pool whose new connections are opened through the SOCKS5 proxy: the Agent hands
    the pool a direct endpoint with the key (scheme, host, port, ...); the key is all a connection through the
    proxy needs."""

    def __init__(self, reactor: Any, proxy: Proxy, tls_policy: Any, timeout: float) -> None:
        super().__init__(reactor, persistent=True)
        self.proxy, self.tls_policy, self.timeout = proxy, tls_policy, timeout

    def getConnection(self, key: Hashable, endpoint: IStreamClientEndpoint) -> Deferred[Any]:
        return super().getConnection(key, self.endpoint_for(key))

    def endpoint_for(self, key: Any) -> IStreamClientEndpoint:
        scheme, host, port = key[0], key[1], key[2]
        name = host.decode("ascii") if isinstance(host, bytes) else str(host)
        endpoint: IStreamClientEndpoint = Socks5Endpoint(self._reactor, self.proxy, name, int(port), self.timeout)
        if scheme in (b"https", "https"):
            host_bytes = host if isinstance(host, bytes) else name.encode("ascii")
            endpoint = wrapClientTLS(self.tls_policy.creatorForNetloc(host_bytes, int(port)), endpoint)
        return endpoint


class SocksDownloadHandler(PoliteDownloadHandler):
    """Our download handler (Scrapy's HTTP/1.1 handler behind the politeness gate) with its connection pool
    replaced by one that connects through the source's SOCKS5 proxy; installed only for such sources."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        from twisted.internet import reactor

        proxy = Proxy.parse(crawler.settings["SAMIZDAT_PROXY"])
        if not proxy.socks:
            raise NotConfigured(f"{proxy.shown} is not a SOCKS5 proxy")
        direct = self._pool
        pool = SocksConnectionPool(reactor, proxy, self._contextFactory, crawler.settings.getfloat("DOWNLOAD_TIMEOUT"))
        pool.maxPersistentPerHost = direct.maxPersistentPerHost
        pool._factory = direct._factory  # Scrapy's lenient HTTP/1.1 client protocol
        self._pool = pool
