"""Tests of the app shell."""
