"""Fixtures: `new_book` and `book` live in tests/conftest.py (e2e tests use them too)."""

from tests.conftest import BookFactory

__all__ = ["BookFactory"]
