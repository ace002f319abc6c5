"""Tests of the Builder page's modules."""
