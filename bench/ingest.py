"""Ingest: `samizdat crawl` end to end against three references, on one generated site, in one run.

    python -m bench.ingest [--pages 2000] [--seed 13] [--repeat 1] [--quick] [--out PATH] [--json]

Serves the generated WordPress-like site (bench/sitegen.py: --pages HTML pages, about 77% of them posts) on
127.0.0.1 and measures, one after the other on the same pages, with no politeness delay:

  samizdat          `python -m samizdat crawl` in a fresh data directory (delay 0, requisites off so that
                    every contender fetches pages only, robots.txt obeyed): crawl, WARC, extraction, store,
                    index; articles = documents stored
  scrapy            a plain Scrapy spider following every link of the site (query strings, wp-admin,
                    wp-json and feeds denied, as a Scrapy user would write it), nothing extracted or stored
  scrapy+trafilatura  the same spider calling `trafilatura.extract(html, url=..., with_metadata=True)` on
                    every page; articles = post pages that gave a text
  trafilatura       trafilatura's own command line fetching and extracting the known post URLs
                    (`trafilatura -i URLS --parallel 2 -o DIR`, its sleep between requests set to 0);
                    articles = texts written

For each: wall seconds, pages (requests the site answered, from its own counter), articles, pages/s,
articles/s and the peak resident memory of the process tree. Rows: samizdat articles/s against the
trafilatura command line (goal >= 1.0x), and pages/s against both Scrapy crawls (no goal).

--samizdat-root DIR runs samizdat from another checkout (a before/after comparison on the same site).
The samizdat crawl's data directory is kept (bench/.cache/work/) for the reindex benchmark.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import urllib.request
from pathlib import Path
from typing import Any

from bench import CACHE, ROOT, RSS_FROM, rate_row, run_measured, sitegen

QUICK_PAGES = 150

SPIDER = textwrap.dedent(
    '''
    import re
    from urllib.parse import urlsplit

    import scrapy
    from scrapy.linkextractors import LinkExtractor

    EXTRACT = {extract}
    POST = re.compile(r"/\\d{{4}}/\\d{{2}}/\\d{{2}}/[^/]+/$")  # the site's post pages
    if EXTRACT:
        import trafilatura


    class FollowSpider(scrapy.Spider):
        """Every page of the site, once, by its links."""

        name = "follow"
        custom_settings = {{
            "ROBOTSTXT_OBEY": True,
            "DOWNLOAD_DELAY": 0,
            "LOG_LEVEL": "WARNING",
            "TELNETCONSOLE_ENABLED": False,
            "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7",
        }}

        def __init__(self, base, **kwargs):
            super().__init__(**kwargs)
            self.start_urls = [base.rstrip("/") + "/"]
            self.extracted = 0
            # This host:port only (OffsiteMiddleware ignores ports); WordPress's variants and machinery denied.
            self.links = LinkExtractor(
                allow_domains=[urlsplit(base).netloc],
                deny=[r"\\?", r"/wp-admin/", r"/wp-json/", r"/wp-login", r"/feed/$"],
            )

        def parse(self, response):
            if EXTRACT:
                text = trafilatura.extract(response.text, url=response.url, with_metadata=True)
                if text and POST.search(response.url):
                    self.crawler.stats.inc_value("bench/extracted")
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

CONTENDERS = ("samizdat", "scrapy", "scrapy+trafilatura", "trafilatura")


# --- the served site -------------------------------------------------------------------------------


class Site:
    """The generated site, served from its cache by a process of its own."""

    def __init__(self, pages: int, seed: int, cache: Path = CACHE) -> None:
        self.cache = sitegen.generate(pages, seed, cache)
        self.manifest = sitegen.manifest(self.cache)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.sitegen", "--pages", str(pages), "--seed", str(seed), "--cache", str(cache)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit("bench.sitegen: the site did not start")
        self.base: str = json.loads(line)["base"]
        self.article_urls = [self.base + p for p in self.manifest["articles"]]

    def stats(self, reset: bool = False) -> dict[str, int]:
        with urllib.request.urlopen(f"{self.base}/__bench__/{'reset' if reset else 'stats'}", timeout=10) as r:
            return json.loads(r.read())  # type: ignore[no-any-return]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def work_dir(pages: int, seed: int, cache: Path = CACHE) -> Path:
    """Where this size's runs keep their data (the crawl's data directory is the reindex benchmark's input)."""
    return cache / "work" / f"ingest-p{pages}-s{seed}"


