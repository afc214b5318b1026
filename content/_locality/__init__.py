"""Implementation of :mod:`content.locality` (commune lookup); not a public API."""
