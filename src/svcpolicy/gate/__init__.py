"""The compliance gate: waivers, baselines and --fail-on decide which findings fail a run, and nothing else does."""
