"""search.catchup: a real SQLite store and a real Whoosh index in temporary directories, brought back in
step after every kind of interruption and damage the index can suffer."""

from __future__ import annotations

import dataclasses
import json
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from whoosh import index
from whoosh.filedb.filestore import FileStorage

from samizdat.archive.datadir import DataDir
from samizdat.archive.document import Document
from samizdat.archive.errors import DataDirError
from samizdat.archive.store import CHANGED, NEW, Store
from samizdat.search import Indexer, SearchParams, SearchService, catch_up, index_lag
from samizdat.search.catchup import CATCH_UP_LOCK_NAME, Watermark, read_watermark, write_watermark
from samizdat.search.schema import build_schema, record_for
from tests.conftest import run_cli

WORDS = ("tenants", "harbour", "picket", "bakery", "shipyard", "leaflet", "council", "eviction")


def make_doc(number: int, text: str | None = None, fetched_at: str = "2024-01-01T00:00:00Z") -> Document:
    word = WORDS[number % len(WORDS)]
    return Document(
        url=f"https://tenants-voice.example/post-{number}",
        source="tenants-voice",
        kind="wordpress",
        title=f"Post {number} about the {word}",
        text=text or f"Notes number {number} from the {word} meeting; the minutes follow next week.",
        author="Ada Okonkwo",
        published=f"20{10 + number % 10}-03-{1 + number % 28:02d}",
        labels=["Housing", word.capitalize()],
        language="en",
        fetched_at=fetched_at,
    )


def fill(store_path: Path, numbers: range) -> None:
    with Store(store_path) as store:
        for number in numbers:
            assert store.upsert(make_doc(number)) == NEW


def search(index_dir: Path, q: str = "") -> dict[str, object]:
    with SearchService(index_dir) as svc:
        return svc.search(SearchParams(q=q, per_page=100))


def indexed_ids(index_dir: Path) -> list[str]:
    with SearchService(index_dir) as svc:
        return list(svc.iter_ids(SearchParams()))


def assert_in_step(store_path: Path, index_dir: Path) -> None:
    """The index holds each store document exactly once."""
    with Store(store_path) as store:
        count = store.count()
        max_version = store.max_version()
    ids = indexed_ids(index_dir)
    assert len(ids) == len(set(ids)) == count
    assert search(index_dir)["total"] == count
    mark = read_watermark(index_dir)
    assert mark is not None and mark.watermark == max_version and mark.pending is None
    assert index_lag(store_path, index_dir) == 0


