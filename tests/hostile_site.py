"""The hostile test site: what broken and malicious servers throw at a crawler, on 127.0.0.1.

    python -m tests.hostile_site --log requests.jsonl [--lifetime 900]

prints its base URL ("http://127.0.0.1:PORT") and serves until its standard input closes (the test that
started it ended, or died) or `--lifetime` seconds pass. Every request is logged to --log when it ends, as
one JSON object: `time` (arrival), `ended`, `host` (the Host header), `path`, `status`, `sent` (bytes of the
body written before the answer ended or the client went away) and `aborted` (the client went away first).

Its pages, by path (the `--crawl-delay` of robots.txt is 0.3 s):
- `/robots.txt`: `Crawl-delay`, `Disallow: /private/` (which articles link to), and a `Sitemap:` that is an
  entity-expansion bomb (`/sitemap.xml`).
- `/articles/*`: articles that must come out of the crawl readable. Cyrillic text in KOI8-R declared only in
  `<meta charset>`, windows-1251 declared only in `<meta http-equiv>`, windows-1251 not declared at all, and
  UTF-8 with invalid bytes between its sentences; meta refreshes to `javascript:` and `data:`; a 429 and a
  503 with `Retry-After` before the page; links into `/private/` and off-site (to `localhost`, also through
  `<base href>`).
- `/xss/*`: the payload pages of tests/hostile_payloads.py, listed at `/xss/`.
- `/bomb/*`: gzip, double-gzip and deflate bodies that inflate past 1 GiB.
- `/endless/*`: HTML bodies of 512 MiB without a Content-Length, chunked or ended by closing the connection.
- `/trickle/*`: a body, and a header block, that trickle a byte every 2 seconds.
- `/redirect/*`: a redirect loop and a 10,000-step redirect chain.
- `/junk/*`: links with query strings from 1 KB to 1 MB, 50,000 links, 100,000 nested elements, a table of
  absurd colspans, a million elements, megabytes of binary served as `text/html`.
- `/challenge/*`: a protection service's challenge page, at 403 and at 200.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import sys
import threading
import time
import zlib
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.hostile_payloads import PAGES as XSS_PAGES

MIB = 1 << 20
BOMB_MIB = 1100  # inflates to more than 1 GiB
ENDLESS_BYTES = 512 * MIB
TRICKLE_SECONDS = 2.0
CRAWL_DELAY = 0.3
RETRY_AFTER = {"/articles/retry-429.html": (429, 3), "/articles/retry-503.html": (503, 2)}

# Our own sentences: each must come out of the crawl verbatim, whatever its page's encoding.
CYRILLIC = {
    "koi8r": "Жильцы дома на Садовой собрались во дворе и решили писать в районную управу.",
    "cp1251-http-equiv": "Школьный хор репетировал в подвале, пока наверху чинили крышу.",
    "cp1251-undeclared": "Библиотека на углу снова открылась, и очередь за книгами тянулась до самой остановки.",
    "invalid-utf8": "Газету печатали ночью на старом ротаторе, а утром раздавали у проходной.",
}
ENGLISH = (
    "The allotment society kept its minutes in pencil, so that every decision could be argued over again. "
    "Nobody minded: the arguments were the point, and the marrows grew regardless. "
)


# -- bombs, built without ever holding what they inflate to ------------------------------------------------


def deflate_zeros(mib: int) -> bytes:
    """A raw deflate stream of `mib` MiB of zeros. Each MiB is compressed after a full flush, which resets
    the compressor, so every MiB after the first compresses to the same bytes: compressed once, repeated."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros = bytes(MIB)
    first = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    assert compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH) == block
    return first + block * (mib - 1) + compressor.flush()


def checksums(mib: int) -> tuple[int, int]:
    """(CRC-32, Adler-32) of `mib` MiB of zeros, a MiB at a time."""
    zeros = bytes(MIB)
    crc, adler = 0, 1
    for _ in range(mib):
        crc, adler = zlib.crc32(zeros, crc), zlib.adler32(zeros, adler)
    return crc, adler


