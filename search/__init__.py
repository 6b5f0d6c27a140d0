"""Full-text search over the archive: indexing Documents, and one `SearchService.search(params)` for the web
page, the API, the CLI and exports. Whoosh is an implementation detail of this package."""

from samizdat.search.catchup import catch_up, index_lag
from samizdat.search.indexer import Indexer
from samizdat.search.query import SearchParams
from samizdat.search.service import SearchService

__all__ = ["Indexer", "SearchParams", "SearchService", "catch_up", "index_lag"]
