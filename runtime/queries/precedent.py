"""Precedent: the past decided reviews of a checkpoint most like the one a person is deciding.

Beside a review, a reviewer sees the few most similar reviews of the same checkpoint (same
workflow, same node, any version) that people decided before, each with what was decided
and why; that is what keeps reviewers consistent. Similarity is text similarity over the
run's item: TF-IDF (scikit-learn; English stop words left out) and cosine nearest
neighbours.

Speed: a checkpoint's index (the fitted vectorizer, the matrix of its decided reviews, at
most :data:`MAX_CORPUS`, the newest, and its transpose: an inverted index from words to
reviews) is built once and kept per store and checkpoint.
Each lookup first asks the store how many reviews of the checkpoint are decided and when
the last one was (one aggregate); when that changed, only the reviews decided since are
read and added (a full rebuild when they are many, or when the count does not add up).
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from runtime import access
from runtime.access import User
from runtime.queries.reviews import get_review

if TYPE_CHECKING:
    from runtime.store.contract import Store

MAX_CORPUS = 20_000
"""At most this many decided reviews (the newest) per checkpoint are searched."""

REBUILD_SHARE = 0.2
"""Refit the vectorizer when this share of the index was added since it was fitted (until
then, added reviews are vectorized with the words it knows)."""

REFIT_BELOW = 5_000
"""An index of at most this many reviews is refitted whenever reviews are added."""

_OVERLAP = timedelta(minutes=10)
"""How far before the newest indexed decision a refresh reads again (decisions applied
from the journal carry the time they were made, which may be before the newest seen)."""

_MAX_TEXT = 4_000
"""Characters of an item's text that count (bounded work per review)."""


class Precedent(BaseModel):
    """A past decided review of the same checkpoint, as a reviewer sees it beside a review.

    Attributes:
        review_id: the past review.
        run_id: its run.
        node_id: the checkpoint (the same as the review's).
        decided_at: when it was decided.
        decided_by: who decided it.
        action: what they decided (approve, reject, edit, escalate, ...).
        reason: the reason code of a rejection, if any.
        note: their note, if any.
        item: the run's item.
        edits: the decision's data (the corrected fields of an edit), if any.
        similarity: cosine similarity of the items' text, 0 to 1.
    """

    review_id: str
    run_id: str
    node_id: str
    decided_at: datetime
    decided_by: str
    action: str
    reason: str | None = None
    note: str | None = None
    item: dict[str, Any]
    edits: dict[str, Any] | None = None
    similarity: float


def item_text(value: Any) -> str:
    """The text an item is compared by: its values, nested ones included (not its keys,
    which every item of a workflow shares).

    Args:
        value: an item (or any JSON value).

    Returns:
        Space-separated words, at most :data:`_MAX_TEXT` characters.
    """
    parts: list[str] = []

    def walk(v: Any) -> None:
        if isinstance(v, dict):
            for sub in v.values():
                walk(sub)
        elif isinstance(v, list):
            for sub in v:
                walk(sub)
        elif v is not None:
            parts.append(str(v))

    walk(value)
    return " ".join(parts)[:_MAX_TEXT]


