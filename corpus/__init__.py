"""The corpus store (documents, passages, predictions) and passage segmentation."""

from policytrends.corpus.store import CorpusStore, Document

__all__ = ["CorpusStore", "Document"]
