"""Training and evaluation tools for lightest (repository tool, not shipped with the runtime)."""
