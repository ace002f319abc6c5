"""The Review page: a reviewer's inbox (queue, one review, decisions, bulk, deep links).

Modules: ``clock`` (ages and deadlines as text), ``state`` (session keys, filters, the
``?review=ID`` deep link), ``queue`` (filters with counts, rows, paging), ``detail`` (one
review: why it stopped, item, AI output, history, the side column), ``form`` (the editable
fields as a typed form), ``decide`` (the actions a review offers, from the node registry,
through ``Engine.decide``), ``bulk`` (one decision over many reviews, ``Engine.decide_many``).
Widgets own session-state keys starting ``rv_``.
"""
