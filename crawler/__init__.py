"""Scrapy only: how to walk a site. Every response is archived by the WARC recorder before anything
else sees it; page reading is `archive.extract`, shared with `samizdat reindex`."""
