"""Every read the edges (CLI, API, pages) need, with the access rule applied inside.

Each query takes the store and the user it reads for, as its first two arguments:

- a user record (the dict ``Store.get_user`` returns): the query applies the rule in
  :mod:`runtime.access` and returns only what that user may see;
- ``None``: the local trusted caller, i.e. the CLI working on a database file its own
  user owns. No filtering applies. The HTTP API and the pages never pass ``None``.

Modules: :mod:`~runtime.queries.reviews` (the review queue),
:mod:`~runtime.queries.precedent` (similar past decisions), :mod:`~runtime.queries.runs`
(runs and run detail), :mod:`~runtime.queries.catalog` (workflows, users, models),
:mod:`~runtime.queries.audit` (the audit trail and the outbox),
:mod:`~runtime.queries.votes` (who voted on a multi-approver review) and
:mod:`~runtime.queries.analytics` (the dashboards' named queries).
"""

from runtime.queries import analytics, audit, catalog, precedent, reviews, runs, votes

__all__ = ["analytics", "audit", "catalog", "precedent", "reviews", "runs", "votes"]
