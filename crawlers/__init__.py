"""The Scrapy project: sources file, spider, extraction pipelines and the crawl runner."""

# Our counters among Scrapy's stats ("policytrends/documents_new"); the runner reads them back by it.
STAT = "policytrends/"
