"""A source's `proxy`: one sample site crawled through a real HTTP proxy and a real SOCKS5 proxy on 127.0.0.1
(tests/proxy_server.py, which logs every request it carries), against a direct crawl of the same site."""

from __future__ import annotations

import base64
import gzip
import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from warcio.archiveiterator import ArchiveIterator

from samizdat.sample_sites import sources_toml
from tests.conftest import export_records, run_cli
from tests.helpers import SampleSitesProcess, serve_sample_sites

SERVER = Path(__file__).resolve().parent / "proxy_server.py"
USER, PASSWORD = "ana", "pa:ss/w0rd@x"  # every character that must be %-encoded in a URL
SECRETS = (PASSWORD, quote(PASSWORD, safe=""), base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode())
CREDENTIALS = f"{USER}:{quote(PASSWORD, safe='')}@"
VARYING = ("fetched_at", "warc_file", "warc_offset")  # where and when a copy was written


@dataclass
class ProxyProcess:
    http: str  # host:port
    socks: str
    log: Path
    process: subprocess.Popen

    def entries(self) -> list[dict[str, Any]]:
        """Everything the proxy logged: tunnels opened ("CONNECT host:port") and the requests it carried."""
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text(encoding="utf-8").splitlines() if line.strip()]

    def requests(self) -> list[dict[str, Any]]:
        """The HTTP requests it carried (in its SOCKS5 tunnels too, for plain http sites)."""
        return [e for e in self.entries() if not e["request"].startswith("CONNECT ")]


