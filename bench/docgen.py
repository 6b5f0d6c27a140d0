"""Synthetic articles for the index and search benchmarks, deterministic by seed.

The vocabulary comes from our own sample sites' text (samizdat/sample_sites/data), ranked by frequency, and
goes on into a long tail of words made from their syllables, drawn with Zipf-like weights: a few words in
almost every article, most words in a handful, as in real text. Articles are in English, Russian and
Kazakh (Cyrillic words with Russian and Kazakh endings, so that the Russian stemmer has forms to join), with
recurring phrases (so that phrase queries have real answers), labels, sources, authors and dates over 25
years, all long-tailed too.

    python -m bench.docgen --docs 5 --seed 7     # print a few
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import itertools
import random
import re
import tomllib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from whoosh.analysis import STOP_WORDS as WHOOSH_STOP_WORDS

from samizdat.archive.document import Document

# Bump when the documents change: cached data directories are keyed by it.
GENERATOR_VERSION = 1
SEED = 7
SAMPLE_DATA = Path(__file__).resolve().parent.parent / "samizdat" / "sample_sites" / "data"

WORDS_MIN, WORDS_MAX = 250, 700
LANGUAGES = (("en", 0.72), ("ru", 0.2), ("kk", 0.08))
VOCABULARY_SIZE = {"en": 80_000, "ru": 40_000}  # Kazakh shares the Cyrillic stems
PHRASE_SHARE = 0.06  # of a text's word slots that start one of the recurring phrases
FIRST_YEAR, LAST_YEAR = 2000, 2024
UNDATED_SHARE = 0.03
NO_AUTHOR_SHARE = 0.1

RU_ENDINGS = ("", "а", "у", "ом", "е", "ы", "ов", "ам", "ами", "ах", "ой", "ий", "ая", "ые")
KK_ENDINGS = ("", "лар", "лер", "ға", "ге", "ның", "нің", "да", "де", "ды", "ты")
# English stop words (whoosh's list, which samizdat drops): queries never use them.
STOP_WORDS = frozenset(WHOOSH_STOP_WORDS)
_LATIN = re.compile(r"[a-z]{2,}")
_CYRILLIC = re.compile(r"[а-яё]{2,}")
_SENTENCE = re.compile(r"[^.!?;:]+")


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@dataclass(frozen=True)
class Vocabulary:
    """Words by rank (rank 0 the most frequent) with cumulative Zipf weights, and the recurring phrases."""

    words: tuple[str, ...]
    cumulative: tuple[float, ...]
    phrases: tuple[tuple[str, ...], ...]
    phrase_cumulative: tuple[float, ...]

    def content_words(self) -> list[str]:
        """Words by rank without stop words: what queries are made of."""
        return [word for word in self.words if word not in STOP_WORDS]


def _zipf(count: int, exponent: float = 1.05, shift: float = 2.7) -> tuple[float, ...]:
    return tuple(itertools.accumulate(1.0 / (rank + shift) ** exponent for rank in range(count)))


def _tail(seeds: list[str], count: int, rng: random.Random, taken: set[str], alphabet: str) -> list[str]:
    """`count` new words, each a start of one seed word joined to an end of another (e.g. "tenfield"):
    they look like the language and most are not real words, so a rare one matches only where it was put."""
    made: list[str] = []
    long_seeds = [word for word in seeds if len(word) >= 4] or seeds
    while len(made) < count:
        head, tail = rng.choice(long_seeds), rng.choice(long_seeds)
        word = head[: rng.randint(2, max(2, len(head) - 1))] + tail[rng.randint(1, len(tail) - 2) :]
        if len(word) >= 4 and word not in taken and all(char in alphabet for char in word):
            taken.add(word)
            made.append(word)
    return made


@cache
def sample_text() -> tuple[Counter[str], Counter[str], list[list[str]]]:
    """(Latin word counts, Cyrillic word counts, English sentences as word lists) of the sample sites."""
    latin: Counter[str] = Counter()
    cyrillic: Counter[str] = Counter()
    sentences: list[list[str]] = []
    for path in sorted(SAMPLE_DATA.glob("*.toml")):
        with path.open("rb") as file:
            data = tomllib.load(file)
        for text in _strings(data):
            lowered = text.lower()
            latin.update(_LATIN.findall(lowered))
            cyrillic.update(_CYRILLIC.findall(lowered))
            for sentence in _SENTENCE.findall(lowered):
                words = _LATIN.findall(sentence)
                if len(words) >= 2:
                    sentences.append(words)
    return latin, cyrillic, sentences


@cache
def vocabularies(seed: int = SEED) -> dict[str, Vocabulary]:
    """Per script ("en" for Latin, "ru" for Cyrillic) the ranked vocabulary and its phrases."""
    rng = random.Random(seed)
    latin, cyrillic, sentences = sample_text()
    result = {}
    for language, counts in (("en", latin), ("ru", cyrillic)):
        ranked = [word for word, _ in counts.most_common()]
        alphabet = "abcdefghijklmnopqrstuvwxyz" if language == "en" else "абвгдеёжзийклмнопрстуфхцчшщъыьэюя"
        if language == "ru":  # sample Russian is short: give its stems endings, as real text has
            ranked += [
                word + ending for word in ranked[:300] for ending in RU_ENDINGS[1:5] if word + ending not in counts
            ]
        taken = set(ranked)
        ranked += _tail(ranked, VOCABULARY_SIZE[language] - len(ranked), rng, taken, alphabet)
        # Recurring phrases: two or three consecutive content words of a sample sentence (English), or
        # pairs of common Cyrillic words; ranked Zipf-like too, so some are common and most are rare.
        phrases: dict[tuple[str, ...], None] = {}
        if language == "en":
            for words in sentences:
                content = [word for word in words if word not in STOP_WORDS]
                for size in (2, 3):
                    for start in range(len(content) - size + 1):
                        phrases[tuple(content[start : start + size])] = None
        else:
            content = [word for word in ranked[:600] if len(word) > 3]
            for _ in range(3000):
                phrases[(rng.choice(content), rng.choice(content))] = None
        phrase_list = list(phrases)
        rng.shuffle(phrase_list)
        result[language] = Vocabulary(tuple(ranked), _zipf(len(ranked)), tuple(phrase_list), _zipf(len(phrase_list)))
    return result


@dataclass(frozen=True)
class Catalog:
    """The long-tailed metadata values."""

    sources: tuple[str, ...]
    labels: tuple[str, ...]
    authors: dict[str, tuple[str, ...]]  # per source


@cache
def catalog(seed: int = SEED) -> Catalog:
    rng = random.Random(seed + 1)
    latin, _cyrillic, _ = sample_text()
    common = [word for word, _ in latin.most_common(2000) if word not in STOP_WORDS and len(word) > 3]
    sources = tuple(
        f"{rng.choice(common)}-{rng.choice(['voice', 'press', 'news', 'blog', 'weekly', 'herald', 'diary'])}"
        for _ in range(14)
    )
    labels: list[str] = []
    while len(labels) < 180:
        words = rng.sample(common[:600], rng.choice((1, 1, 2)))
        label = " ".join(words).capitalize()
        if label not in labels:
            labels.append(label)
    surnames = [word.capitalize() for word in common[200:1400]]
    authors = {
        source: tuple(f"{rng.choice(surnames)[:1]}. {rng.choice(surnames)}" for _ in range(rng.randint(5, 60)))
        for source in sources
    }
    return Catalog(sources, tuple(labels), authors)


def _pick(rng: random.Random, values: tuple[str, ...], cumulative: tuple[float, ...]) -> str:
    return values[bisect.bisect(cumulative, rng.random() * cumulative[-1])]


def _text(rng: random.Random, vocabulary: Vocabulary, length: int, endings: tuple[str, ...] | None) -> str:
    words = rng.choices(vocabulary.words, cum_weights=vocabulary.cumulative, k=length)
    if endings is not None:  # Cyrillic: the same stem in several forms
        words = [word + rng.choice(endings) if len(word) > 3 and rng.random() < 0.35 else word for word in words]
    # Recurring phrases replace some words in place, so they stand in running text.
    for _ in range(int(length * PHRASE_SHARE)):
        phrase = vocabulary.phrases[
            bisect.bisect(vocabulary.phrase_cumulative, rng.random() * vocabulary.phrase_cumulative[-1])
        ]
        at = rng.randrange(0, max(1, length - len(phrase)))
        words[at : at + len(phrase)] = phrase
    sentences = []
    at = 0
    while at < len(words):
        size = rng.randint(6, 22)
        sentence = " ".join(words[at : at + size])
        sentences.append(sentence[:1].upper() + sentence[1:] + ".")
        at += size
    paragraphs = []
    at = 0
    while at < len(sentences):
        size = rng.randint(2, 6)
        paragraphs.append(" ".join(sentences[at : at + size]))
        at += size
    return "\n\n".join(paragraphs)


def documents(count: int, seed: int = SEED) -> Iterator[Document]:
    """`count` articles; the first n of a larger count are the same n articles."""
    vocab = vocabularies(seed)
    cat = catalog(seed)
    source_weights = _zipf(len(cat.sources), 1.0, 1.5)
    label_weights = _zipf(len(cat.labels), 1.1, 1.0)
    first_day = dt.date(FIRST_YEAR, 1, 1).toordinal()
    span = dt.date(LAST_YEAR, 12, 31).toordinal() - first_day
    for number in range(count):
        rng = random.Random(seed * 1_000_003 + number)  # per article: any slice is reproducible alone
        language = rng.choices([code for code, _ in LANGUAGES], weights=[share for _, share in LANGUAGES])[0]
        vocabulary = vocab["en" if language == "en" else "ru"]
        endings = None if language == "en" else (RU_ENDINGS if language == "ru" else KK_ENDINGS)
        source = _pick(rng, cat.sources, source_weights)
        # Later years hold more articles (sites grow); sqrt skews the draw towards the end.
        day = dt.date.fromordinal(first_day + int(span * rng.random() ** 0.6))
        published = None if rng.random() < UNDATED_SHARE else day.isoformat()
        title_words = rng.choices(
            vocabulary.words[:3000], cum_weights=vocabulary.cumulative[:3000], k=rng.randint(4, 9)
        )
        title = " ".join(title_words)
        labels = sorted({_pick(rng, cat.labels, label_weights) for _ in range(rng.choice((0, 1, 2, 2, 3, 4)))})
        yield Document(
            url=f"https://{source}.example/{day.year}/{day.month:02d}/article-{number}",
            source=source,
            kind="wordpress",
            title=title[:1].upper() + title[1:],
            text=_text(rng, vocabulary, rng.randint(WORDS_MIN, WORDS_MAX), endings),
            author=None if rng.random() < NO_AUTHOR_SHARE else rng.choice(cat.authors[source]),
            published=published,
            labels=labels,
            language=language,
            fetched_at="2025-01-15T12:00:00Z",
            date_precision="day" if published else None,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    for doc in documents(args.docs, args.seed):
        print(f"{doc.id} {doc.language} {doc.source} {doc.published} {doc.author} {doc.labels}\n{doc.title}")
        print(doc.text[:400], "...\n")


if __name__ == "__main__":
    main()