def bombs(mib: int = BOMB_MIB) -> dict[str, tuple[str, bytes]]:
    """name -> (Content-Encoding, body): each inflates to `mib` MiB of zeros."""
    raw = deflate_zeros(mib)
    crc, adler = checksums(mib)
    size = (mib * MIB) & 0xFFFFFFFF
    gzipped = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + raw + crc.to_bytes(4, "little") + size.to_bytes(4, "little")
    zlibbed = b"\x78\xda" + raw + adler.to_bytes(4, "big")
    return {
        "gzip": ("gzip", gzipped),
        "double-gzip": ("gzip, gzip", gzip.compress(gzipped)),
        "deflate": ("deflate", zlibbed),
        "raw-deflate": ("deflate", raw),
    }


# -- pages -------------------------------------------------------------------------------------------------

Page = tuple[int, list[tuple[str, str]], bytes]  # status, headers, body


def html(title: str, body: str, head: str = "", charset: str | None = "utf-8") -> str:
    meta = f'<meta charset="{charset}">' if charset else ""
    return (
        f"<!DOCTYPE html><html><head>{meta}{head}<title>{title}</title></head><body>"
        f"<header><a href='/'>The hostile site</a></header>{body}<footer>The hostile site</footer></body></html>"
    )


def article(title: str, paragraphs: list[str], head: str = "", charset: str | None = "utf-8", extra: str = "") -> str:
    text = "".join(f"<p>{p}</p>" for p in paragraphs)
    return html(
        title,
        f"<main><article><h1>{title}</h1><p class='byline'>By A. Resident, 3 March 2024</p>"
        f"{text}{extra}</article></main>",
        head,
        charset,
    )


def english(n: int, name: str) -> list[str]:
    return [f"{name}, part {i}. {ENGLISH}" for i in range(n)]


def cyrillic(name: str) -> list[str]:
    return [CYRILLIC[name], *english(4, name)]