def start_proxy(directory: Path, *options: str) -> ProxyProcess:
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / "proxy.jsonl"
    process = subprocess.Popen(
        [sys.executable, str(SERVER), "--log", str(log), *options], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line, "the proxy printed no address"
    addresses = json.loads(line)
    return ProxyProcess(addresses["http"], addresses["socks"], log, process)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[SampleSitesProcess]:
    with serve_sample_sites(tmp_path_factory.mktemp("proxy-site"), "--sites", "hugo") as sites:
        yield sites


@pytest.fixture(scope="module")
def proxy(tmp_path_factory, site) -> Iterator[ProxyProcess]:
    """Both proxies, wanting a user name and password; "blocked.invalid" is a name only they can resolve."""
    server = start_proxy(
        tmp_path_factory.mktemp("proxy"), "--user", USER, "--password", PASSWORD, "--host", "blocked.invalid=127.0.0.1"
    )
    yield server
    server.process.terminate()
    server.process.wait(timeout=10)
    assert server.process.stdout is not None
    server.process.stdout.close()


def write_sources(
    path: Path, site: SampleSitesProcess, proxy: str | None, start: str | None = None, settings: str = ""
) -> Path:
    text = sources_toml(site.urls, sites=("hugo",))
    if start:
        text = text.replace(f'["{site.urls["hugo"]}/"]', f'["{start}"]')
        hosts = [re.sub(r"^https?://|/.*$", "", start), site.urls["hugo"].removeprefix("http://")]
        text += f"allowed_domains = {json.dumps(hosts)}\n"
    if proxy:
        text += f'proxy = "{proxy}"\n'
    settings = settings or "timeout_seconds = 10\n"
    path.write_text(text + f"\n[settings]\nprogress_seconds = 0\n{settings}", encoding="utf-8")
    return path


def crawl(root: Path, site: SampleSitesProcess, proxy: str | None, start: str | None = None, settings: str = "") -> Any:
    root.mkdir(parents=True, exist_ok=True)
    config = write_sources(root / "sources.toml", site, proxy, start, settings)
    return run_cli("crawl", "--config", config, "--data", root / "data", timeout=120)


def comparable(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(({k: v for k, v in r.items() if k not in VARYING} for r in records), key=lambda r: r["url"])


@pytest.fixture(scope="module")
def direct(tmp_path_factory, site) -> list[dict[str, Any]]:
    """What a crawl without a proxy archives: the documents a crawl through one must match."""
    root = tmp_path_factory.mktemp("direct")
    result = crawl(root, site, None)
    assert result.returncode == 0, result.stdout + result.stderr
    return comparable(export_records(root / "data"))


def warc_requests(data: Path) -> list[tuple[str, list[tuple[str, str]]]]:
    """(target URL, HTTP headers) of every request record."""
    found = []
    for path in sorted((data / "warc").glob("*.warc.gz")):
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type == "request":
                    found.append((record.rec_headers.get_header("WARC-Target-URI"), record.http_headers.headers))
    return found


def warc_responses(data: Path) -> list[tuple[str, str, bytes]]:
    """(target URL, status, payload) of every response record."""
    found = []
    for path in sorted((data / "warc").glob("*.warc.gz")):
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type == "response":
                    url = record.rec_headers.get_header("WARC-Target-URI")
                    found.append((url, record.http_headers.get_statuscode(), record.content_stream().read()))
    return found


def assert_no_secret(root: Path, *texts: str) -> None:
    """The password (as typed, %-encoded, or in a Basic header) is in no output and no file of the data
    directory: logs, WARC files (decompressed), the store."""
    for path in (root / "data").rglob("*"):
        if path.is_file():
            content = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
            for secret in SECRETS:
                assert secret.encode() not in content, f"{secret!r} in {path}"
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, f"{secret!r} in {text}"


@pytest.mark.parametrize("scheme", ["http", "socks5", "socks5h"])
def test_a_source_is_crawled_through_its_proxy(scheme, site, proxy, direct, tmp_path):
    address = proxy.http if scheme == "http" else proxy.socks
    url = f"{scheme}://{CREDENTIALS}{address}"
    served_before, carried_before = len(site.requests()), len(proxy.requests())
    result = crawl(tmp_path, site, url)
    assert result.returncode == 0, result.stdout + result.stderr
    served = site.requests()[served_before:]
    carried = proxy.requests()[carried_before:]

    # Every request the site answered came through the proxy, robots.txt first, each signed in.
    assert sorted(r["path"] for r in served) == sorted(r["request"].split(" ")[1] for r in carried)
    assert carried[0]["request"] == "GET /robots.txt"
    assert all(r["auth"] and not r.get("refused") for r in carried)
    assert {r["proxy"] for r in carried} == {"http" if scheme == "http" else "socks"}
    if scheme.startswith("socks"):
        # socks5: the address was resolved here (127.0.0.1 is one already); socks5h: the name went as given
        assert {r["target"] for r in carried} == {site.urls["hugo"].removeprefix("http://")}

    # The same documents as a direct crawl, and the WARC records name the site's URLs, not the proxy.
    assert comparable(export_records(tmp_path / "data")) == direct
    requests = warc_requests(tmp_path / "data")
    assert requests and all(target.startswith(site.urls["hugo"] + "/") for target, _ in requests)
    assert f"{site.urls['hugo']}/robots.txt" in {target for target, _ in requests}
    assert not any(name.lower() == "proxy-authorization" for _, headers in requests for name, _ in headers)

    # The password is redacted wherever the proxy is named, and nowhere else: the run's figures are in the
    # store, which assert_no_secret reads; these two commands read sources.toml as well.
    log = next((tmp_path / "data" / "logs").glob("crawl-*.log")).read_text(encoding="utf-8")
    assert f"{scheme}://{USER}:***@{address}" in log
    config = tmp_path / "sources.toml"
    shown = []
    if scheme == "http":
        shown = [
            run_cli("sources", "--config", config, "--data", tmp_path / "data").stdout,
            run_cli("report", "field-notes", "--config", config, "--data", tmp_path / "data").stdout,
        ]
    assert_no_secret(tmp_path, result.stdout, result.stderr, *shown)


def test_socks5h_reaches_a_site_only_the_proxy_can_resolve(site, proxy, tmp_path):
    """The region-block case: the site's name means nothing here. socks5h hands the name to the proxy;
    socks5 resolves it here, and the run fails saying so."""
    port = site.urls["hugo"].rsplit(":", 1)[1]
    start = f"http://blocked.invalid:{port}/"
    carried_before = len(proxy.requests())
    remote = crawl(tmp_path / "remote", site, f"socks5h://{CREDENTIALS}{proxy.socks}", start)
    assert remote.returncode == 0, remote.stdout + remote.stderr
    carried = proxy.requests()[carried_before:]
    assert {"target": f"blocked.invalid:{port}", "target_type": "name"}.items() <= carried[0].items()
    assert any(r["request"] == "GET /" and r["target"].startswith("blocked.invalid") for r in carried)
    articles = [r for r in export_records(tmp_path / "remote" / "data") if "/posts/" in r["url"]]
    assert articles

    local = crawl(tmp_path / "local", site, f"socks5://{CREDENTIALS}{proxy.socks}", start)
    assert local.returncode == 1 and "Traceback" not in local.stdout + local.stderr
    assert "FAILED:" in local.stdout and f"through the proxy socks5://{USER}:***@{proxy.socks}" in local.stdout
    assert len(proxy.requests()) == carried_before + len(carried)  # nothing was sent for the local name


def free_port() -> int:
    """A port nothing listens on (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("scheme", ["http", "socks5h"])
def test_a_dead_proxy_fails_the_run_clearly(scheme, site, tmp_path):
    dead = f"{scheme}://{CREDENTIALS}127.0.0.1:{free_port()}"
    served_before = len(site.requests())
    started = time.monotonic()
    result = crawl(tmp_path, site, dead)
    assert time.monotonic() - started < 60
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    failure = next(line for line in result.stdout.splitlines() if "FAILED:" in line)
    assert "connection_refused" in failure and f"{scheme}://{USER}:***@127.0.0.1:" in failure
    assert len(site.requests()) == served_before  # nothing went around the proxy
    assert_no_secret(tmp_path, result.stdout, result.stderr)


@pytest.mark.parametrize("scheme", ["http", "socks5h"])
def test_a_proxy_that_never_answers_times_out(scheme, site, tmp_path):
    """A proxy that takes the connection and says nothing (no HTTP answer, no SOCKS5 handshake): the
    download timeout ends each request, the run fails saying so."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)  # connections are taken by the kernel and never answered
        port = silent.getsockname()[1]
        started = time.monotonic()
        result = crawl(
            tmp_path, site, f"{scheme}://127.0.0.1:{port}", settings="timeout_seconds = 1\nretry_times = 0\n"
        )
    assert time.monotonic() - started < 30
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    assert re.search(
        rf"FAILED: timeout x\d+ \(every request went through the proxy {scheme}://127\.0\.0\.1:{port}\)", result.stdout
    )


def test_a_socks5_proxy_refusing_the_password_fails_the_run_clearly(site, proxy, tmp_path):
    result = crawl(tmp_path, site, f"socks5h://{USER}:wr0ng-pw@{proxy.socks}")
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    assert "FAILED: proxy_error" in result.stdout
    log = next((tmp_path / "data" / "logs").glob("crawl-*.log")).read_text(encoding="utf-8")
    assert "refused the user name and password" in log and "wr0ng-pw" not in log


def test_a_small_page_limit_holds_through_a_socks5_proxy(site, proxy, tmp_path):
    """max_page_bytes (Scrapy's DOWNLOAD_MAXSIZE) is kept by the SOCKS5 connections: the same pages are
    refused as too large as in a direct crawl."""
    errors = {}
    for name, url in (("direct", None), ("socks", f"socks5h://{CREDENTIALS}{proxy.socks}")):
        root = tmp_path / name
        root.mkdir()
        config = write_sources(
            root / "sources.toml", site, url, settings="timeout_seconds = 10\nmax_page_bytes = 6000\n"
        )
        result = run_cli("crawl", "--config", config, "--data", root / "data", timeout=120)
        assert "Traceback" not in result.stdout + result.stderr
        (run,) = json.loads(run_cli("runs", "--json", "--data", root / "data").stdout)["runs"]
        errors[name] = run["errors"]
    assert errors["socks"].get("too_large") and errors["socks"] == errors["direct"]


@pytest.fixture(scope="module")
def tls_site(tmp_path_factory) -> Iterator[str]:
    """One article served over https (a self-signed certificate for localhost, as Scrapy does not verify)."""
    import datetime
    import functools
    import http.server
    import ssl
    import threading

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    root = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    (root / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (root / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    www = root / "www"
    www.mkdir()
    paragraph = "The river wardens walked the bank at dawn and wrote down every mark the water left. " * 20
    (www / "index.html").write_text(
        f"<html><head><title>Over TLS</title></head><body><article><h1>Over TLS</h1><p>{paragraph}</p>"
        "</article></body></html>",
        encoding="utf-8",
    )
    (www / "robots.txt").write_text("User-agent: *\nAllow: /\n", encoding="utf-8")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(www)))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(root / "cert.pem", root / "key.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://localhost:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("scheme", ["http", "socks5h"])
def test_an_https_site_is_crawled_through_a_tunnel(scheme, tls_site, proxy, tmp_path):
    """https pages go through the proxy encrypted end to end: a CONNECT tunnel, or TLS inside the SOCKS5
    connection."""
    address = proxy.http if scheme == "http" else proxy.socks
    config = tmp_path / "sources.toml"
    config.write_text(
        f'[[source]]\nname = "over-tls"\nstart_urls = ["{tls_site}"]\ndelay = 0\n'
        f'proxy = "{scheme}://{CREDENTIALS}{address}"\n\n[settings]\ntimeout_seconds = 10\nprogress_seconds = 0\n',
        encoding="utf-8",
    )
    before = len(proxy.entries())
    result = run_cli("crawl", "--config", config, "--data", tmp_path / "data", timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    host = tls_site.removeprefix("https://").rstrip("/")
    tunnels = [e for e in proxy.entries()[before:] if e["request"] == f"CONNECT {host}"]
    assert tunnels and all(e["auth"] for e in tunnels)
    assert {target for target, _ in warc_requests(tmp_path / "data")} == {tls_site, f"{tls_site}robots.txt"}
    (page,) = [r for r in warc_responses(tmp_path / "data") if r[0] == tls_site and r[1] == "200"]
    assert b"The river wardens walked the bank" in page[2]
    assert_no_secret(tmp_path, result.stdout, result.stderr)


def test_the_admin_area_never_shows_the_proxy_password_and_keeps_it(tmp_path):
    from samizdat.webui import create_app
    from tests.test_admin import add_user, sign_in, source_form

    data, config = tmp_path / "data", tmp_path / "sources.toml"
    proxy = f"socks5h://{CREDENTIALS}127.0.0.1:1080"
    config.write_text(
        f'[[source]]\nname = "tenants"\nstart_urls = ["http://tenants.example.net/"]\nproxy = "{proxy}"  # the VPN\n',
        encoding="utf-8",
    )
    add_user(data)
    client = create_app({"data_dir": data, "config_path": config}).test_client()
    assert sign_in(client).status_code == 302
    shown = "socks5h://ana:***@127.0.0.1:1080"
    for page in ("/admin/sources/tenants", "/admin/sources/tenants/edit"):
        html = client.get(page).get_data(as_text=True)
        assert shown in html and not any(secret in html for secret in SECRETS), page

    # Saved with the redacted value as shown: the password in the file stays, with its comment.
    form = source_form(client, "/admin/sources/tenants/edit", labels="housing")
    assert form["proxy"] == shown
    assert client.post("/admin/sources/tenants/edit", data=form).status_code == 302
    assert f'proxy = "{proxy}"  # the VPN' in config.read_text(encoding="utf-8")

    # Another host with *** is refused (the password must be typed again); a typed password is written.
    form = source_form(client, "/admin/sources/tenants/edit", proxy="socks5h://ana:***@127.0.0.2:1080")
    refused = client.post("/admin/sources/tenants/edit", data=form)
    assert refused.status_code == 400 and "type the password itself" in refused.get_data(as_text=True)
    form = source_form(client, "/admin/sources/tenants/edit", proxy="socks5h://ana:n3w-pw@127.0.0.2:1080")
    assert client.post("/admin/sources/tenants/edit", data=form).status_code == 302
    assert 'proxy = "socks5h://ana:n3w-pw@127.0.0.2:1080"' in config.read_text(encoding="utf-8")
    assert "n3w-pw" not in client.get("/admin/sources/tenants").get_data(as_text=True)
