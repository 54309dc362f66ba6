"""Tools for pack authors: lint, the embedded and file-based rule tests, and provision coverage."""
