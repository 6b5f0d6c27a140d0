"""Full-text search over the archive: indexing Documents, and one `SearchService.search(params)` for the web
page, the API, the CLI and exports. Whoosh is an implementation detail of this package."""

from search.catchup import catch_up, index_lag
from search.indexer import Indexer
from search.query import SearchParams
from search.service import SearchService

__all__ = ["Indexer", "SearchParams", "SearchService", "catch_up", "index_lag"]
