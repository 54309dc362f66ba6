"""Rule packs as data: safe YAML with positions, the pack schema, loading, merging and the bundled packs."""
