"""How fast a site is ingested: `samizdat crawl` against two references, on one local site, in one run.

    python bench/bench_ingest.py [--articles 1800] [--per-page 10] [--repeat 1] [--json]
                                 [--samizdat-root DIR]

Serves the sample campaign site (samizdat/sample_sites, from this checkout) on 127.0.0.1: by default
1,800 articles, 10 teasers per listing page, no dead links, about 2,000 pages. Then measures:

  samizdat     `python -m samizdat crawl` in a fresh data directory (source delay 0, progress_seconds
               = 0, robots.txt obeyed), end to end: crawl, WARC, extraction, store, index
  scrapy       a plain Scrapy spider following every link of the site, no delay, nothing stored:
               what fetching and link following alone cost
  trafilatura  trafilatura's own command line fetching and extracting the known article URLs
               (`trafilatura -i URLS --parallel 2 -o DIR`, its sleep between requests set to 0)

For each: wall seconds, pages/s (requests the site answered during the run), articles/s (documents
stored, article pages fetched, or texts written), and the peak resident memory of the process tree
(psutil when installed, else /proc). Then the ratios samizdat/scrapy (pages/s) and
samizdat/trafilatura (articles/s). With --repeat K each figure is the median of K runs.

--samizdat-root runs the crawl with another checkout's code (PYTHONPATH=DIR, cwd DIR), e.g. a
"before" copy made with `git worktree add /tmp/samizdat-before HEAD`; the site is always this
checkout's.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parents[1]
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from samizdat.sample_sites import expected_campaign, sources_toml  # noqa: E402 (after the path fix)

SPIDER = textwrap.dedent(
    '''
    from urllib.parse import urlsplit

    import scrapy
    from scrapy.linkextractors import LinkExtractor


    class FollowSpider(scrapy.Spider):
        """Every link on the site, once; nothing extracted, nothing stored."""

        name = "follow"
        custom_settings = {
            "ROBOTSTXT_OBEY": True,
            "DOWNLOAD_DELAY": 0,
            "LOG_LEVEL": "WARNING",
            "TELNETCONSOLE_ENABLED": False,
            "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7",
        }

        def __init__(self, base, **kwargs):
            super().__init__(**kwargs)
            self.start_urls = [base.rstrip("/") + "/"]
            # Only this host:port's links are followed (OffsiteMiddleware ignores ports: not used).
            self.links = LinkExtractor(allow_domains=[urlsplit(base).netloc])

        def parse(self, response):
            for link in self.links.extract_links(response):
                yield response.follow(link.url, self.parse)
    '''
)

TRAFILATURA_CONFIG = textwrap.dedent(
    """
    [DEFAULT]
    DOWNLOAD_TIMEOUT = 30
    MAX_FILE_SIZE = 20000000
    MIN_FILE_SIZE = 10
    SLEEP_TIME = 0
    USER_AGENTS =
    COOKIE =
    MAX_REDIRECTS = 2
    SSRF_PROTECTION = off
    INSECURE_SSL_FALLBACK = off
    MIN_EXTRACTED_SIZE = 250
    MIN_OUTPUT_SIZE = 1
    MIN_OUTPUT_COMM_SIZE = 1
    MAX_TREE_SIZE =
    EXTRACTION_TIMEOUT = 30
    MIN_DUPLCHECK_SIZE = 100
    MAX_REPETITIONS = 2
    EXTENSIVE_DATE_SEARCH = on
    EXTERNAL_URLS = off
    """
)


# --- memory of a process tree ----------------------------------------------------------------------


def _tree_rss_proc(root: int) -> int:
    """Bytes resident in `root` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    total, todo, page = 0, [root], os.sysconf("SC_PAGE_SIZE")
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            with open(f"/proc/{pid}/statm", encoding="ascii") as f:
                total += int(f.read().split()[1]) * page
        except OSError:
            pass
    return total


def _tree_rss_psutil(root: int) -> int:
    import psutil

    try:
        process = psutil.Process(root)
        total = process.memory_info().rss
        for child in process.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += child.memory_info().rss
        return total
    except psutil.Error:
        return 0


try:
    import psutil  # noqa: F401

    tree_rss = _tree_rss_psutil
    RSS_FROM = "psutil"
except ImportError:
    tree_rss = _tree_rss_proc
    RSS_FROM = "/proc"


