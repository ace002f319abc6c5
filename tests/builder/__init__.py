"""Tests of the builder package, mirroring its tree."""
