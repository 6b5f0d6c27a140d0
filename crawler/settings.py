"""Scrapy settings shared by every source. Per-source and user settings are applied by `crawler.run`
from `archive.config` (the one settings source); this module holds only Scrapy's wiring."""

from samizdat.archive import extract as _extract  # not upper case: Scrapy takes every upper-case name as a setting

BOT_NAME = "samizdat"
SPIDER_MODULES = ["samizdat.crawler.spiders"]
NEWSPIDER_MODULE = "samizdat.crawler.spiders"

ROBOTSTXT_OBEY = True
COOKIES_ENABLED = True
TELNETCONSOLE_ENABLED = False
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"

RETRY_ENABLED = True
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
REDIRECT_ENABLED = True
METAREFRESH_ENABLED = True
# Read from the extraction, which must decide alike which pages a refresh takes the crawl away from.
METAREFRESH_MAXDELAY = _extract.META_REFRESH_MAX_DELAY
METAREFRESH_IGNORE_TAGS = _extract.META_REFRESH_IGNORE_TAGS
HTTPERROR_ALLOW_ALL = False

# Politeness (crawler/politeness.py): one gate per host shared by every source of the process, spaced from
# the previous response by the larger of the sources' SAMIZDAT_DELAY (seconds, set per source) and the
# robots.txt Crawl-delay. Scrapy's own start-to-start delay and its jitter are off: they would add to it.
SAMIZDAT_DELAY = 0.0
DOWNLOAD_DELAY = 0
DOWNLOAD_DELAY_JITTER = 0
DOWNLOAD_HANDLERS = {
    "http": "samizdat.crawler.politeness.PoliteDownloadHandler",
    "https": "samizdat.crawler.politeness.PoliteDownloadHandler",
}

DOWNLOADER_MIDDLEWARES = {
    # Next to the downloader: it sees every raw response (redirects, errors, retried 5xx, compressed
    # bodies) before any other middleware changes or drops it.
    "samizdat.crawler.middlewares.WarcRecorderMiddleware": 950,
    # A resumed run answers what it already archived from its WARC files (only when resuming).
    "samizdat.crawler.middlewares.ReplayMiddleware": 940,
    # Scrapy's offsite check, which also lets through the robots.txt of a source's requisite hosts.
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
    "samizdat.crawler.middlewares.RequisiteOffsiteMiddleware": 50,
    # Scrapy's, which drops a page whose meta refresh points at javascript: or mailto: (a ValueError).
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "samizdat.crawler.middlewares.SafeMetaRefreshMiddleware": 580,
    # A source's proxy (crawler/proxy.py), when it names one: next to the downloader, so that the proxy's
    # Proxy-Authorization header is set after the WARC recorder has seen the request and taken off before.
    "samizdat.crawler.proxy.SourceProxyMiddleware": 990,
}
# The frontier (queue, seen set, in-flight requests) in one SQLite file under JOBDIR: survives kill -9.
SCHEDULER = "samizdat.crawler.frontier.DurableScheduler"
SPIDER_MIDDLEWARES = {
    # Replaced by our DistanceMiddleware: listed URLs first, pagination is no step away from the start.
    "scrapy.spidermiddlewares.depth.DepthMiddleware": None,
    "samizdat.crawler.middlewares.DistanceMiddleware": 900,
}
ITEM_PIPELINES = {"samizdat.crawler.pipelines.StorePipeline": 300}
EXTENSIONS = {
    "samizdat.crawler.progress.Progress": 500,
    "scrapy.extensions.spiderstate.SpiderState": None,
    "samizdat.crawler.jobstate.DurableSpiderState": 0,
}

LOG_LEVEL = "INFO"
