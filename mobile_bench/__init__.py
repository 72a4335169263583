"""Latency and size measurements of lightest against the phone budget (repository tool, not shipped)."""
