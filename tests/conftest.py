"""Shared fixtures: the sample sites served over real HTTP, and one crawl of them per test session."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from samizdat.sample_sites import sources_toml
from samizdat.sample_sites.sites import MAGAZINE_SITES


@dataclass
class SampleSites:
    urls: dict[str, str]
    log: Path
    process: subprocess.Popen
    cdn: str = ""  # the sample CDN's base URL, http://localhost:PORT (another host than the sites)

    def requests(self) -> list[dict]:
        return [json.loads(line) for line in self.log.read_text(encoding="utf-8").splitlines() if line.strip()]


@dataclass
class Crawl:
    data: Path
    config: Path
    result: subprocess.CompletedProcess
    sites: SampleSites
    requests: list[dict]  # what the sample sites served during this crawl


def run_cli(*args: object, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run `samizdat ...` as a user would, in a process of its own (Twisted's reactor runs once per process)."""
    return subprocess.run(
        [sys.executable, "-m", "samizdat", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture(scope="session")
def sample_sites(tmp_path_factory) -> SampleSites:
    log = tmp_path_factory.mktemp("server") / "requests.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "samizdat.sample_sites", "--log", str(log)], stdout=subprocess.PIPE, text=True
    )
    line = process.stdout.readline()
    assert line, "the sample site server printed no address"
    urls = json.loads(line)
    yield SampleSites(urls=urls, log=log, process=process, cdn=urls.pop("cdn"))
    process.terminate()
    process.wait(timeout=10)


def write_config(path: Path, sites: SampleSites, with_kind: bool = True, extra: str = "") -> Path:
    chosen = tuple(sites.urls) if set(sites.urls) <= set(MAGAZINE_SITES) else None
    path.write_text(
        sources_toml(sites.urls, with_kind=with_kind, sites=chosen)
        + extra
        + "\n[settings]\ntimeout_seconds = 10\nprogress_seconds = 0\n",
        encoding="utf-8",
    )
    return path


def crawl_sites(sites: SampleSites, root: Path, with_kind: bool) -> Crawl:
    config = write_config(root / "sources.toml", sites, with_kind=with_kind)
    before = len(sites.requests())
    result = run_cli("crawl", "--config", config, "--data", root / "data")
    assert result.returncode == 0, result.stdout + result.stderr
    return Crawl(root / "data", config, result, sites, sites.requests()[before:])


@pytest.fixture(scope="session")
def crawl(sample_sites, tmp_path_factory) -> Crawl:
    """The sample sites crawled once, each source naming its kind, shared by the tests that only read it."""
    return crawl_sites(sample_sites, tmp_path_factory.mktemp("crawl"), with_kind=True)


@pytest.fixture(scope="session")
def crawl_detected(sample_sites, tmp_path_factory) -> Crawl:
    """The same sites crawled with no `kind` given: each must be recognised from the site itself."""
    return crawl_sites(sample_sites, tmp_path_factory.mktemp("crawl-detected"), with_kind=False)


@pytest.fixture(scope="session")
def magazine_sites(tmp_path_factory) -> SampleSites:
    """The three magazines laid out as real ones are (clarion, quarry, lamplighter), served apart from the
    default sites so that the default crawl and its figures stay as they are."""
    log = tmp_path_factory.mktemp("magazine-server") / "requests.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "samizdat.sample_sites", "--log", str(log), "--sites", ",".join(MAGAZINE_SITES)],
        stdout=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()
    assert line, "the sample site server printed no address"
    urls = json.loads(line)
    yield SampleSites(urls=urls, log=log, process=process, cdn=urls.pop("cdn"))
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="session")
def crawl_magazines(magazine_sites, tmp_path_factory) -> Crawl:
    """The three magazines crawled once, each source naming its kind (magazine)."""
    return crawl_sites(magazine_sites, tmp_path_factory.mktemp("crawl-magazines"), with_kind=True)


@pytest.fixture(scope="session")
def crawl_magazines_detected(magazine_sites, tmp_path_factory) -> Crawl:
    """The three magazines crawled with no `kind`: each must be recognised from its back issues and issues."""
    return crawl_sites(magazine_sites, tmp_path_factory.mktemp("crawl-magazines-detected"), with_kind=False)


def export_records(data: Path, *args: str) -> list[dict]:
    result = run_cli("export", "--format", "jsonl", "--data", data, *args)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


