"""Scrapy settings for policytrends crawls. Each value says why it is what it is."""

BOT_NAME = "policytrends"
SPIDER_MODULES = ["policytrends.crawlers.spiders"]
NEWSPIDER_MODULE = "policytrends.crawlers.spiders"

# Say who we are, so site operators can reach us instead of blocking us.
USER_AGENT = "policytrends/0.1 (+research crawler for think-tank commentary; contact: see project README)"

# Sites publish crawling rules in robots.txt; we follow them.
ROBOTSTXT_OBEY = True

# Think-tank sites are small: a few parallel requests per site are plenty. The per-source
# `politeness` entry in the sources file overrides these two.
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 1.0

# AutoThrottle backs off when a server slows down; start at the configured delay, not 5 s.
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0

# Articles and reports are rarely above a few MB; anything bigger is not commentary.
DOWNLOAD_MAXSIZE = 20 * 1024 * 1024
DOWNLOAD_WARNSIZE = 5 * 1024 * 1024
DOWNLOAD_TIMEOUT = 30

# A few retries for flaky servers, no more: the next nightly run tries again anyway.
RETRY_ENABLED = True
RETRY_TIMES = 2
REDIRECT_MAX_TIMES = 5

# Cookies are not needed to read public commentary and only add tracking state.
COOKIES_ENABLED = False

# Every request, redirects and meta refreshes included, stays on the origins (scheme, host,
# port) of its source; placed before robots.txt (100) so no robots.txt is fetched from a host we
# will not crawl. A bot challenge or rate-limit page is counted as blocked and backs the source
# off; placed after decompression (590) and before meta refresh (580) and retries (550).
DOWNLOADER_MIDDLEWARES = {
    "policytrends.crawlers.middlewares.ScopeMiddleware": 40,
    "policytrends.crawlers.middlewares.BlockedMiddleware": 585,
}
# A rate-limited source waits as long as the site's Retry-After asks, up to this many seconds in
# all per run; a longer wait stops the source until the next run rather than hold the run up.
POLICYTRENDS_BLOCKED_MAX_WAIT = 60

# Pipelines: extract text from the fetched page, then store it. Order matters.
ITEM_PIPELINES = {
    "policytrends.crawlers.pipelines.ExtractPipeline": 100,
    "policytrends.crawlers.pipelines.StorePipeline": 800,
}

# INFO shows each source's progress without per-request noise.
LOG_LEVEL = "INFO"

# Default Scrapy 2.13+ reactor; stated so a change of default does not surprise us.
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
FEED_EXPORT_ENCODING = "utf-8"
