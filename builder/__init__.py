"""Loopgate's Streamlit side: the app shell and one subpackage per page area."""