@pytest.fixture
def paths(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "store.sqlite", tmp_path / "index"


def test_catch_up_from_nothing(paths: tuple[Path, Path]) -> None:
    store_path, index_dir = paths
    fill(store_path, range(45))
    assert not index_dir.exists()
    assert index_lag(store_path, index_dir) == 45
    lines: list[str] = []
    assert catch_up(store_path, index_dir, batch_size=20, progress=lines.append) == 45
    assert lines == ["index: 20/45 documents", "index: 40/45 documents", "index: 45/45 documents"]
    assert_in_step(store_path, index_dir)
    assert search(index_dir, "bakery")["total"] == sum(1 for n in range(45) if WORDS[n % 8] == "bakery")


def test_incremental_writes_only_what_changed(paths: tuple[Path, Path]) -> None:
    store_path, index_dir = paths
    fill(store_path, range(30))
    assert catch_up(store_path, index_dir) == 30
    generation = read_watermark(index_dir)
    assert catch_up(store_path, index_dir) == 0
    assert read_watermark(index_dir) == generation  # nothing to do: nothing written, not even the file

    fill(store_path, range(30, 33))
    with Store(store_path) as store:
        for number in (4, 9):
            doc = make_doc(number, text=f"Revised notes {number}.", fetched_at="2024-02-01T00:00:00Z")
            assert store.upsert(doc) == CHANGED
    assert index_lag(store_path, index_dir) == 5
    assert catch_up(store_path, index_dir) == 5
    assert_in_step(store_path, index_dir)


def test_a_changed_version_replaces_the_old_one(paths: tuple[Path, Path]) -> None:
    store_path, index_dir = paths
    fill(store_path, range(10))
    catch_up(store_path, index_dir)
    assert search(index_dir, "lighthouse")["total"] == 0
    with Store(store_path) as store:
        changed = make_doc(3, text="The lighthouse keepers joined the strike.", fetched_at="2024-05-01T00:00:00Z")
        assert store.upsert(changed) == CHANGED
    assert catch_up(store_path, index_dir) == 1
    found = search(index_dir, "lighthouse")
    assert found["total"] == 1
    hits = found["hits"]
    assert isinstance(hits, list) and hits[0]["id"] == changed.id
    assert search(index_dir, "minutes")["total"] == 9  # the old text of post 3 is gone
    assert_in_step(store_path, index_dir)


def test_lost_watermark_rebuilds_the_index(paths: tuple[Path, Path]) -> None:
    store_path, index_dir = paths
    fill(store_path, range(25))
    catch_up(store_path, index_dir)
    # A document the store does not have: only a rebuild can drop it.
    with Indexer(index_dir) as indexer:
        indexer.update([make_doc(999)])
    (index_dir / "watermark.json").unlink()
    assert index_lag(store_path, index_dir) == 25
    lines: list[str] = []
    assert catch_up(store_path, index_dir, progress=lines.append) == 25
    assert "no watermark" in lines[0]
    assert search(index_dir, "post 999")["total"] == 0
    assert_in_step(store_path, index_dir)


def _delete_toc(index_dir: Path) -> None:
    for toc in index_dir.glob("_MAIN_*.toc"):
        toc.unlink()


def _garble_toc(index_dir: Path) -> None:
    for toc in index_dir.glob("_MAIN_*.toc"):
        toc.write_bytes(b"not a table of contents")


def _delete_a_segment(index_dir: Path) -> None:
    max(index_dir.glob("MAIN_*.seg"), key=lambda path: path.stat().st_size).unlink()


def _garble_watermark(index_dir: Path) -> None:
    (index_dir / "watermark.json").write_text('{"watermark": ', encoding="utf-8")


@pytest.mark.parametrize("damage", [_delete_toc, _garble_toc, _delete_a_segment, _garble_watermark])
def test_a_damaged_index_is_rebuilt(paths: tuple[Path, Path], damage: Callable[[Path], None]) -> None:
    store_path, index_dir = paths
    fill(store_path, range(60))
    catch_up(store_path, index_dir, batch_size=20)
    before = read_watermark(index_dir)
    assert before is not None
    damage(index_dir)
    assert index_lag(store_path, index_dir) == 60
    assert catch_up(store_path, index_dir, batch_size=20) == 60
    assert_in_step(store_path, index_dir)
    after = read_watermark(index_dir)
    # Generations never go back: a running searcher compares them to notice a new commit.
    assert after is not None and after.generation > before.generation


def test_watermark_behind_the_index_catches_up_without_duplicates(paths: tuple[Path, Path]) -> None:
    store_path, index_dir = paths
    fill(store_path, range(40))
    catch_up(store_path, index_dir, batch_size=15)
    older = (index_dir / "watermark.json").read_bytes()
    fill(store_path, range(40, 70))
    with Store(store_path) as store:
        store.upsert(make_doc(7, text="A later version of seven.", fetched_at="2024-03-01T00:00:00Z"))
    assert catch_up(store_path, index_dir, batch_size=15) == 31
    # As if killed between the last commit and its watermark write.
    (index_dir / "watermark.json").write_bytes(older)
    assert index_lag(store_path, index_dir) == 31
    assert catch_up(store_path, index_dir, batch_size=15) == 0  # all already held as the store has them
    assert_in_step(store_path, index_dir)
    assert search(index_dir, '"later version of seven"')["total"] == 1


def test_clearing_the_index_forgets_the_watermark(paths: tuple[Path, Path]) -> None:
    store_path, index_dir = paths
    fill(store_path, range(12))
    catch_up(store_path, index_dir)
    with Indexer(index_dir) as indexer:
        indexer.clear()
    assert read_watermark(index_dir) is None
    assert catch_up(store_path, index_dir) == 12
    assert_in_step(store_path, index_dir)


def old_schema_index(index_dir: Path, store_path: Path) -> None:
    """The index as samizdat wrote it before Russian and Kazakh had their own fields (issue 10), holding
    every store document in the English fields, with a watermark that vouches for all of them."""
    schema = build_schema()
    for name in ("title_ru", "text_ru"):
        schema.remove(name)
    ix = index.create_in(str(index_dir), schema)
    with Store(store_path) as store, ix.writer() as writer:
        for doc in store.iter_changed_since(0):
            record = record_for(dataclasses.replace(doc, language="en"))
            writer.add_document(**{k: v for k, v in record.items() if k.removeprefix("_stored_") in schema})
        target = store.max_version()
    write_watermark(index_dir, Watermark(target, ix.latest_generation()))


def test_an_index_of_the_old_schema_is_rebuilt_with_the_language_fields(paths: tuple[Path, Path]) -> None:
    store_path, index_dir = paths
    fill(store_path, range(6))
    russian = Document(url="https://kz-news.example/zavod", source="kz-news", kind="wordpress",
                       title="Забастовка на заводе", text="Рабочие завода прекратили работу и требуют зарплату.",
                       language="ru", fetched_at="2024-01-01T00:00:00Z")  # fmt: skip
    with Store(store_path) as store:
        assert store.upsert(russian) == NEW
    index_dir.mkdir()
    old_schema_index(index_dir, store_path)
    assert search(index_dir, "заводе")["total"] == 1 and search(index_dir, "заводом")["total"] == 0
    lines: list[str] = []
    assert catch_up(store_path, index_dir, progress=lines.append) == 7
    assert "built with another schema" in lines[0]
    assert_in_step(store_path, index_dir)
    assert search(index_dir, "заводом")["total"] == 1  # another form of the word, by the Russian stemmer
    assert search(index_dir, "bakery")["total"] == 1


def test_the_next_command_rebuilds_an_index_of_the_old_schema(tmp_path: Path) -> None:
    datadir = DataDir.create(tmp_path / "data")
    fill(datadir.store_path, range(3))
    datadir.index_dir.mkdir(parents=True, exist_ok=True)
    old_schema_index(datadir.index_dir, datadir.store_path)
    result = run_cli("search", "notes", "--json", "--data", datadir.root)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["total"] == 3
    rebuilt = index.open_dir(str(datadir.index_dir))
    assert "text_ru" in rebuilt.schema
    rebuilt.close()


def test_a_replaced_store_rebuilds_the_index(paths: tuple[Path, Path], tmp_path: Path) -> None:
    store_path, index_dir = paths
    fill(store_path, range(20))
    catch_up(store_path, index_dir)
    smaller = tmp_path / "smaller.sqlite"
    fill(smaller, range(100, 105))
    assert catch_up(smaller, index_dir) == 5  # its versions stop below the watermark: rebuilt
    assert_in_step(smaller, index_dir)


def test_a_missing_store_writes_nothing(paths: tuple[Path, Path]) -> None:
    store_path, index_dir = paths
    assert catch_up(store_path, index_dir) == 0
    assert index_lag(store_path, index_dir) == 0
    assert not store_path.exists() and not index_dir.exists()


def test_a_second_catch_up_waits_then_fails_clearly(paths: tuple[Path, Path]) -> None:
    store_path, index_dir = paths
    fill(store_path, range(5))
    index_dir.mkdir()
    lock = FileStorage(str(index_dir)).lock(CATCH_UP_LOCK_NAME)
    assert lock.acquire()
    try:
        started = time.monotonic()
        with pytest.raises(DataDirError, match=r"locked by another writer.*wait for it to finish"):
            catch_up(store_path, index_dir, lock_timeout_seconds=0.5)
        assert time.monotonic() - started >= 0.5
    finally:
        lock.release()
    assert catch_up(store_path, index_dir) == 5


def test_concurrent_catch_ups_take_turns(paths: tuple[Path, Path]) -> None:
    store_path, index_dir = paths
    fill(store_path, range(300))
    results: list[int] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(catch_up(store_path, index_dir, batch_size=50, lock_timeout_seconds=60))
        )
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(results) == [0, 300]  # the second found the work done
    assert_in_step(store_path, index_dir)


