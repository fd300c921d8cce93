"""The one error a source shows its user: a listing or a read that cannot start or go on."""


class ScrapeFailed(Exception):
    """The scrape or listing cannot go on; the message says why and what to do next.

    `summary` is what the run did before it stopped, when there is one (a run row was kept)."""

    summary: object | None = None
