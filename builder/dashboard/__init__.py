"""The Dashboard page's widgets: sidebar filters, KPI tiles, charts with CSV downloads, and
the confidence-gate threshold what-if (reads through ``runtime.queries.analytics``)."""
