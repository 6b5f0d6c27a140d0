"""The generic reader against trafilatura alone, on public pages from many sites, in the same run.

    python bench/bench_generic.py [--data bench/data/readability] [--show 10] [--opaque-urls]

The data: the real-site test pages of Mozilla's Readability (bench/data/readability, Apache-2.0; see its
README.md): each page as it was captured and the article text its maintainers expect. Or, with
--data bench/data/wcxb, 300 article pages of the WCXB benchmark (CC-BY-4.0; see its README.md), whose
expected text is given as plain text (`expected_text`) rather than as HTML. Every page is read
as one page of an unknown site (kind "generic"), exactly as a crawl reads it, and by `trafilatura.extract`
with its defaults (comments left out). Prints, for both: body token F1, precision and recall (means over
the pages; a page not taken for an article counts as empty text), the same over the pages both took, and
the share of article pages taken for articles. No figure is asserted: compare within one run.
`--opaque-urls` reads every page at an address that says nothing of it, as a crawl of the pages saved and
served by one host would (no URL evidence).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import functools
import hashlib
import json
import lzma
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

import lxml.html
import trafilatura

from samizdat.archive.config import Source
from samizdat.archive.extract import extract
from samizdat.archive.warc import Capture

DATA = Path(__file__).parent / "data" / "readability"
SOURCE = Source(name="bench", start_urls=("http://fakehost/",))
BLOCKS = {"p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "figcaption", "td", "th", "dt", "dd"}


def load(data: Path) -> list[dict[str, Any]]:
    with lzma.open(data / "pages.jsonl.xz", "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def page_url(html: str, name: str, metadata: dict[str, Any]) -> str:
    """Where the page was fetched from when the data says so (WCXB); else its own address (og:url,
    canonical) when it states one; else the one Readability's tests use."""
    if str(metadata.get("url") or "").startswith(("http://", "https://")):
        return str(metadata["url"])
    tree = lxml.html.fromstring(html.encode("utf-8"))
    for xpath in ("//meta[@property='og:url']/@content", "//link[@rel='canonical']/@href"):
        for value in tree.xpath(xpath):
            if str(value).startswith(("http://", "https://")):
                return str(value)
    return f"http://fakehost/test/{name}.html"


def expected_text(page: dict[str, Any]) -> str:
    """The page's expected text: `expected_text` when the data gives plain text, else `expected_html`'s text."""
    if "expected_text" in page:
        return " ".join(page["expected_text"].split())
    return " ".join(lxml.html.fromstring(page["expected_html"].encode("utf-8")).text_content().split())


def tokens(text: str) -> Counter[str]:
    return Counter(re.findall(r"\w+", text.casefold()))


def prf(got: str, want: str) -> tuple[float, float, float]:
    a, b = tokens(got), tokens(want)
    common = sum((a & b).values())
    if not common:
        return 0.0, 0.0, 0.0
    p, r = common / sum(a.values()), common / sum(b.values())
    return p, r, 2 * p * r / (p + r)


def ours(html: str, url: str) -> tuple[str | None, str]:
    """Our text (None when the page is not taken for an article) and why not."""
    capture = Capture(
        url=url,
        status=200,
        headers=[("Content-Type", "text/html; charset=utf-8")],
        payload=html.encode("utf-8"),
        fetched_at="2030-01-01T00:00:00Z",
    )
    result = extract(capture, SOURCE, "generic")
    return (result.document.text if result.document else None), f"{result.page_type}: {result.reason}"


def alone(html: str, url: str) -> str | None:
    return trafilatura.extract(html, url=url, include_comments=False, include_tables=True)


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def opaque_url(name: str) -> str:
    """An address that says nothing of the page (letters of a hash): every page as one host serves them
    from a folder of saved files, the way a crawl of the data served as one site would see it."""
    letters = "".join(c for c in hashlib.sha1(name.encode("utf-8")).hexdigest() if c.isalpha())
    return f"http://127.0.0.1:8000/saved/{letters[:8]}.html"


