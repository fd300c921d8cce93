"""Fetch configs from the Hub (or a folder) and tag how each model encodes position."""
