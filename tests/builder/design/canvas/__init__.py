"""Tests of the Builder's canvas, one module per canvas module."""