KILL_AFTER_BATCHES = 5


def test_a_catch_up_killed_mid_way_loses_at_most_one_batch(paths: tuple[Path, Path]) -> None:
    store_path, index_dir = paths
    fill(store_path, range(3000))
    program = (
        "import sys\n"
        "from search.catchup import catch_up\n"
        "catch_up(sys.argv[1], sys.argv[2], batch_size=100, progress=lambda line: print(line, flush=True))\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", program, str(store_path), str(index_dir)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    lines = []
    try:
        for line in child.stdout:
            lines.append(line.strip())
            if len(lines) == KILL_AFTER_BATCHES:
                child.send_signal(signal.SIGKILL)
                break
    finally:
        child.kill()
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    assert lines[-1] == f"index: {KILL_AFTER_BATCHES * 100}/3000 documents"
    mark = read_watermark(index_dir)
    assert mark is not None and mark.pending is not None  # the file says a catch-up was under way

    written = catch_up(store_path, index_dir, batch_size=100)
    # Everything committed before the kill is kept: at most the batch under way is written again.
    assert 0 < written <= 3000 - KILL_AFTER_BATCHES * 100
    assert_in_step(store_path, index_dir)


def test_catch_up_runs_in_a_worker_process(paths: tuple[Path, Path]) -> None:
    store_path, index_dir = paths
    fill(store_path, range(20))
    with ProcessPoolExecutor(max_workers=1) as pool:
        assert pool.submit(catch_up, str(store_path), str(index_dir), 7).result(timeout=120) == 20
    assert_in_step(store_path, index_dir)


def test_a_copied_index_keeps_its_watermark(paths: tuple[Path, Path], tmp_path: Path) -> None:
    """The watermark lives inside the index directory, so a reindex that swaps the directory in swaps it too."""
    store_path, index_dir = paths
    fill(store_path, range(8))
    catch_up(store_path, index_dir)
    moved = tmp_path / "index.moved"
    shutil.copytree(index_dir, moved)
    assert catch_up(store_path, moved) == 0
    assert_in_step(store_path, moved)
