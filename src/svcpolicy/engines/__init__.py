"""Other engines for the same compiled pack, each behind an adapter: durable-rules today."""