def cache_of(options: argparse.Namespace) -> Path:
    """The work dir generated data is cached in (`--work-dir`, shared with the search part)."""
    return Path(getattr(options, "work_dir", None) or CACHE)


# --- the four runs ---------------------------------------------------------------------------------


def sources_toml(base: str) -> str:
    return textwrap.dedent(
        f"""
        [[source]]
        name = "bench-site"
        kind = "wordpress"
        start_urls = ["{base}/"]
        delay = 0
        requisites = false

        [settings]
        progress_seconds = 0
        timeout_seconds = 30
        """
    )


def stored_articles(data: Path, article_urls: set[str]) -> int:
    """Documents in the data directory's store whose URL is one of the site's posts."""
    export = subprocess.run(
        [sys.executable, "-m", "samizdat", "export", "--format", "jsonl", "--data", str(data)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    records = [json.loads(line) for line in export.stdout.splitlines() if line.strip()]
    return sum(1 for r in records if r["url"] in article_urls)


def samizdat_env(root: Path) -> dict[str, str]:
    """The environment that runs `python -m samizdat` from the checkout at `root` (its cwd too)."""
    return {"PYTHONPATH": str(root)}


def crawl_samizdat(site: Site, run_dir: Path, data: Path, root: Path = ROOT) -> dict[str, Any]:
    config = run_dir / "sources.toml"
    config.write_text(sources_toml(site.base), encoding="utf-8")
    shutil.rmtree(data, ignore_errors=True)
    command = [sys.executable, "-m", "samizdat", "crawl", "--config", str(config), "--data", str(data)]
    site.stats(reset=True)
    result = run_measured(command, root, samizdat_env(root))
    if result["returncode"] != 0:
        raise SystemExit(f"samizdat crawl failed:\n{result['stdout'][-2000:]}\n{result['stderr'][-3000:]}")
    served = site.stats()
    return {**result, "pages": served.get("requests", 0), "served": served}


def crawl_scrapy(site: Site, run_dir: Path, extract: bool) -> dict[str, Any]:
    spider = run_dir / "follow_spider.py"
    spider.write_text(SPIDER.format(extract=extract), encoding="utf-8")
    # cwd outside any Scrapy project, so that no scrapy.cfg settings apply; the stats are dumped on close
    command = [sys.executable, "-m", "scrapy", "runspider", str(spider), "-a", f"base={site.base}"]
    command += ["-s", "STATS_DUMP=True", "-s", "LOG_LEVEL=INFO", "--logfile", str(run_dir / "scrapy.log")]
    site.stats(reset=True)
    result = run_measured(command, run_dir)
    if result["returncode"] != 0:
        raise SystemExit(f"the Scrapy reference failed:\n{result['stderr'][-3000:]}")
    served = site.stats()
    extracted = 0
    if extract:
        log = (run_dir / "scrapy.log").read_text(encoding="utf-8", errors="replace")
        for line in log.splitlines():
            if "'bench/extracted':" in line:
                extracted = int(line.split(":")[-1].strip(" ,}"))
    return {**result, "pages": served.get("requests", 0), "served": served, "extracted": extracted}


def fetch_trafilatura(site: Site, run_dir: Path) -> dict[str, Any]:
    urls = run_dir / "urls.txt"
    urls.write_text("\n".join(site.article_urls) + "\n", encoding="utf-8")
    config = run_dir / "trafilatura.cfg"
    config.write_text(TRAFILATURA_CONFIG, encoding="utf-8")
    output = run_dir / "texts"
    # trafilatura has no __main__ module: its console script's function, with this interpreter
    command = [sys.executable, "-c", "import sys; from trafilatura.cli import main; sys.exit(main())"]
    command += ["-i", str(urls), "--parallel", "2", "-o", str(output), "--config-file", str(config)]
    site.stats(reset=True)
    result = run_measured(command, run_dir)
    if result["returncode"] not in (0, 1):  # 1: some URL gave no result
        raise SystemExit(f"the trafilatura reference failed:\n{result['stderr'][-3000:]}")
    served = site.stats()
    written = sum(1 for f in output.rglob("*") if f.is_file()) if output.exists() else 0
    return {**result, "pages": served.get("requests", 0), "served": served, "articles": written}


def measure(
    pages: int,
    seed: int,
    repeat: int = 1,
    only: tuple[str, ...] = CONTENDERS,
    root: Path = ROOT,
    cache: Path = CACHE,
) -> dict[str, Any]:
    """Every contender's figures (medians over `repeat` runs) and the site's; samizdat runs from `root`."""
    work = work_dir(pages, seed, cache)
    site = Site(pages, seed, cache)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in only}
    data = work / "data"
    # The runs' own files outside the checkout: Scrapy would take its scrapy.cfg as the project's settings.
    scratch = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    try:
        for k in range(repeat):
            for name in only:
                run_dir = scratch / f"{name}-{k}"
                run_dir.mkdir()
                if name == "samizdat":
                    run = crawl_samizdat(site, run_dir, data, root)
                    run["articles"] = stored_articles(data, set(site.article_urls))
                elif name == "scrapy":
                    run = crawl_scrapy(site, run_dir, extract=False)
                    run["articles"] = run["served"].get("articles", 0)  # post pages fetched
                elif name == "scrapy+trafilatura":
                    run = crawl_scrapy(site, run_dir, extract=True)
                    run["articles"] = run["extracted"]
                else:
                    run = fetch_trafilatura(site, run_dir)
                runs[name].append(run)
                print(
                    f"  {name}: {run['wall_seconds']:.1f} s, {run['pages']} pages, {run['articles']} articles",
                    file=sys.stderr,
                )
    finally:
        site.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    figures = {name: summarise(r) for name, r in runs.items()}
    info = {
        "pages": len(site.manifest["html_pages"]),
        "posts": len(site.manifest["articles"]),
        "russian_posts": site.manifest["russian_articles"],
        "words": site.manifest["words"],
        "html_mb": site.manifest["html_bytes"] / 2**20,
        "seed": seed,
        "repeat": repeat,
        "rss_from": RSS_FROM,
        "data_dir": str(data),
        "samizdat_root": str(root),
    }
    return {"site": info, "figures": figures}


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"runs": len(runs)}
    for key in ("wall_seconds", "cpu_seconds", "pages", "articles", "peak_rss_mb"):
        out[key] = statistics.median(r[key] for r in runs)
    out["pages_per_second"] = statistics.median(r["pages"] / r["wall_seconds"] for r in runs)
    out["articles_per_second"] = statistics.median(r["articles"] / r["wall_seconds"] for r in runs)
    out["served"] = runs[-1]["served"]
    return out


def rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    site, figures = result["site"], result["figures"]
    ours = figures.get("samizdat")
    out: list[dict[str, Any]] = []
    if not ours:
        return out
    what = f"{site['pages']:,}-page WordPress-like site ({site['posts']:,} posts), delay 0"
    if "trafilatura" in figures:
        theirs = figures["trafilatura"]
        out.append(
            rate_row(
                f"ingest {what}: crawl, WARC, extract, store, index",
                ours["articles_per_second"],
                "articles/s",
                "trafilatura -i URLS --parallel 2 (fetch + extract, text without metadata)",
                theirs["articles_per_second"],
                1.0,
                {"site": site, "samizdat": ours, "trafilatura": theirs},
            )
        )
    for name, label in (
        ("scrapy", "plain Scrapy following links"),
        ("scrapy+trafilatura", "Scrapy + trafilatura.extract per page"),
    ):
        if name in figures:
            theirs = figures[name]
            out.append(
                rate_row(
                    f"ingest, pages/s, beside {label}",
                    ours["pages_per_second"],
                    "pages/s",
                    label,
                    theirs["pages_per_second"],
                    None,
                    {"samizdat": ours, name: theirs},
                )
            )
    if "trafilatura" in figures:
        theirs = figures["trafilatura"]
        mine, its = (1000 * f["cpu_seconds"] / max(f["articles"], 1) for f in (ours, theirs))
        out.append(
            {
                "job": "ingest, CPU per article (process tree; moves less than wall time on a busy machine)",
                "samizdat": mine,
                "unit": "CPU ms",
                "reference_name": "trafilatura -i URLS --parallel 2",
                "reference": its,
                "ratio": mine / its if its else None,
                "goal": "-",
                "met": None,
                "details": {},
            }
        )
    if "scrapy+trafilatura" in figures:
        theirs = figures["scrapy+trafilatura"]
        ratio = ours["peak_rss_mb"] / theirs["peak_rss_mb"] if theirs["peak_rss_mb"] else None
        out.append(
            {
                "job": "ingest peak memory (process tree RSS, lower is better)",
                "samizdat": ours["peak_rss_mb"],
                "unit": "MB",
                "reference_name": "Scrapy + trafilatura.extract per page",
                "reference": theirs["peak_rss_mb"],
                "ratio": ratio,
                "goal": "-",
                "met": None,
                "details": {},
            }
        )
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("ingest and reindex")
    group.add_argument("--pages", type=int, default=None, help="HTML pages of the generated site (default 2000)")
    group.add_argument("--seed", type=int, default=13, help="the site generator's seed (default 13)")
    group.add_argument("--repeat", type=int, default=1, help="runs of each ingest measurement; medians are shown")
    group.add_argument(
        "--samizdat-root",
        type=Path,
        default=ROOT,
        help="run `samizdat crawl` and `reindex` from another checkout, e.g. a before copy made with "
        "`git worktree add /tmp/samizdat-before HEAD` (default: this one); the site is always this checkout's",
    )


