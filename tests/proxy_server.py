"""A real HTTP and SOCKS5 proxy on 127.0.0.1 for the proxy tests, in a process of its own:

    python tests/proxy_server.py --log FILE [--user U --password P] [--host NAME=ADDRESS ...]

prints {"http": "127.0.0.1:PORT", "socks": "127.0.0.1:PORT"} as one JSON line, then serves until
SIGTERM. The HTTP proxy forwards absolute-URI requests (one per connection) and opens CONNECT tunnels; the
SOCKS5 proxy (RFC 1928, user name and password RFC 1929) connects to an IPv4/IPv6 address or a host name,
which it resolves itself (--host maps a name that only the proxy knows, as for a site blocked by region).

Every request that passes is appended to FILE as a JSON line: {"proxy": "http"|"socks", "request": "GET
/robots.txt", "target": "host:port", "target_type": "name"|"address", "auth": true|false}; a tunnel (HTTP
CONNECT, or a SOCKS5 connection) is logged as "CONNECT host:port" when it opens, and the SOCKS5 proxy also
logs the request lines it sees inside its tunnels (those of plain http sites). A request without the
right credentials is refused (407, or SOCKS5 authentication failure) and logged with "refused": true.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import ipaddress
import json
import re
import signal
import socket
from typing import Any
from urllib.parse import urlsplit

REQUEST_LINE = re.compile(rb"^([A-Z]+) (\S+) HTTP/1\.[01]\r$", re.MULTILINE)


class Proxy:
    def __init__(self, log: str, user: str | None, password: str | None, hosts: dict[str, str]) -> None:
        self.log = open(log, "a", encoding="utf-8")  # noqa: SIM115 (open while serving)
        self.user, self.password, self.hosts = user, password, hosts

    def record(self, **entry: Any) -> None:
        self.log.write(json.dumps(entry) + "\n")
        self.log.flush()

    async def open(self, host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection(self.hosts.get(host, host), port)

    # HTTP

    async def http(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ")
        headers = [tuple(line.split(":", 1)) for line in lines[1:] if ":" in line]
        authorized = self.authorized(dict((k.strip().lower(), v.strip()) for k, v in headers))
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            self.record(
                proxy="http", request=f"CONNECT {target}", target=target, auth=authorized, refused=not authorized
            )
            if not authorized:
                await self.answer(writer, b"407 Proxy Authentication Required")
                return
            upstream = await self.open(host, int(port))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await self.relay(reader, writer, upstream, "http", target)
            return
        parts = urlsplit(target)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        address = f"{parts.hostname}:{parts.port or 80}"
        self.record(proxy="http", request=f"{method} {path}", target=address, auth=authorized, refused=not authorized)
        if not authorized:
            await self.answer(writer, b"407 Proxy Authentication Required")
            return
        upstream_reader, upstream_writer = await self.open(parts.hostname or "", parts.port or 80)
        kept = [
            f"{k}:{v}"
            for k, v in headers
            if k.strip().lower() not in ("proxy-authorization", "proxy-connection", "connection", "keep-alive")
        ]
        forwarded = "\r\n".join([f"{method} {path} {version}", *kept, "Connection: close", "", ""])
        upstream_writer.write(forwarded.encode("latin-1"))
        length = int(dict((k.strip().lower(), v.strip()) for k, v in headers).get("content-length", 0))
        if length:
            upstream_writer.write(await reader.readexactly(length))
        # One request per connection: the response says so, whatever the site said.
        response_head = await upstream_reader.readuntil(b"\r\n\r\n")
        response_lines = [
            line
            for line in response_head.split(b"\r\n")
            if line and not line.lower().startswith((b"connection:", b"keep-alive:"))
        ]
        writer.write(b"\r\n".join([*response_lines, b"Connection: close", b"", b""]))
        while chunk := await upstream_reader.read(65536):
            writer.write(chunk)
            await writer.drain()
        upstream_writer.close()
        writer.close()

    def authorized(self, headers: dict[str, str]) -> bool:
        if self.user is None:
            return True
        expected = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        return headers.get("proxy-authorization") == f"Basic {expected}"

    async def answer(self, writer: asyncio.StreamWriter, status: bytes) -> None:
        writer.write(b"HTTP/1.1 " + status + b"\r\nProxy-Authenticate: Basic\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    # SOCKS5

    async def socks(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self.socks_session(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def socks_session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        version, count = await reader.readexactly(2)
        methods = await reader.readexactly(count)
        wanted = 2 if self.user is not None else 0
        if version != 5 or wanted not in methods:
            writer.write(b"\x05\xff")
            self.record(proxy="socks", request="(no acceptable method)", target="", auth=False, refused=True)
            writer.close()
            return
        writer.write(bytes([5, wanted]))
        if wanted == 2:
            _, user_length = await reader.readexactly(2)
            user = (await reader.readexactly(user_length)).decode()
            (password_length,) = await reader.readexactly(1)
            password = (await reader.readexactly(password_length)).decode()
            if (user, password) != (self.user, self.password):
                writer.write(b"\x01\x01")
                self.record(proxy="socks", request="(bad credentials)", target="", auth=False, refused=True)
                writer.close()
                return
            writer.write(b"\x01\x00")
        _, command, _, kind = await reader.readexactly(4)
        if kind == 1:
            host = str(ipaddress.IPv4Address(await reader.readexactly(4)))
        elif kind == 4:
            host = str(ipaddress.IPv6Address(await reader.readexactly(16)))
        else:
            (length,) = await reader.readexactly(1)
            host = (await reader.readexactly(length)).decode("idna")
        port = int.from_bytes(await reader.readexactly(2), "big")
        target = f"{host}:{port}"
        target_type = "name" if kind == 3 else "address"
        try:
            if command != 1:
                raise OSError("only CONNECT")
            upstream = await self.open(host, port)
        except OSError:
            writer.write(b"\x05\x05\x00\x01" + bytes(6))  # connection refused
            self.record(proxy="socks", request="(cannot connect)", target=target, target_type=target_type, refused=True)
            writer.close()
            return
        self.record(
            proxy="socks", request=f"CONNECT {target}", target=target, target_type=target_type, auth=wanted == 2
        )
        writer.write(b"\x05\x00\x00\x01" + socket.inet_aton("127.0.0.1") + (0).to_bytes(2, "big"))
        await self.relay(reader, writer, upstream, "socks", target, target_type, wanted == 2)

    # both

    async def relay(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        proxy: str,
        target: str,
        target_type: str = "name",
        auth: bool = True,
    ) -> None:
        upstream_reader, upstream_writer = upstream
        seen = bytearray()

        async def client_to_site() -> None:
            while chunk := await reader.read(65536):
                if proxy == "socks":  # the request lines inside the tunnel
                    seen.extend(chunk)
                    end = seen.rfind(b"\r\n\r\n")
                    if end >= 0:
                        for match in REQUEST_LINE.finditer(bytes(seen[: end + 4])):
                            request = f"{match[1].decode()} {match[2].decode('latin-1')}"
                            self.record(proxy=proxy, request=request, target=target, target_type=target_type, auth=auth)
                        del seen[: end + 4]
                upstream_writer.write(chunk)
                await upstream_writer.drain()
            upstream_writer.close()

        async def site_to_client() -> None:
            while chunk := await upstream_reader.read(65536):
                writer.write(chunk)
                await writer.drain()
            writer.close()

        try:
            await asyncio.gather(client_to_site(), site_to_client())
        except ConnectionError:
            pass
        finally:
            writer.close()
            upstream_writer.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--log", required=True)
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--host", action="append", default=[], help="NAME=ADDRESS, resolved by the proxy only")
    args = parser.parse_args()
    proxy = Proxy(args.log, args.user, args.password, dict(h.split("=", 1) for h in args.host))
    http = await asyncio.start_server(proxy.http, "127.0.0.1", 0)
    socks = await asyncio.start_server(proxy.socks, "127.0.0.1", 0)
    ports = {name: server.sockets[0].getsockname()[1] for name, server in (("http", http), ("socks", socks))}
    print(json.dumps({"http": f"127.0.0.1:{ports['http']}", "socks": f"127.0.0.1:{ports['socks']}"}), flush=True)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
