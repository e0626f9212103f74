"""Placeholder until runner.filters/actions land."""
