"""Prefect flows: thin wrappers that call the plain pipeline functions."""
