"""One module per benchmark scenario, each with `run(ctx) -> list[Table]` (see bench/run.py)."""
