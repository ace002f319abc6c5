"""Errors raised by the builtin model provider (classifier, extractor, generator)."""

from __future__ import annotations


class ModelError(Exception):
    """A model cannot be trained, loaded or applied.

    The message is meant for people: it names what is wrong (the file, the
    column, the label, the template) and, where it can, what to do about it.
    """