class Server:
    """A samizdat process that ends by serving; `url` is the address it announced."""

    def __init__(self, *args: object) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "samizdat", *map(str, args)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.url = self._wait_for_address()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line)

    def _wait_for_address(self, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            self.output.append(line)
            match = re.search(r" at (http://\S+/)", line)
            if match:
                return match.group(1)
        self.stop()
        raise AssertionError("no address announced:\n" + "".join(self.output) + self.process.stderr.read())

    def get_json(self, path: str) -> dict:
        with urllib.request.urlopen(self.url + path.lstrip("/"), timeout=30) as response:
            return json.load(response)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)


@pytest.fixture(scope="session")
def web(crawl) -> Server:
    """`samizdat serve` on the session's crawl, for the browser tests."""
    server = Server("serve", "--port", "0", "--data", crawl.data, "--config", crawl.config)
    yield server
    server.stop()


# -- the hostile site (tests/hostile_site.py), crawled once per session ------------------------------------

HOSTILE_TIMEOUT = 4  # timeout_seconds of the hostile crawl


@dataclass
class HostileCrawl:
    """The hostile site crawled by two sources: `hostile` (generic, everything but /xss/) and `payloads` (a
    WordPress source of the XSS payload pages under /xss/, whose reader keeps a byline's markup as written)."""

    base: str
    data: Path
    config: Path
    log: Path  # the site's access log
    crawled: subprocess.CompletedProcess
    seconds: float
    peak: int  # bytes: the largest process of the crawl
    requests: list[dict]  # what the site served during the crawl
    export: bytes  # the JSONL export, as written

    def records(self) -> list[dict]:
        return [json.loads(line) for line in self.export.decode("utf-8").splitlines()]

    def by_path(self) -> dict[str, list[dict]]:
        out: dict[str, list[dict]] = {}
        for request in self.requests:
            out.setdefault(request["path"], []).append(request)
        return out

    def summary(self, source: str = "hostile") -> dict:
        report = run_cli("report", source, "--config", self.config, "--data", self.data, "--json")
        assert report.returncode == 0, report.stderr
        return json.loads(report.stdout)


def export_jsonl(data: Path, out: Path) -> bytes:
    """`samizdat export --format jsonl -o OUT`, and the bytes it wrote."""
    result = run_cli("export", "--format", "jsonl", "--data", data, "-o", out)
    assert result.returncode == 0, result.stderr
    return out.read_bytes()


@pytest.fixture(scope="session")
def hostile(tmp_path_factory) -> HostileCrawl:
    from tests.helpers import read_requests, run_measured  # helpers imports nothing from here

    root = tmp_path_factory.mktemp("hostile")
    log = root / "requests.jsonl"
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.hostile_site", "--log", str(log)],
        stdin=subprocess.PIPE,  # the site stops when this session ends, however it ends
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        base = server.stdout.readline().strip()
        assert base.startswith("http://127.0.0.1:"), base
        config = root / "sources.toml"
        config.write_text(
            f'[[source]]\nname = "hostile"\nstart_urls = ["{base}/"]\nexclude = ["/xss/"]\ndelay = 0\n\n'
            f'[[source]]\nname = "payloads"\nkind = "wordpress"\nstart_urls = ["{base}/xss/"]\n'
            'include = ["/xss/"]\ndelay = 0\n'
            f"\n[settings]\ntimeout_seconds = {HOSTILE_TIMEOUT}\nprogress_seconds = 0\n",
            encoding="utf-8",
        )
        data = root / "data"
        started = time.monotonic()
        crawled, peak = run_measured("crawl", "--config", config, "--data", data)
        seconds = time.monotonic() - started
        assert crawled.returncode == 0, crawled.stdout + crawled.stderr
        time.sleep(0.5)  # the site logs a request when it ends: a trickle may still be noticing the close
        export = export_jsonl(data, root / "crawl.jsonl")
        yield HostileCrawl(base, data, config, log, crawled, seconds, peak, read_requests(log), export)
    finally:
        server.kill()
        server.wait(timeout=10)


CHROMIUM = "/usr/bin/chromium"  # Debian's package (README's test command); Playwright downloads no browser
# As root in a container Chromium needs --no-sandbox; the rest stop it calling Google on start.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-default-apps"]  # fmt: skip


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium for the browser tests of one module."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()