def run_measured(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run `command` to the end; wall seconds, exit status, output and the peak RSS of its tree."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = 0
    output: dict[str, str] = {}

    def drain(name: str, stream: Any) -> None:
        output[name] = stream.read()

    readers = [
        threading.Thread(target=drain, args=(n, s)) for n, s in (("out", process.stdout), ("err", process.stderr))
    ]
    for reader in readers:
        reader.start()
    while process.poll() is None:
        peak = max(peak, tree_rss(process.pid))
        time.sleep(0.1)
    wall = time.perf_counter() - started
    for reader in readers:
        reader.join()
    return {
        "wall_seconds": wall,
        "returncode": process.returncode,
        "peak_rss_mb": peak / 2**20,
        "stdout": output.get("out", ""),
        "stderr": output.get("err", ""),
    }


# --- the served site -------------------------------------------------------------------------------


class Site:
    """The campaign site in a process of its own, logging every request."""

    def __init__(self, workdir: Path, articles: int, per_page: int) -> None:
        self.log = workdir / "requests.jsonl"
        command = [sys.executable, "-m", "samizdat.sample_sites", "--sites", "campaign", "--log", str(self.log)]
        command += ["--campaign-articles", str(articles), "--campaign-per-page", str(per_page)]
        command += ["--campaign-dead-links", "0"]
        self.process = subprocess.Popen(
            command,
            cwd=HERE,
            env={**os.environ, "PYTHONPATH": str(HERE)},
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit("the campaign site did not start")
        self.urls: dict[str, str] = json.loads(line)
        self.base = self.urls["campaign"]

    def requests(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(x) for x in self.log.read_text(encoding="utf-8").splitlines() if x.strip()]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def served_during(site: Site, before: int) -> tuple[int, int]:
    """(requests answered, article pages answered 200) since the log had `before` lines."""
    new = site.requests()[before:]
    return len(new), sum(1 for r in new if r["path"].startswith("/news/") and r["status"] == 200)


# --- the three runs --------------------------------------------------------------------------------


def run_samizdat(site: Site, root: Path, workdir: Path) -> dict[str, Any]:
    config = workdir / "sources.toml"
    config.write_text(
        sources_toml(site.urls, sites=("campaign",), delay=0)
        + "\n[settings]\nprogress_seconds = 0\ntimeout_seconds = 30\n",
        encoding="utf-8",
    )
    data = workdir / "data"
    env = {"PYTHONPATH": str(root)}
    before = len(site.requests())
    result = run_measured(
        [sys.executable, "-m", "samizdat", "crawl", "--config", str(config), "--data", str(data)], root, env
    )
    if result["returncode"] != 0:
        raise SystemExit(f"samizdat crawl failed:\n{result['stdout']}\n{result['stderr'][-3000:]}")
    pages, _ = served_during(site, before)
    export = subprocess.run(
        [sys.executable, "-m", "samizdat", "export", "--format", "jsonl", "--data", str(data)],
        cwd=root,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    records = [json.loads(line) for line in export.stdout.splitlines() if line.strip()]
    articles = sum(1 for r in records if "/news/" in r["url"])
    return {**result, "pages": pages, "articles": articles}


def run_scrapy(site: Site, workdir: Path) -> dict[str, Any]:
    spider = workdir / "follow_spider.py"
    spider.write_text(SPIDER, encoding="utf-8")
    before = len(site.requests())
    # cwd outside any Scrapy project, so that no scrapy.cfg settings apply
    result = run_measured(
        [sys.executable, "-m", "scrapy", "runspider", str(spider), "-a", f"base={site.base}"], workdir
    )
    if result["returncode"] != 0:
        raise SystemExit(f"the Scrapy reference failed:\n{result['stderr'][-3000:]}")
    pages, articles = served_during(site, before)
    return {**result, "pages": pages, "articles": articles}


def run_trafilatura(site: Site, workdir: Path, articles: int) -> dict[str, Any]:
    urls = workdir / "urls.txt"
    urls.write_text("\n".join(a["url"] for a in expected_campaign(site.urls, articles)) + "\n", encoding="utf-8")
    config = workdir / "trafilatura.cfg"
    config.write_text(TRAFILATURA_CONFIG, encoding="utf-8")
    output = workdir / "texts"
    # trafilatura has no __main__ module: call its console script's function with this interpreter
    command = [sys.executable, "-c", "import sys; from trafilatura.cli import main; sys.exit(main())"]
    command += ["-i", str(urls), "--parallel", "2", "-o", str(output), "--config-file", str(config)]
    before = len(site.requests())
    result = run_measured(command, workdir)
    if result["returncode"] not in (0, 1):  # 1: some URL gave no result
        raise SystemExit(f"the trafilatura reference failed:\n{result['stderr'][-3000:]}")
    pages, _ = served_during(site, before)
    written = sum(1 for _ in output.rglob("*") if _.is_file()) if output.exists() else 0
    return {**result, "pages": pages, "articles": written}


# --- report ----------------------------------------------------------------------------------------


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median of each figure over the runs."""
    out: dict[str, Any] = {"runs": len(runs)}
    for key in ("wall_seconds", "pages", "articles", "peak_rss_mb"):
        out[key] = statistics.median(r[key] for r in runs)
    out["pages_per_second"] = statistics.median(r["pages"] / r["wall_seconds"] for r in runs)
    out["articles_per_second"] = statistics.median(r["articles"] / r["wall_seconds"] for r in runs)
    return out


def print_table(results: dict[str, dict[str, Any]], info: dict[str, Any]) -> None:
    print(
        f"campaign site: {info['articles']} articles, {info['per_page']} per listing page, "
        f"{info['site_pages']} pages; samizdat from {info['samizdat_root']}; "
        f"median of {info['repeat']} run(s); RSS from {RSS_FROM}"
    )
    print(f"{'':<12} {'wall s':>8} {'pages':>7} {'pages/s':>9} {'articles':>9} {'articles/s':>11} {'peak RSS MB':>12}")
    for name, r in results.items():
        print(
            f"{name:<12} {r['wall_seconds']:>8.1f} {r['pages']:>7.0f} {r['pages_per_second']:>9.1f} "
            f"{r['articles']:>9.0f} {r['articles_per_second']:>11.1f} {r['peak_rss_mb']:>12.0f}"
        )
    ours = results.get("samizdat")
    if ours and "scrapy" in results:
        ratio = ours["pages_per_second"] / results["scrapy"]["pages_per_second"]
        print(f"samizdat / scrapy, pages/s:          {ratio:.2f}")
    if ours and "trafilatura" in results:
        ratio = ours["articles_per_second"] / results["trafilatura"]["articles_per_second"]
        print(f"samizdat / trafilatura, articles/s:  {ratio:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=1800, help="articles on the served site (default 1800)")
    parser.add_argument("--per-page", type=int, default=10, help="teasers per listing page (default 10)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each measurement; medians are shown")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of a table")
    parser.add_argument(
        "--samizdat-root", type=Path, default=HERE, help="the checkout whose code runs the crawl (default: this one)"
    )
    parser.add_argument(
        "--only", default="samizdat,scrapy,trafilatura", help="comma-separated: which of samizdat,scrapy,trafilatura"
    )
    args = parser.parse_args()
    root = args.samizdat_root.resolve()
    if not (root / "samizdat" / "__main__.py").exists():
        parser.error(f"{root} is not a samizdat checkout (no samizdat/__main__.py)")
    chosen = [n.strip() for n in args.only.split(",") if n.strip()]
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        workdir = Path(tmp)
        site = Site(workdir, args.articles, args.per_page)
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in chosen}
        try:
            for k in range(args.repeat):
                for name in chosen:
                    run_dir = workdir / f"{name}-{k}"
                    run_dir.mkdir()
                    if name == "samizdat":
                        runs[name].append(run_samizdat(site, root, run_dir))
                    elif name == "scrapy":
                        runs[name].append(run_scrapy(site, run_dir))
                    elif name == "trafilatura":
                        runs[name].append(run_trafilatura(site, run_dir, args.articles))
                    else:
                        parser.error(f"--only: unknown {name!r}")
        finally:
            site.stop()
    results = {name: summarise(r) for name, r in runs.items()}
    info = {
        "articles": args.articles,
        "per_page": args.per_page,
        "site_pages": args.articles + -(-args.articles // args.per_page),
        "samizdat_root": str(root),
        "repeat": args.repeat,
        "rss_from": RSS_FROM,
    }
    if args.json:
        ratios = {}
        if "samizdat" in results and "scrapy" in results:
            ratios["samizdat/scrapy pages_per_second"] = (
                results["samizdat"]["pages_per_second"] / results["scrapy"]["pages_per_second"]
            )
        if "samizdat" in results and "trafilatura" in results:
            ratios["samizdat/trafilatura articles_per_second"] = (
                results["samizdat"]["articles_per_second"] / results["trafilatura"]["articles_per_second"]
            )
        print(json.dumps({"site": info, "results": results, "ratios": ratios}, indent=2))
    else:
        print_table(results, info)


if __name__ == "__main__":
    main()