def static_pages(port: int) -> dict[str, Page]:
    """Every page that is the same on each request, by path."""
    ctype = [("Content-Type", "text/html; charset=utf-8")]
    plain_html = [("Content-Type", "text/html")]
    offsite = f"http://localhost:{port}"
    pages: dict[str, Page] = {}

    def add(path: str, body: str | bytes, headers: list[tuple[str, str]] = ctype, status: int = 200) -> None:
        pages[path] = (status, headers, body.encode() if isinstance(body, str) else body)

    add(
        "/robots.txt",
        f"User-agent: *\nCrawl-delay: {CRAWL_DELAY}\nDisallow: /private/\nSitemap: http://127.0.0.1:{port}/sitemap.xml\n",
        [("Content-Type", "text/plain")],
    )
    add("/sitemap.xml", sitemap_bomb(port), [("Content-Type", "application/xml")])

    # Cyrillic, in every way a page can say (or not say) its encoding
    add("/articles/koi8r.html", article("Садовая", cyrillic("koi8r"), charset="koi8-r").encode("koi8-r"), plain_html)
    http_equiv = '<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">'
    add(
        "/articles/cp1251-http-equiv.html",
        article("Хор", cyrillic("cp1251-http-equiv"), head=http_equiv, charset=None).encode("cp1251"),
        plain_html,
    )
    add(
        "/articles/cp1251-undeclared.html",
        article("Библиотека", cyrillic("cp1251-undeclared"), charset=None).encode("cp1251"),
        plain_html,
    )
    broken = article("Ротатор", cyrillic("invalid-utf8")).encode()
    broken = broken.replace(b"</p><p>", b"</p>\xff\xfe\xc3\x28<p>", 2).replace(b"part 3", b"part \xe2\x82 3")
    add("/articles/invalid-utf8.html", broken, ctype)

    # meta refreshes that lead nowhere a crawler may go
    add(
        "/articles/refresh-javascript.html",
        article(
            "Refresh to javascript",
            english(5, "refresh-javascript"),
            '<meta http-equiv="refresh" content="600;url=javascript:alert(1)">',
        ),
    )
    add(
        "/articles/refresh-data.html",
        article(
            "Refresh to data",
            english(5, "refresh-data"),
            '<meta http-equiv="refresh" content="0;url=data:text/html,<script>alert(1)</script>">',
        ),
    )

    # a refresh the crawl follows instead of reading the page: a reindex must not read it either
    add(
        "/articles/refresh-soon.html",
        article(
            "Refresh soon",
            english(5, "refresh-soon"),
            '<meta http-equiv="refresh" content="1; url=/articles/refreshed.html">',
        ),
    )
    add("/articles/refreshed.html", article("Refreshed", english(5, "refreshed")))

    # links into the disallowed part and off the site, directly and through <base href>
    add(
        "/articles/links-out.html",
        article(
            "Links out",
            english(5, "links-out"),
            extra=(
                "<p><a href='/private/minutes.html'>the minutes</a> <a href='/private/'>private</a> "
                f"<a href='{offsite}/elsewhere/page.html'>elsewhere</a></p>"
            ),
        ),
    )
    add(
        "/articles/base-href.html",
        article(
            "Base href",
            english(5, "base-href"),
            head=f'<base href="{offsite}/based/">',
            extra=(
                "<p><a href='page.html'>relative</a> <a href='../private/x.html'>up</a> "
                "<a href='/rooted.html'>rooted</a></p>"
            ),
        ),
    )
    add("/private/minutes.html", article("Private minutes", english(5, "private")))

    # Retry-After: the answer before the page (served by the handler); the page itself
    for path in RETRY_AFTER:
        name = path.rsplit("/", 1)[1].removesuffix(".html")
        add(path, article(f"After {name}", english(5, name)))

    # a protection service's challenge, and an article that says the word
    challenge = (
        "<html><head><title>Just a moment...</title></head><body><h1>127.0.0.1</h1>"
        "<p>Checking if the site connection is secure</p><div id='cf-challenge-running'></div>"
        "<noscript>Enable JavaScript and cookies to continue</noscript>"
        "<script src='/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/v1'></script></body></html>"
    )
    add("/challenge/403.html", challenge, status=403)
    add("/challenge/200.html", challenge)

    for name, (encoding, body) in bombs().items():
        add(f"/bomb/{name}.html", body, [*ctype, ("Content-Encoding", encoding)])

    add(
        "/junk/long-queries.html",
        html(
            "Long queries",
            "".join(
                f"<p><a href='/junk/q.html?x={'a' * size}'>{size} bytes</a></p>"
                for size in (1000, 10_000, 100_000, 1_000_000)
            ),
        ),
    )
    add("/junk/q.html", article("A query", english(5, "query")))
    add(
        "/junk/links-50k.html",
        html(
            "Fifty thousand links",
            "<ul>"
            + "".join(f"<li><a href='{offsite}/many/{n}.html'>link {n}</a></li>" for n in range(50_000))
            + "</ul>",
        ),
    )
    add("/junk/nested-100k.html", html("Nested", "<div>" * 100_000 + "<p>At the bottom.</p>" + "</div>" * 100_000))
    rows = "".join(f"<tr><td colspan='1000000' rowspan='65534'>cell {n}</td></tr>" for n in range(2000))
    add("/junk/colspans.html", html("Colspans", f"<table>{rows}</table>"))
    add("/junk/binary.html", random.Random(11).randbytes(4 * MIB), ctype)

    million = "<article>" + "<span>w</span> " * 1_000_000 + "</article>"
    add("/junk/elements-1m.html", html("A million elements", million))

    for path, (headers, body) in XSS_PAGES.items():
        add(path, body, headers)
    add("/xss/", html("Payloads", "<ul>" + "".join(f"<li><a href='{p}'>{p}</a></li>" for p in XSS_PAGES) + "</ul>"))

    # Slow answers last: a 429 or 503 slows the host down for the rest of the crawl.
    slow = [*RETRY_AFTER, "/challenge/403.html", "/challenge/200.html"]
    links = [p for p in pages if p not in ("/robots.txt", "/sitemap.xml", *slow) and not p.startswith("/private/")]
    links += ["/endless/chunked.html", "/endless/close.html", "/trickle/body.html", "/trickle/headers.html"]
    links += ["/redirect/loop-a.html", "/redirect/chain/0.html", *slow]
    add("/", html("The hostile site", "<ul>" + "".join(f"<li><a href='{p}'>{p}</a></li>" for p in links) + "</ul>"))
    return pages


def sitemap_bomb(port: int) -> str:
    """The billion laughs, in a sitemap: ten levels of ten, so expanding it writes 10^10 URLs."""
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{n} "{("&lol" + str(n - 1) + ";") * 10}">' for n in range(1, 11)
    ]
    return (
        '<?xml version="1.0"?><!DOCTYPE urlset [' + "".join(entities) + "]>"
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<url><loc>http://127.0.0.1:{port}/articles/&lol10;.html</loc></url></urlset>"
    )