def measure(
    pages: list[dict[str, Any]], opaque: bool = False, processes: int = 1
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Each page read by both: whether taken for an article and (precision, recall, F1) against the data's
    text; and the CPU seconds each spent, summed over the pages. `opaque`: at addresses that give no evidence
    (see opaque_url). `processes` > 1 reads the pages in that many processes (each page's times are its own)."""
    read = functools.partial(_measure_page, opaque=opaque)
    if processes > 1:
        with concurrent.futures.ProcessPoolExecutor(processes) as pool:
            results = list(pool.map(read, pages, chunksize=8))
    else:
        results = [read(page) for page in pages]
    seconds = {"ours": sum(t for _, (t, _) in results), "trafilatura": sum(t for _, (_, t) in results)}
    return [row for row, _ in results], seconds


def _measure_page(page: dict[str, Any], opaque: bool) -> tuple[dict[str, Any], tuple[float, float]]:
    url = opaque_url(page["name"]) if opaque else page_url(page["source_html"], page["name"], page["metadata"])
    want = expected_text(page)
    t0 = time.perf_counter()
    text, why = ours(page["source_html"], url)
    t1 = time.perf_counter()
    reference = alone(page["source_html"], url)
    t2 = time.perf_counter()
    row = {
        "name": page["name"],
        "article": bool(page["metadata"].get("readerable")),
        "why": why,
        "ours": (text is not None, prf(text or "", want)),
        "trafilatura": (reference is not None, prf(reference or "", want)),
    }
    return row, (t1 - t0, t2 - t1)


def figures(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """{"ours"|"trafilatura": {figure: value}}: F1, precision and recall over all article pages (a page not
    taken counts as empty) and over those both took ("... both"), and the share taken for articles."""
    articles = [r for r in rows if r["article"]]
    both = [r for r in articles if r["ours"][0] and r["trafilatura"][0]]
    out: dict[str, dict[str, float]] = {}
    for who in ("ours", "trafilatura"):
        out[who] = {"taken": mean([float(r[who][0]) for r in articles]), "pages": len(articles), "both": len(both)}
        for suffix, subset in (("", articles), (" both", both)):
            for i, figure in ((2, "F1"), (0, "precision"), (1, "recall")):
                out[who][figure + suffix] = mean([r[who][1][i] for r in subset])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--show", type=int, default=10, help="list the N pages where we trail trafilatura most")
    parser.add_argument(
        "--opaque-urls", action="store_true", help="read every page at an address that says nothing of it"
    )
    args = parser.parse_args()
    pages = load(args.data)
    rows, seconds = measure(pages, opaque=args.opaque_urls)
    table = figures(rows)
    articles = [r for r in rows if r["article"]]
    both = [r for r in articles if r["ours"][0] and r["trafilatura"][0]]
    print(f"data: {args.data} ({len(pages)} pages, {len(articles)} of them articles by the data's own word)")
    print(f"{'':<30}{'ours':>12}{'trafilatura':>12}")
    for suffix, label in (("", f"all {len(articles)} article pages"), (" both", f"the {len(both)} both took")):
        for figure in ("F1", "precision", "recall"):
            cells = [table[who][figure + suffix] for who in ("ours", "trafilatura")]
            print(f"{figure + ' (' + label + ')':<30}{cells[0]:>12.3f}{cells[1]:>12.3f}")
    print(f"{'taken for articles':<30}{table['ours']['taken']:>12.3f}{table['trafilatura']['taken']:>12.3f}")
    print(f"{'ms per page':<30}" + "".join(f"{seconds[w] * 1000 / len(pages):>12.1f}" for w in seconds))
    dropped = [r for r in articles if not r["ours"][0]]
    if dropped:
        print("\narticle pages not taken for articles:")
        for r in dropped:
            print(f"  {r['name']:<28} {r['why']}")
    behind = sorted(both, key=lambda r: r["ours"][1][2] - r["trafilatura"][1][2])[: args.show]
    if behind:
        print("\nwhere we trail trafilatura most (F1 ours / trafilatura; precision, recall):")
        for r in behind:
            (p, rc, f), (tp, tr, tf) = r["ours"][1], r["trafilatura"][1]
            print(f"  {r['name']:<28} {f:.3f} / {tf:.3f}   P {p:.3f} / {tp:.3f}   R {rc:.3f} / {tr:.3f}")


if __name__ == "__main__":
    main()
