"""A synthetic corpus for the tests that need a large index (tests/test_search_budget.py): a Zipf-like
vocabulary of topic words and a long tail of made-up ones (`w123x`), some documents in Russian word forms,
labels, sources, authors and dates. Deterministic by seed. The benchmarks have their own, more realistic
generator (bench/docgen.py)."""

from __future__ import annotations

import random
from collections.abc import Iterator

from samizdat.archive.document import Document

TOPIC_WORDS = [
    "rent",
    "strike",
    "tenants",
    "landlord",
    "eviction",
    "evicted",
    "police",
    "picket",
    "union",
    "bakery",
    "shipyard",
    "council",
    "housing",
    "court",
    "hearing",
    "wages",
    "workers",
    "meeting",
    "leaflet",
    "repairs",
    "protest",
    "march",
    "newspaper",
    "editorial",
    "history",
]
# Russian documents (--ru-share): word forms made from stems and case endings, so that the Russian stemmer
# has real work and a query in one form finds the others.
RU_STEMS = ["завод", "хлеб", "профсоюз", "шахт", "зарплат", "город", "суд", "митинг", "рабоч", "директор"]
RU_ENDINGS = ["", "а", "у", "ом", "е", "ы", "ов", "ам", "ами", "ах"]
RU_WORDS = [stem + ending for stem in RU_STEMS for ending in RU_ENDINGS]
LABELS = [f"Label {n}" for n in range(60)] + ["Rent strike", "Housing", "Police", "Strikes", "Union"]
SOURCES = ["tenants-voice", "red-press", "kz-news", "harbour-blog", "union-weekly"]
WORDS_PER_DOC = 250


def synthetic_docs(count: int, seed: int = 7, ru_share: float = 0.0) -> Iterator[Document]:
    rng = random.Random(seed)
    # A Zipf-like vocabulary: a few very common words, a long tail of rare ones, like real text.
    vocabulary = TOPIC_WORDS + [f"w{n}x" for n in range(20_000)]
    weights = [1.0 / (rank + 1) for rank in range(len(vocabulary))]
    ru_vocabulary = RU_WORDS + [f"с{n}ш" + rng.choice(RU_ENDINGS) for n in range(20_000)]
    ru_weights = [1.0 / (rank + 1) for rank in range(len(ru_vocabulary))]
    authors = [f"Author {n}" for n in range(300)]
    for n in range(count):
        russian = rng.random() < ru_share
        if russian:
            words = rng.choices(ru_vocabulary, weights=ru_weights, k=WORDS_PER_DOC)
        else:
            words = rng.choices(vocabulary, weights=weights, k=WORDS_PER_DOC)
        undated = rng.random() < 0.03
        year, month, day = rng.randint(2005, 2024), rng.randint(1, 12), rng.randint(1, 28)
        yield Document(
            url=f"https://{SOURCES[n % len(SOURCES)]}.example/post/{n}",
            source=SOURCES[n % len(SOURCES)],
            kind="blogger",
            title=" ".join(rng.choices((ru_vocabulary if russian else vocabulary)[:400], k=6)).capitalize(),
            text=" ".join(words) + ".",
            author=rng.choice(authors) if rng.random() < 0.9 else None,
            published=None if undated else f"{year:04d}-{month:02d}-{day:02d}",
            labels=sorted(set(rng.choices(LABELS, weights=[1.0 / (i + 1) for i in range(len(LABELS))], k=3))),
            language="ru" if russian else "en",
        )
