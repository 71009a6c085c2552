"""Trend aggregation: passage predictions to tidy trend tables and charts."""
