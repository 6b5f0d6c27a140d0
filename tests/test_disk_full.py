"""A full disk: the crawl ends with one line naming the WARC file and the free space, the WARC files stay valid
(the record that did not fit is cut back, every file sealed), and once there is room the next crawl resumes
the run and archives what the first could not.

Two small disks: a real one (a 3 MB tmpfs, where the whole data directory lives) and a file size limit
(RLIMIT_FSIZE: writes past it fail with EFBIG). Where mounting is refused (an unprivileged container) the
tmpfs case runs on the file size limit instead, so that neither is ever skipped.
"""

from __future__ import annotations

import errno
import json
import re
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from samizdat.archive.datadir import DataDir
from samizdat.archive.warc import read_capture, verify_warc
from samizdat.sample_sites import expected_articles
from tests.conftest import export_records, run_cli
from tests.helpers import HTML_HEADERS, serve_pages

SMALL = 3_000_000  # bytes: the blogger site's archive takes some 18 MB


@contextmanager
def small_disk(tmp_path: Path, kind: str) -> Iterator[tuple[Path, Callable[[], None] | None, Callable[[], None]]]:
    """(a directory on a small disk, what the crawl process runs before starting, how to make room)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if kind == "tmpfs":
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={SMALL}", "tmpfs", str(mount)], capture_output=True, text=True
        )
        if mounted.returncode == 0:
            try:
                yield mount, None, lambda: subprocess.run(["mount", "-o", "remount,size=64m", str(mount)], check=True)
            finally:
                subprocess.run(["umount", "-l", str(mount)], check=False)
            return
        print(f"tmpfs refused ({mounted.stderr.strip()}): the file size limit stands in for it")

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (SMALL, SMALL))

    yield mount, limit, lambda: None


def crawl(config: Path, data: Path, preexec: Callable[[], None] | None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "samizdat", "crawl", "--config", str(config), "--data", str(data)],
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=preexec,
    )


def warc_files(data: Path) -> list[Path]:
    return sorted((data / "warc").iterdir())


def one_source(tmp_path: Path, name: str, kind: str, url: str) -> Path:
    """A sources.toml of one source, crawled with no delay and no progress lines."""
    config = tmp_path / "sources.toml"
    config.write_text(
        f'[[source]]\nname = "{name}"\nkind = "{kind}"\nstart_urls = ["{url}"]\ndelay = 0\n'
        "[settings]\nprogress_seconds = 0\n",
        encoding="utf-8",
    )
    return config


def the_one_error(first: subprocess.CompletedProcess) -> str:
    """A crawl stopped for want of room: exit status 1, no traceback, and exactly one `Error:` line, which ends
    by saying how to resume. Returns that line."""
    output = first.stdout + first.stderr
    assert first.returncode == 1, output
    assert "Traceback" not in output and "Exception ignored" not in output, output
    errors = [line for line in first.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, first.stderr
    assert errors[0].endswith("then run `samizdat crawl` again: the run resumes"), errors[0]
    return errors[0]


# The crawl's one line on a full disk: "disk full: " (or nothing, for SQLite's "disk I/O error" past a file size
# limit), then what could not be written.
WHO_FOUND_IT = re.compile(
    r"^Error: (disk full: )?cannot write (warc/(?P<warc>steppe-\S+\.warc\.gz)|the document store store\.sqlite"
    r"|the crawl's frontier frontier\.sqlite|the run's skipped URLs skipped\.sqlite"
    r"|the spider's state spider\.state) \("
)


@pytest.mark.parametrize("kind", ["tmpfs", "file-size-limit"])
def test_a_full_disk_ends_the_crawl_cleanly_and_the_next_crawl_resumes(sample_sites, tmp_path, kind):
    config = one_source(tmp_path, "steppe", "blogger", f"{sample_sites.urls['blogger']}/")
    with small_disk(tmp_path, kind) as (disk, preexec, make_room):
        data = disk / "data"
        first = crawl(config, data, preexec)
        error = the_one_error(first)
        # Whichever write finds the disk full first names its file: a WARC file (cut back), or the crawl's
        # own bookkeeping beside it (the store, the frontier, the skipped URLs, the spider's state).
        named = WHO_FOUND_IT.match(error)
        assert named and " free on " in error, error
        if named["warc"]:
            assert "cut back to its last complete record" in error, error
        else:
            assert "the WARC files are whole" in error, error
        assert "interrupted (disk full)" in first.stdout, first.stdout

        # Valid WARC files: all sealed, every record complete; the one named in the message among them.
        files = warc_files(data)
        assert files and all(p.name.endswith(".warc.gz") for p in files), files
        assert all(verify_warc(p) >= 1 for p in files)
        assert not named["warc"] or any(p.name == named["warc"] for p in files), (named["warc"], files)
        runs = json.loads(run_cli("runs", "--data", data, "--json").stdout)["runs"]
        assert [r["status"] for r in runs] == ["interrupted"], runs
        first_run = runs[0]["id"]

        make_room()
        second = crawl(config, data, None)
        assert second.returncode == 0, second.stdout + second.stderr
        assert "Traceback" not in second.stderr and "left open by a stopped crawl" not in second.stderr
        runs = json.loads(run_cli("runs", "--data", data, "--json").stdout)["runs"]
        assert [r["status"] for r in runs] == ["finished"] and runs[0]["id"] == first_run, runs
        assert all(verify_warc(p) >= 1 for p in warc_files(data))
        truth = {t["url"] for t in expected_articles(sample_sites.urls) if t["site"] == "blogger"}
        assert {r["url"] for r in export_records(data)} == truth


@contextmanager
def small_job_disk(tmp_path: Path, size: int) -> Iterator[tuple[Path, Callable[[], None] | None, Callable[[], None]]]:
    """(a data directory whose job directories, alone, are on a disk of `size` bytes, what the crawl process runs
    before starting, how to make room). Where mounting is refused, a file size limit of `size` on the whole
    crawl stands in: then whichever file passes it first fills up."""
    data = DataDir.create(tmp_path / "data").root
    disk = tmp_path / "jobdisk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(disk)], capture_output=True, text=True
    )
    if mounted.returncode == 0:
        try:
            if (data / "jobs").exists():
                (data / "jobs").rmdir()
            (data / "jobs").symlink_to(disk)
            yield data, None, lambda: subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)
        finally:
            subprocess.run(["umount", "-l", str(disk)], check=False)
        return
    print(f"tmpfs refused ({mounted.stderr.strip()}): the file size limit stands in for it")
    yield data, lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (size, size)), lambda: None


# bytes: no room to open the frontier at all; room for the bookkeeping of the first few pages
@pytest.mark.parametrize("size", [40_000, 200_000])
def test_a_full_disk_under_the_crawls_bookkeeping_stops_it_cleanly_and_loses_nothing(sample_sites, tmp_path, size):
    """The WARC files and the store have room; the frontier, the skipped URLs and the spider's state do not.
    The first of them to find no room ends the crawl with its one line, and the next crawl resumes the run and
    archives and stores everything: the links the full frontier could not take are found again."""
    config = one_source(tmp_path, "steppe", "blogger", f"{sample_sites.urls['blogger']}/")
    with small_job_disk(tmp_path, size) as (data, preexec, make_room):
        first = crawl(config, data, preexec)
        error = the_one_error(first)
        assert WHO_FOUND_IT.match(error), error
        assert all(verify_warc(p) >= 1 for p in warc_files(data))
        runs = json.loads(run_cli("runs", "--data", data, "--json").stdout)["runs"]
        assert [r["status"] for r in runs] == ["interrupted"], runs

        make_room()
        second = crawl(config, data, None)
        assert second.returncode == 0 and "Traceback" not in second.stderr, second.stdout + second.stderr
        resumed = json.loads(run_cli("runs", "--data", data, "--json").stdout)["runs"]
        assert [r["status"] for r in resumed] == ["finished"] and resumed[0]["id"] == runs[0]["id"], resumed
        truth = {t["url"] for t in expected_articles(sample_sites.urls) if t["site"] == "blogger"}
        assert {r["url"] for r in export_records(data)} == truth


WRITER = """
import errno, json, os, sys
from pathlib import Path
from samizdat.archive.warc import ArchiveFull, WarcWriter

