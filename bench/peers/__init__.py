"""Peer implementations used by the side-by-side benchmark."""
