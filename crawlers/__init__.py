"""The Scrapy project: sources file, spider, extraction pipelines and the crawl runner."""
