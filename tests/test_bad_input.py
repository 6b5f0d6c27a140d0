"""Bad input on the command line and in sources.toml: one clear line naming the problem (no traceback), exit
status 1 or 2, and nothing crawled or written."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_cli


def assert_one_clear_line(result, *names: str) -> str:
    """The command failed with an `Error: ...` line naming each of `names`, and no traceback; returns it."""
    assert result.returncode in (1, 2), result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.stderr
    for name in names:
        assert name in errors[0], errors[0]
    return errors[0]


def good_config(path: Path, url: str = "http://127.0.0.1:9/", extra: str = "") -> Path:
    path.write_text(f'[[source]]\nname = "zine"\nstart_urls = ["{url}"]\ndelay = 0\n{extra}', encoding="utf-8")
    return path


def empty_archive(path: Path) -> Path:
    """A data directory as `samizdat crawl` makes it, before anything was crawled into it."""
    path.mkdir()
    (path / "samizdat.json").write_text(json.dumps({"samizdat": 1}) + "\n", encoding="utf-8")
    return path


def test_export_to_a_missing_directory_is_one_line_and_writes_nothing(tmp_path):
    data = empty_archive(tmp_path / "data")
    before = sorted(p.name for p in data.iterdir())
    result = run_cli("export", "-o", tmp_path / "missing" / "dir" / "x.jsonl", "--data", data)
    line = assert_one_clear_line(result, str(tmp_path / "missing" / "dir"), "does not exist")
    assert line.startswith("Error: -o/--output ")
    assert not (tmp_path / "missing").exists() and sorted(p.name for p in data.iterdir()) == before


def test_export_refuses_before_creating_its_file(tmp_path):
    """An archive with no index yet: the search fails before the output file exists."""
    data = empty_archive(tmp_path / "data")
    out = tmp_path / "out.jsonl"
    result = run_cli("export", "-o", out, "--data", data)
    assert_one_clear_line(result, "no search index yet")
    assert not out.exists() and not list(tmp_path.glob(".out.jsonl*"))
    out.write_text("an earlier export\n", encoding="utf-8")
    assert_one_clear_line(run_cli("export", "-o", out, "--data", data), "no search index yet")
    assert out.read_text(encoding="utf-8") == "an earlier export\n"  # left as it was


@pytest.mark.parametrize(
    ("command", "names"),
    [
        (["export", "-o", "{tmp}", "--data", "{tmp}/data"], ["--output", "is a directory"]),
        (["export", "-o", "{tmp}/afile/x.jsonl", "--data", "{tmp}/data"], ["afile", "is not a directory"]),
        (["crawl", "--config", "{tmp}/missing.toml", "--data", "{tmp}/data"], ["missing.toml", "no such file"]),
        (["crawl", "--config", "{tmp}", "--data", "{tmp}/data"], ["--config", "is a directory"]),
        (["crawl", "--config", "{tmp}/sources.toml", "--data", "{tmp}/afile/data"], ["afile is a file"]),
        (["crawl", "--config", "{tmp}/sources.toml", "--data", "{tmp}/afile"], ["--data", "is a file"]),
        (["schedule", "--config", "{tmp}/sources.toml", "--data", "{tmp}/afile/data"], ["afile is a file"]),
        (["demo", "--no-serve", "--data", "{tmp}/afile/demo"], ["afile is a file"]),
        (["init", "--config", "{tmp}/missing/sources.toml"], ["missing", "does not exist"]),
        (["init", "--config", "{tmp}"], ["--config", "is a directory"]),
        (["search", "x", "--data", "{tmp}/data"], ["data directory", "does not exist"]),
        (["reindex", "--data", "{tmp}/afile"], ["afile", "is a file"]),
        (["serve", "--data", "{tmp}/data"], ["data directory", "does not exist"]),
        (["runs", "--data", "{tmp}/data"], []),  # nothing crawled yet: not an error (checked below)
    ],
)
def test_each_bad_file_argument_is_one_line_and_writes_nothing(tmp_path, command, names):
    good_config(tmp_path / "sources.toml")
    (tmp_path / "afile").write_text("not a directory\n", encoding="utf-8")
    before = sorted(p.name for p in tmp_path.iterdir())
    result = run_cli(*(arg.format(tmp=tmp_path) for arg in command), timeout=60)
    if names:
        assert_one_clear_line(result, *names)
    else:
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert (tmp_path / "afile").read_text(encoding="utf-8") == "not a directory\n"


def test_user_add_in_a_data_directory_under_a_file_is_one_line(tmp_path):
    (tmp_path / "afile").write_text("x\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "samizdat", "user", "add", "ada", "--data", str(tmp_path / "afile" / "data")],
        input="a long enough password\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert_one_clear_line(result, "afile is a file")


@pytest.mark.parametrize(
    ("edit", "names"),
    [
        (lambda url: (url.replace("127.0.0.1", "127.0.0 .1"), ""), ["sources.toml:3", "has a space in its host"]),
        (lambda url: (url, 'allowed_domains = ["example.org"]\n'), ["sources.toml:5", "outside allowed_domains"]),
        (lambda url: (url, 'allowed_domains = ["127.0.0.1 example.org"]\n'), ["sources.toml:5", "has a space"]),
    ],
)
def test_a_config_mistake_stops_the_crawl_before_anything_is_fetched_or_written(sample_sites, tmp_path, edit, names):
    url, extra = edit(sample_sites.urls["hugo"] + "/")
    config = good_config(tmp_path / "sources.toml", url, extra)
    served = len(sample_sites.requests())
    result = run_cli("crawl", "--config", config, "--data", tmp_path / "data")
    assert_one_clear_line(result, *names)
    assert not (tmp_path / "data").exists() and len(sample_sites.requests()) == served


def test_a_misspelt_environment_variable_stops_every_command_that_reads_settings(sample_sites, tmp_path):
    config = good_config(tmp_path / "sources.toml", sample_sites.urls["hugo"] + "/")
    served = len(sample_sites.requests())
    env = {"SAMIZDAT_TIMOUT_SECONDS": "5"}
    crawl = run_cli("crawl", "--config", config, "--data", tmp_path / "data", env=env)
    line = assert_one_clear_line(crawl, "SAMIZDAT_TIMOUT_SECONDS", 'did you mean "SAMIZDAT_TIMEOUT_SECONDS"?')
    assert line.startswith("Error: environment variable SAMIZDAT_TIMOUT_SECONDS: not a samizdat setting")
    assert not (tmp_path / "data").exists() and len(sample_sites.requests()) == served
    demo = run_cli("demo", "--no-serve", "--data", tmp_path / "demo", env=env)
    assert_one_clear_line(demo, "SAMIZDAT_TIMOUT_SECONDS")
    assert not (tmp_path / "demo").exists()


def test_serve_on_an_address_it_cannot_take_is_one_line(tmp_path):
    data = empty_archive(tmp_path / "data")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = run_cli("serve", "--port", port, "--data", data, timeout=60)
    assert_one_clear_line(busy, f"cannot listen on 127.0.0.1:{port}", "address already in use")
    bad = run_cli("serve", "--host", "999.1.1.1", "--port", "0", "--data", data, timeout=60)
    assert_one_clear_line(bad, "cannot listen on 999.1.1.1:0", "not an address of this machine")