root, count = Path(sys.argv[1]), int(sys.argv[2])
writer = WarcWriter(root / "warc", "full", max_bytes=1 << 40)
written, refusals = [], []
body = os.urandom(200_000)  # incompressible: each exchange takes its size on the disk
for n in range(count):
    try:
        location = writer.write_exchange(f"http://full.test/{n}", "GET", [], 200, "OK", [], body)
        written.append([location.warc_file, location.offset])
    except ArchiveFull as full:
        sizes = {p.name: p.stat().st_size for p in (root / "warc").iterdir()}
        refusals.append(dict(message=str(full), errno=full.errno, file=full.file, kept=full.kept_bytes,
                             free=full.free_bytes, record=full.record_bytes, sizes=sizes))
try:
    writer.write_metadata("http://full.test/", {"after": "full"})
except ArchiveFull as full:
    refusals.append(dict(message=str(full)))
writer.close()
print(json.dumps({"written": written, "refusals": refusals, "files": writer.files}))
"""


@pytest.mark.parametrize("kind", ["tmpfs", "file-size-limit"])
def test_the_warc_writer_cuts_a_failed_write_back_and_refuses_the_rest(tmp_path, kind):
    """WarcWriter's own guarantee, with no crawl around it: the write that finds the disk full leaves the file
    ending at its last complete record, sealed and fsynced, and raises ArchiveFull naming the file and the
    free space; every later write is refused the same way without touching the disk."""
    with small_disk(tmp_path, kind) as (disk, preexec, _make_room):
        result = subprocess.run(
            [sys.executable, "-c", WRITER, str(disk), "40"],
            capture_output=True,
            text=True,
            timeout=120,
            preexec_fn=preexec,
            cwd=Path(__file__).resolve().parent.parent,
        )
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
        out = json.loads(result.stdout)
        written, refusals = out["written"], out["refusals"]
        assert 5 < len(written) < 40 and len(refusals) == 40 - len(written) + 1, out
        first = refusals[0]
        name = written[0][0]
        assert first["file"] == name and first["errno"] in (errno.ENOSPC, errno.EFBIG), first
        assert first["message"].startswith(f"disk full: cannot write {name} (")
        assert " free on " in first["message"] and "cut back to its last complete record" in first["message"]
        assert first["record"] == 200_000 and first["free"] >= 0
        # the file ends where the last complete record ends: sealed, every record whole, each one readable
        path = disk / name
        assert path.is_file() and not path.with_name(path.name + ".open").exists()
        assert first["sizes"] == {path.name: first["kept"]} and path.stat().st_size == first["kept"]
        assert verify_warc(path) == 1 + 2 * len(written)
        assert read_capture(disk, *written[-1]).url == f"http://full.test/{len(written) - 1}"
        # the later writes were refused with the same account, and the disk was not touched again
        assert all(r["message"] == first["message"] for r in refusals)
        assert all(r["sizes"] == first["sizes"] for r in refusals[:-1])
        assert out["files"] == [path.name]


# -- the document store on a full disk -----------------------------------------------------------------------

STORE_DISK = 512 * 1024  # bytes: the store and its write-ahead log, before the first article
ARTICLES = 4
WORDS = (
    "The tenants' committee met in the boiler room because the hall upstairs had no heating left. "
    "Every flat sent someone, and the minutes were kept in a school exercise book passed from hand to hand. "
)
PARAGRAPHS = 3000  # some 650 KB of text an article, stored whole: the first does not fit, nor in the log


def long_article(n: int) -> bytes:
    paragraphs = "".join(f"<p>Minute {i} of meeting {n}. {WORDS}</p>" for i in range(PARAGRAPHS))
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Meeting {n}</title></head><body>'
        f"<main><article><h1>Meeting {n}</h1><p class='byline'>By A. Writer, 3 March 2024</p>{paragraphs}"
        "</article></main></body></html>"
    ).encode()


@pytest.fixture(scope="module")
def minutes_site() -> Iterator[str]:
    """A site of a few very long articles, served over HTTP (they compress well: the WARC files stay small)."""
    pages = {f"/2024/03/meeting-{n}.html": long_article(n) for n in range(ARTICLES)}
    links = "".join(f'<li><a href="{path}">{path}</a></li>' for path in pages)
    pages["/"] = f"<!DOCTYPE html><html><head><title>Minutes</title></head><body><ul>{links}</ul>".encode()

    with serve_pages({path: (HTML_HEADERS, body) for path, body in pages.items()}) as url:
        yield url


@contextmanager
def small_store(tmp_path: Path, kind: str) -> Iterator[tuple[Path, int | None, Callable[[], None]]]:
    """(a data directory whose document store has no room for an article, a file size limit for the crawl
    process or None, how to make room). On a tmpfs the store alone is there (data/store.sqlite a link to
    it; SQLite keeps its log beside the file it links to): the WARC files have room, the store has none.
    Where mounting is refused, a file size limit under the store's first article stands in for it."""
    data = DataDir.create(tmp_path / "data").root
    if kind == "tmpfs":
        disk = tmp_path / "storedisk"
        disk.mkdir()
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={STORE_DISK}", "tmpfs", str(disk)], capture_output=True, text=True
        )
        if mounted.returncode == 0:
            (data / "store.sqlite").symlink_to(disk / "store.sqlite")
            try:
                yield data, None, lambda: subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)
            finally:
                subprocess.run(["umount", "-l", str(disk)], check=False)
            return
        print(f"tmpfs refused ({mounted.stderr.strip()}): the file size limit stands in for it")
    yield data, STORE_DISK, lambda: None


