"""The one error a source shows its user: a listing or a read that cannot start or go on."""


class ScrapeFailed(Exception):
    """The scrape or listing cannot go on; the message says why and what to do next."""