def samizdat_root(options: argparse.Namespace) -> Path:
    root = Path(getattr(options, "samizdat_root", None) or ROOT).resolve()
    if not (root / "samizdat" / "__main__.py").exists():
        raise SystemExit(f"--samizdat-root: {root} is not a samizdat checkout (no samizdat/__main__.py)")
    return root


def pages_of(options: argparse.Namespace) -> int:
    if options.pages:
        return int(options.pages)
    return QUICK_PAGES if options.quick else 2000


def run(options: argparse.Namespace) -> list[dict[str, Any]]:
    pages = pages_of(options)
    print(f"ingest: {pages}-page site", file=sys.stderr)
    result = measure(pages, options.seed, options.repeat, root=samizdat_root(options), cache=cache_of(options))
    return rows(result)


def print_figures(result: dict[str, Any]) -> None:
    site = result["site"]
    print(
        f"site: {site['pages']} HTML pages, {site['posts']} posts ({site['russian_posts']} Russian), "
        f"{site['html_mb']:.0f} MB of HTML; median of {site['repeat']} run(s); RSS from {site['rss_from']}"
    )
    print(
        f"{'':<20} {'wall s':>8} {'CPU s':>7} {'pages':>7} {'pages/s':>9} {'articles':>9} {'articles/s':>11} "
        f"{'CPU ms/article':>15} {'peak MB':>8}"
    )
    for name, r in result["figures"].items():
        print(
            f"{name:<20} {r['wall_seconds']:>8.1f} {r['cpu_seconds']:>7.1f} {r['pages']:>7.0f} "
            f"{r['pages_per_second']:>9.1f} {r['articles']:>9.0f} {r['articles_per_second']:>11.1f} "
            f"{1000 * r['cpu_seconds'] / max(r['articles'], 1):>15.1f} {r['peak_rss_mb']:>8.0f}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help=f"a {QUICK_PAGES}-page site")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--only", default=",".join(CONTENDERS), help=f"comma-separated, of: {', '.join(CONTENDERS)}")
    add_arguments(parser)
    args = parser.parse_args(argv)
    only = tuple(n.strip() for n in args.only.split(",") if n.strip())
    unknown = [n for n in only if n not in CONTENDERS]
    if unknown:
        parser.error(f"--only: unknown {unknown[0]!r}")
    result = measure(pages_of(args), args.seed, args.repeat, only, samizdat_root(args), cache_of(args))
    if args.json:
        print(json.dumps({**result, "rows": rows(result)}, indent=2, default=str))
    else:
        print_figures(result)


if __name__ == "__main__":
    main()
