"""The static-site generator (moved here from registry/render.py and registry/site_pages.py)."""
