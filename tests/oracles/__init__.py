"""Runtimes' own code, fetched as pinned archives and used as oracles by the differential tests."""
