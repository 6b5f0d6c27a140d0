"""`samizdat serve` and the demo's web UI as users run them: real processes, real sockets."""

from __future__ import annotations

import signal
import time
import urllib.request

import pytest

from samizdat.archive.warc import WarcWriter
from tests.conftest import Server, run_cli, write_config


@pytest.fixture
def small_archive(sample_sites, tmp_path):
    config = write_config(tmp_path / "sources.toml", sample_sites)
    result = run_cli("crawl", "red-lantern", "--config", config, "--data", tmp_path / "data")
    assert result.returncode == 0, result.stderr
    return config, tmp_path / "data"


def test_a_crawl_finishing_while_the_server_runs_is_visible_without_a_restart(small_archive):
    config, data = small_archive
    server = Server("serve", "--port", "0", "--data", data, "--config", config)
    try:
        assert server.url.startswith("http://127.0.0.1:")  # loopback unless told otherwise
        before = server.get_json("/api/search?per_page=1")["total"]
        assert server.get_json("/api/search?source=field-notes")["total"] == 0
        result = run_cli("crawl", "field-notes", "--config", config, "--data", data)
        assert result.returncode == 0, result.stderr
        deadline = time.monotonic() + 15
        found = 0
        while time.monotonic() < deadline and not found:
            found = server.get_json("/api/search?source=field-notes")["total"]
            time.sleep(0.3)
        assert found == 12
        assert server.get_json("/api/search?per_page=1")["total"] == before + 12
    finally:
        assert server.stop() == 0  # SIGTERM is a clean stop


def test_serve_needs_a_samizdat_data_directory(tmp_path):
    result = run_cli("serve", "--port", "0", "--data", tmp_path / "missing")
    assert result.returncode == 1 and "does not exist" in result.stderr and "Traceback" not in result.stderr


def test_the_demo_ends_by_serving_the_ui_on_its_archive_and_stops_on_the_first_ctrl_c(tmp_path):
    server = Server("demo", "--port", "0", "--data", tmp_path / "demo")
    try:
        assert any("samizdat search" in line for line in server.output)
        with urllib.request.urlopen(server.url, timeout=30) as response:
            page = response.read().decode("utf-8")
            assert response.status == 200 and "Content-Security-Policy" in response.headers
        assert "<form" in page
        assert server.get_json("/api/search?q=eviction")["total"] > 0
        # The crawl's signal handlers are gone once it ends: one Ctrl-C stops the served UI.
        server.process.send_signal(signal.SIGINT)
        assert server.process.wait(timeout=15) in (0, 130)
    finally:
        server.stop()

    # A second demo replaces the first one's archive, but never WARC files it did not write.
    source = {"name": "my-blog", "start_urls": ["https://my-blog.example/"]}
    with WarcWriter(tmp_path / "demo" / "warc", "my-blog", 10**8, {"samizdat-source": source}) as writer:
        writer.write_exchange("https://my-blog.example/", "GET", [], 200, "OK", [], b"<p>mine</p>")
    (mine,) = [p for p in (tmp_path / "demo" / "warc").iterdir() if p.name.startswith("my-blog-")]
    result = run_cli("demo", "--no-serve", "--data", tmp_path / "demo")
    assert result.returncode == 1 and "did not write" in result.stderr and mine.name in result.stderr
    assert mine.exists() and (tmp_path / "demo" / "store.sqlite").exists()
