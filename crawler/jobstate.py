"""`spider.state` that survives a kill: Scrapy's SpiderState extension writes it only on a clean close; this
one also writes it, atomically, whenever the spider changes something it must not forget (a magazine's issue
facts, the articles waiting for them, the kind it detected)."""

from __future__ import annotations

import logging
import os
import pickle
from pathlib import Path
from typing import Any

from scrapy.extensions.spiderstate import SpiderState
from scrapy.utils.job import job_dir

logger = logging.getLogger(__name__)

STATE_FILE = "spider.state"


class DurableSpiderState(SpiderState):
    def spider_opened(self, spider: Any) -> None:
        try:
            super().spider_opened(spider)
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ValueError) as exc:
            # Damaged state is rebuilt, never a crash loop: what it held is read again from the archive.
            logger.warning("spider state in %s is damaged (%s); starting with an empty one", self.jobdir, exc)
            spider.state = {}
            spider.crawler.stats.inc_value("samizdat/frontier/state_rebuilt")

    def spider_closed(self, spider: Any) -> None:
        save_state(spider)


def save_state(spider: Any) -> None:
    """Write `spider.state` now (tmp file, fsync, rename): a kill leaves the old state or the new, never half."""
    jobdir = job_dir(spider.crawler.settings)
    if not jobdir or not hasattr(spider, "state"):
        return
    path = Path(jobdir, STATE_FILE)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        pickle.dump(spider.state, fh, protocol=4)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)


def load_state(jobdir: Path) -> dict[str, Any]:
    """A job's saved spider state without a spider (to know a detected kind before building one); {} when
    there is none or it is damaged."""
    try:
        with open(Path(jobdir, STATE_FILE), "rb") as fh:
            state = pickle.load(fh)  # our own file: trusted
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}
