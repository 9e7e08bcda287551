"""Internals of suitkaise.processing. Nothing here is public API."""
