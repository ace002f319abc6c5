"""The Builder page's own modules: canvas, editing session, forms, panels, test and batch runs."""
