"""What page requisites cost: one sample site crawled with `requisites = true` and `= false`, in the same run.

    python -m bench.bench_requisites [--site wordpress] [--repeat 1]

The sample site is served on 127.0.0.1 (delay 0) and crawled by `samizdat crawl` twice per repeat, into
fresh data directories: with its requisites, and HTML only. Prints, for each: requests the site answered,
bytes archived, the crawl's pages per second (as `samizdat runs` records it) and its wall time; and, for the
crawl with requisites, what one article page needs (its page plus every requisite it and its stylesheets
load, read back from the WARC files: requests and bytes, mean over the articles) beside what the crawl
spent per article once shared requisites are counted once. No figure is asserted: compare within one run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import lxml.html
from warcio.archiveiterator import ArchiveIterator

from samizdat.archive.requisites import RESOURCE_TYPE_HEADER, css_requisites, html_requisites
from samizdat.sample_sites import DEFAULT_SITES, expected_articles, sources_toml, start


def crawl(urls: dict[str, str], site: str, root: Path, requisites: bool) -> dict[str, Any]:
    config = root / "sources.toml"
    config.write_text(
        sources_toml(urls, sites=(site,))
        + f"requisites = {'true' if requisites else 'false'}\n"
        + "\n[settings]\ntimeout_seconds = 10\nprogress_seconds = 0\n",
        encoding="utf-8",
    )
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "samizdat", "crawl", "--config", str(config), "--data", str(root / "data")],
        capture_output=True,
        text=True,
    )
    seconds = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(result.stdout + result.stderr)
    runs = subprocess.run(
        [sys.executable, "-m", "samizdat", "runs", "--json", "--data", str(root / "data")],
        capture_output=True,
        text=True,
        check=True,
    )
    return {"seconds": seconds, "run": json.loads(runs.stdout)["runs"][0]}


def warc_records(data: Path) -> dict[str, dict[str, Any]]:
    """The first response record of each URL: status, payload length, resource type, and the payload."""
    records: dict[str, dict[str, Any]] = {}
    for path in sorted((data / "warc").glob("*.warc.gz")):
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type != "response":
                    continue
                url = record.rec_headers.get_header("WARC-Target-URI")
                body = record.content_stream().read()
                records.setdefault(
                    url,
                    {
                        "status": int(record.http_headers.get_statuscode() or 0),
                        "kind": record.rec_headers.get_header(RESOURCE_TYPE_HEADER),
                        "body": body,
                    },
                )
    return records


def page_needs(url: str, records: dict[str, dict[str, Any]]) -> tuple[int, int]:
    """(requests, bytes) of one article page and everything it loads that the crawl archived."""
    page = records[url]
    todo = list(html_requisites(lxml.html.fromstring(page["body"]), url))
    seen: set[str] = set()
    requests, size = 1, len(page["body"])
    while todo:
        requisite = todo.pop()
        if requisite.url in seen or requisite.url not in records:
            continue
        seen.add(requisite.url)
        record = records[requisite.url]
        requests, size = requests + 1, size + len(record["body"])
        if requisite.kind == "stylesheet" and record["status"] == 200:
            todo += css_requisites(record["body"].decode("utf-8", "replace"), requisite.url)
    return requests, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--site", default="wordpress", help="a default sample site (default wordpress)")
    parser.add_argument("--repeat", type=int, default=1, help="crawl pairs to run (default 1)")
    args = parser.parse_args()
    server = start(sites=[args.site])
    try:
        every_site = {**{name: "http://unused.invalid" for name in DEFAULT_SITES}, **server.urls}
        articles = [a["url"] for a in expected_articles(every_site) if a["site"] == args.site]
        for repeat in range(args.repeat):
            for requisites in (True, False):
                with tempfile.TemporaryDirectory(prefix="bench-requisites-") as tmp:
                    before = len(server.requests)
                    result = crawl(server.urls, args.site, Path(tmp), requisites)
                    served = server.requests[before:]
                    run = result["run"]
                    mode = "requisites" if requisites else "HTML only "
                    site_requests = [r for r in served if urlsplit(server.urls[args.site]).port == r["port"]]
                    print(
                        f"[{repeat + 1}] {mode}: {len(site_requests)} requests served, "
                        f"{run['pages']} pages at {run['pages_per_second']} pages/s ({result['seconds']:.1f} s wall), "
                        f"{(run['bytes_archived'] + run['requisites'].get('bytes', 0)) / 1e3:.0f} kB archived "
                        f"({run['requisites'].get('fetched', 0)} requisites, "
                        f"{run['requisites'].get('bytes', 0) / 1e3:.0f} kB)"
                    )
                    if requisites:
                        records = warc_records(Path(tmp) / "data")
                        needs = [page_needs(url, records) for url in articles if url in records]
                        print(
                            f"    one article page with its requisites: "
                            f"{statistics.mean(n for n, _ in needs):.1f} requests, "
                            f"{statistics.mean(b for _, b in needs) / 1e3:.1f} kB (mean of {len(needs)} articles); "
                            f"the crawl spent {len(site_requests) / len(needs):.1f} requests and "
                            f"{(run['bytes_archived'] + run['requisites'].get('bytes', 0)) / len(needs) / 1e3:.1f} kB "
                            "per article, shared requisites fetched once"
                        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