@dataclass
class _Index:
    """One checkpoint's decided reviews, vectorized, with the state of the store it saw."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    teams: set[str] = field(default_factory=set)  # the rows' teams (no team left out)
    vectorizer: Any = None
    matrix: Any = None  # reviews x words, rows L2-normalised (TF-IDF)
    postings: Any = None  # words x reviews: the same, transposed (an inverted index)
    team_of: Any = None  # each row's team ("" for none), a numpy array
    fitted_on: int = 0  # rows the vectorizer was fitted on
    count: int = -1  # the store's decided count when last synced
    latest: datetime | None = None  # the store's latest decided_at when last synced
    lock: threading.Lock = field(default_factory=threading.Lock)

    def sync(self, store: Store, workflow_id: str, node_id: str) -> None:
        """Bring the index up to date with the store (cheap when nothing changed)."""
        count, latest = store.decided_review_stats(workflow_id, node_id)
        if (count, latest) == (self.count, self.latest):
            return
        if self.latest is not None and count > self.count and self.rows:
            added = [
                r
                for r in store.decided_reviews(
                    workflow_id, node_id, since=self.latest - _OVERLAP, limit=MAX_CORPUS
                )
                if r["id"] not in self.ids
            ]
            expected = min(count, MAX_CORPUS)
            grown = len(self.rows) + len(added)
            if grown == count or (count > MAX_CORPUS and grown >= expected):
                self._add(added)
                self.count, self.latest = count, latest
                return
        self._build(store.decided_reviews(workflow_id, node_id, limit=MAX_CORPUS))
        self.count, self.latest = count, latest

    def _build(self, rows: list[dict[str, Any]]) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.rows = rows
        self.fitted_on = len(rows)
        if not rows:
            self.vectorizer = self.matrix = self.postings = None
            return
        self.vectorizer = TfidfVectorizer(sublinear_tf=True, stop_words="english", dtype=_float32())
        try:
            self.matrix = self.vectorizer.fit_transform([item_text(r["item"]) for r in rows])
        except ValueError:  # no words at all (every item empty)
            self.vectorizer = self.matrix = self.postings = None
            return
        self._index_rows()

    def _add(self, added: list[dict[str, Any]]) -> None:
        if not added:
            return
        rows = added + self.rows  # newest first, as the store lists them
        small = len(rows) <= REFIT_BELOW  # refitting is cheap: new words count at once
        if small or self.vectorizer is None or len(rows) > self.fitted_on * (1 + REBUILD_SHARE):
            self._build(rows[:MAX_CORPUS])
            return
        from scipy.sparse import vstack

        new = self.vectorizer.transform([item_text(r["item"]) for r in added])
        self.rows = rows[:MAX_CORPUS]
        self.matrix = vstack([new, self.matrix]).tocsr()[:MAX_CORPUS]
        self._index_rows()

    def _index_rows(self) -> None:
        """The lookups' structures over ``rows`` and ``matrix``."""
        import numpy as np

        self.ids = {r["id"] for r in self.rows}
        self.teams = {r["team"] for r in self.rows if r["team"]}
        self.team_of = np.array([r["team"] or "" for r in self.rows], dtype=object)
        self.postings = self.matrix.T.tocsr()

    def nearest(
        self, item: Any, *, k: int, exclude: str, teams: set[str] | None
    ) -> list[tuple[dict[str, Any], float]]:
        """The ``k`` rows most like ``item``, best first; with ``teams``, only rows with no
        team or one of them (what the user may see).

        Brute-force cosine nearest neighbours: the rows and the query are L2-normalised
        TF-IDF vectors, so each cosine is a dot product, summed over the query's words
        through the inverted index (work in proportion to those words' postings).
        """
        import numpy as np

        if self.postings is None or not self.rows:
            return []
        query = self.vectorizer.transform([item_text(item)])
        if query.nnz == 0:
            return []
        scores = np.asarray(self.postings[query.indices].T @ query.data).ravel()
        if teams is not None and not self.teams <= teams:
            visible = np.isin(self.team_of, [*teams, ""])
            scores = np.where(visible, scores, 0.0)
        want = min(len(scores), k + 1)
        top = np.argpartition(-scores, want - 1)[:want]
        out = []
        for i in top[np.argsort(-scores[top], kind="stable")]:
            similarity = float(scores[i])
            if similarity <= 1e-6:
                break  # nothing in common from here on
            row = self.rows[i]
            if row["id"] == exclude:
                continue
            out.append((row, min(similarity, 1.0)))
            if len(out) == k:
                break
        return out


def _float32() -> Any:
    import numpy as np

    return np.float32


_CACHE: weakref.WeakKeyDictionary[Any, dict[tuple[str, str], _Index]] = weakref.WeakKeyDictionary()
_CACHE_LOCK = threading.Lock()


def _index(store: Store, workflow_id: str, node_id: str) -> _Index:
    with _CACHE_LOCK:
        per_store = _CACHE.setdefault(store, {})
        return per_store.setdefault((workflow_id, node_id), _Index())


def similar_decisions(
    store: Store, user: User | None, review_id: str, *, k: int = 5
) -> list[Precedent]:
    """The past decided reviews of a review's checkpoint most like it, most similar first.

    Args:
        store: the store.
        user: the signed-in user, or None for the local trusted caller. The review must be
            one the user may see (as :func:`runtime.queries.reviews.get_review`); so must
            each precedent (by its team).
        review_id: the review being decided (any status).
        k: at most this many (1 to 50).

    Returns:
        Up to ``k`` precedents, most similar first; none share a word with the review's
        item are left out, as is the review itself.

    Raises:
        NotFoundError: no such review, or one the user may not see.
        ValueError: ``k`` is out of range.
    """
    if not 1 <= k <= 50:
        raise ValueError(f"k must be between 1 and 50, not {k}")
    review = get_review(store, user, review_id)
    item = (review.get("context") or {}).get("item") or {}
    teams = None if user is None or access.sees_all_runs(user) else set(user["teams"])
    index = _index(store, review["workflow_id"], review["node_id"])
    with index.lock:
        index.sync(store, review["workflow_id"], review["node_id"])
        found = index.nearest(item, k=k, exclude=review_id, teams=teams)
    return [
        Precedent(
            review_id=row["id"],
            run_id=row["run_id"],
            node_id=row["node_id"],
            decided_at=row["decided_at"],
            decided_by=row["decided_by"],
            action=row["action"],
            reason=row["reason"],
            note=row["note"],
            item=row["item"] if isinstance(row["item"], dict) else {"value": row["item"]},
            edits=(row["data"] or None) if isinstance(row["data"], dict) else None,
            similarity=round(similarity, 4),
        )
        for row, similarity in found
    ]
