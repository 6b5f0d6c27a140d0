"""Taking documents out of the index for good (a purge), keeping the catch-up watermark true.

The watermark (search/catchup.py) says which store versions the index holds. A purge deletes versions from
the store, which can leave the store's newest version below the watermark: catch-up would then take the
store for a replaced one and rebuild the whole index. So the deletion runs under the catch-up lock and, when
the watermark was true of the index just before, moves it to the new generation and to at most the store's
newest version (what it vouched for minus what is gone is still indexed). Any other state is left for
catch-up to judge, as after any writer.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from pathlib import Path

from whoosh import index
from whoosh.filedb.filestore import FileStorage
from whoosh.util.filelock import try_for

from samizdat.archive.store import Store
from samizdat.search.catchup import CATCH_UP_LOCK_NAME, Watermark, read_watermark, write_watermark
from samizdat.search.indexer import LOCK_TIMEOUT_SECONDS, Indexer, index_busy_error


def remove_from_index(
    store_path: str | os.PathLike[str],
    index_dir: str | os.PathLike[str],
    ids: list[str],
    lock_timeout_seconds: float = LOCK_TIMEOUT_SECONDS,
) -> int:
    """Delete documents by id from the index at `index_dir`; returns how many it held."""
    directory = Path(index_dir)
    if not ids or not index.exists_in(str(directory)):
        return 0
    lock = FileStorage(str(directory)).lock(CATCH_UP_LOCK_NAME)
    if not try_for(lock.acquire, timeout=lock_timeout_seconds, delay=0.1):
        raise index_busy_error(directory, lock_timeout_seconds)
    try:
        before = read_watermark(directory)
        with Indexer(directory, lock_timeout_seconds) as indexer:
            generation = indexer.generation()
            removed = indexer.delete(ids)
            after = indexer.generation()
        if before is not None and before.pending is None and before.generation == generation:
            with Store(Path(store_path)) as store:
                newest = store.max_version()
            write_watermark(directory, Watermark(min(before.watermark, newest), after))
    finally:
        lock.release()
    return removed


def unindexer(store_path: str | os.PathLike[str], index_dir: str | os.PathLike[str]) -> Callable[[list[str]], int]:
    """`remove_from_index` bound to one archive: what archive.purge calls once the store is updated."""
    return partial(remove_from_index, store_path, index_dir)
