"""What the list filters of the query layer share: a time window that must not end before
it starts, and text filters where blank means "no filter"."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class WindowFilter(BaseModel):
    """Filters with a ``since``/``until`` time window (UTC; either may be open).

    Subclasses add their own fields; :meth:`filters` hands every field to the store.
    """

    since: datetime | None = None
    until: datetime | None = None

    def filters(self) -> dict[str, Any]:
        """The filters as the store takes them (blank text stripped to None)."""
        out = self.model_dump()
        for key, value in out.items():
            if isinstance(value, str):
                out[key] = value.strip() or None
        return out

    def problem(self) -> str | None:
        """What is wrong with these filters (a time window that ends before it starts)."""
        if self.since and self.until and self.until <= self.since:
            return (
                f"the time window ends ({self.until:%Y-%m-%d %H:%M}) before it starts "
                f"({self.since:%Y-%m-%d %H:%M}); pick an end after the start"
            )
        return None
