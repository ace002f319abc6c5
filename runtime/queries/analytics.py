"""Named dashboard queries (approval and override rates, time to decision, backlog, ...).

Empty for now: each dashboard figure becomes one function here, taking the store and the
user like every query in :mod:`runtime.queries`, so that pages never hold SQL (issue 13).
"""