def children_of(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def workers_of(pid: int) -> list[int]:
    """The extraction workers of a crawl process: children of its fork server, itself one of its children."""
    return [worker for child in children_of(pid) for worker in children_of(child)]


def crawl_limited(config: Path, data: Path, limit: int | None) -> subprocess.CompletedProcess:
    """`samizdat crawl`, its own process held to a file size limit once its extraction workers run. Not
    before: the workers load the language model through a temporary file of 68 MB, and they, not the
    crawl process, would fail. The crawl process writes the store (and the WARC files and its log)."""
    if limit is None:
        return crawl(config, data, None)
    args = [sys.executable, "-m", "samizdat", "crawl", "--config", str(config), "--data", str(data)]
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        deadline = time.monotonic() + 120
        while process.poll() is None and time.monotonic() < deadline:
            if workers_of(process.pid):
                resource.prlimit(process.pid, resource.RLIMIT_FSIZE, (limit, limit))
                break
            time.sleep(0.01)
        stdout, stderr = process.communicate(timeout=300)
    return subprocess.CompletedProcess(args, process.returncode, stdout, stderr)


@pytest.mark.parametrize("kind", ["tmpfs", "file-size-limit"])
def test_a_full_store_ends_the_crawl_cleanly_and_the_next_crawl_stores_what_it_missed(minutes_site, tmp_path, kind):
    config = one_source(tmp_path, "minutes", "generic", minutes_site)
    with small_store(tmp_path, kind) as (data, limit, make_room):
        first = crawl_limited(config, data, limit)
        error = the_one_error(first)
        # SQLite says "database or disk is full" on a full disk, "disk I/O error" past the file size limit
        full = "disk full: " if kind == "tmpfs" and limit is None else ""
        assert error.startswith(f"Error: {full}cannot write the document store store.sqlite ("), error
        assert " free on " in error and "the WARC files are whole" in error, error
        assert "interrupted (disk full)" in first.stdout, first.stdout
        # The archive of record is whole: every file sealed and read to its end.
        files = warc_files(data)
        assert files and all(p.name.endswith(".warc.gz") for p in files), files
        assert all(verify_warc(p) >= 1 for p in files)
        runs = json.loads(run_cli("runs", "--data", data, "--json").stdout)["runs"]
        assert [r["status"] for r in runs] == ["interrupted"], runs
        stored = export_records(data)
        assert len(stored) < ARTICLES, "the store was full before the last article"

        make_room()
        second = crawl(config, data, None)
        assert second.returncode == 0, second.stdout + second.stderr
        runs = json.loads(run_cli("runs", "--data", data, "--json").stdout)["runs"]
        assert [r["status"] for r in runs] == ["finished"], runs
        records = export_records(data)
        assert sorted(r["url"].rsplit("/", 1)[1] for r in records) == [f"meeting-{n}.html" for n in range(ARTICLES)]
        assert all(f"Minute {PARAGRAPHS - 1} of meeting" in r["text"] for r in records)
        # searchable: the index followed the store
        found = json.loads(run_cli("search", "--data", data, "--json", "boiler").stdout)
        assert found["total"] == ARTICLES, found
