"""The operators' and auditors' pages: the Audit page (search, timeline, chain check,
exports) and the Runs page (filter, detail, retry, cancel), and the decisions dataset."""