# -- the server --------------------------------------------------------------------------------------------


class Gone(Exception):
    """The client went away."""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: HostileServer

    def do_GET(self) -> None:
        self.arrived, self.sent, self.status, self.aborted = time.time(), 0, 0, False
        path = self.path.split("?", 1)[0]
        try:
            self.answer(path)
        except (Gone, ConnectionError, TimeoutError):
            self.aborted = True
            self.close_connection = True
        finally:
            self.server.record(
                {
                    "time": self.arrived,
                    "ended": time.time(),
                    "host": self.headers.get("Host", ""),
                    "path": path,
                    "query_bytes": len(self.path) - len(path),
                    "status": self.status,
                    "sent": self.sent,
                    "aborted": self.aborted,
                }
            )

    def answer(self, path: str) -> None:
        if path in RETRY_AFTER and self.server.first_time(path):
            status, seconds = RETRY_AFTER[path]
            self.respond(status, [("Content-Type", "text/plain"), ("Retry-After", str(seconds))], b"Slow down.")
            return
        special: dict[str, Callable[[], None]] = {
            "/endless/chunked.html": self.endless_chunked,
            "/endless/close.html": self.endless_close,
            "/trickle/body.html": self.trickle_body,
            "/trickle/headers.html": self.trickle_headers,
            "/redirect/loop-a.html": lambda: self.redirect("/redirect/loop-b.html"),
            "/redirect/loop-b.html": lambda: self.redirect("/redirect/loop-a.html"),
        }
        if path in special:
            special[path]()
        elif path.startswith("/redirect/chain/"):
            step = int(path.rsplit("/", 1)[1].removesuffix(".html") or 0)
            self.redirect(f"/redirect/chain/{step + 1}.html" if step < 10_000 else "/articles/koi8r.html")
        elif path in self.server.pages:
            self.respond(*self.server.pages[path])
        else:
            self.respond(404, [("Content-Type", "text/html; charset=utf-8")], b"<html><body>Not here.</body></html>")

    def respond(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status = status
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.write(body)

    def write(self, data: bytes) -> None:
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except OSError as exc:
            raise Gone from exc
        self.sent += len(data)

    def redirect(self, location: str) -> None:
        self.respond(302, [("Location", location), ("Content-Type", "text/plain")], b"moved")

    def endless_chunked(self) -> None:
        self.status = 200
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        block = ("<p>" + ENGLISH * 80 + "</p>").encode()
        chunk = f"{len(block):x}\r\n".encode() + block + b"\r\n"
        self.write(b"5\r\n<html\r\n")
        while self.sent < ENDLESS_BYTES:
            self.write(chunk)
        self.write(b"0\r\n\r\n")

    def endless_close(self) -> None:
        self.status = 200
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Connection", "close")
        self.end_headers()
        block = ("<p>" + ENGLISH * 80 + "</p>").encode()
        self.write(b"<html><body>")
        while self.sent < ENDLESS_BYTES:
            self.write(block)

    def trickle_body(self) -> None:
        self.status = 200
        body = article("Trickle", english(5, "trickle")).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        for byte in body:
            self.write(bytes([byte]))
            time.sleep(TRICKLE_SECONDS)

    def trickle_headers(self) -> None:
        self.status = 200
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Slow: " + b"s" * 10_000 + b"\r\n\r\n"
        for byte in head:
            self.write(bytes([byte]))  # counted in `sent`, though no body has begun
            time.sleep(TRICKLE_SECONDS)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class HostileServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(self, log: Path) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.pages = static_pages(self.server_address[1])
        self.log = log.open("a", encoding="utf-8")
        self.lock = threading.Lock()
        self.answered: set[str] = set()

    def record(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.log.write(json.dumps(entry) + "\n")
            self.log.flush()

    def first_time(self, path: str) -> bool:
        with self.lock:
            first = path not in self.answered
            self.answered.add(path)
            return first


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--lifetime", type=float, default=900, help="seconds before it stops on its own")
    args = parser.parse_args(argv)
    server = HostileServer(args.log)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    # Stop when whoever started us goes away (standard input closes) or the lifetime runs out.
    watcher = threading.Thread(target=sys.stdin.read, daemon=True)
    watcher.start()
    watcher.join(args.lifetime)
    os._exit(0)  # threads may be stuck writing to a client that never reads


if __name__ == "__main__":
    main()
