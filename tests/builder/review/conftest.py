"""The Review page's widget tests reuse the page tests' seeded store."""

from tests.pages.conftest import seeded  # noqa: F401
