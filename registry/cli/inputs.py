"""How `check`, `tag`, `rope` and `show` turn an argument into a config: a path, or a repo id
read from the catalog, else from the Hub (HF_ENDPOINT, HF_TOKEN and HF_HUB_OFFLINE honoured)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from registry.cli.options import build_hub_options, open_catalog
from registry.resolve_input import (
    CatalogLookup,
    ConfigInput,
    StoredConfig,
    catalog_lookup,
    parse_repo_ref,
    resolve_input,
)

# One input is one small request: fail fast rather than retry like a scrape.
_TIMEOUT, _RETRIES, _BACKOFF = 10.0, 2, 0.5


def catalog_or_none(ctx: click.Context) -> CatalogLookup | None:
    """A stored-config lookup on the --db catalog, or None when there is no usable catalog."""
    from registry.db import session_factory
    from registry.errors import CatalogError

    try:
        engine = open_catalog(ctx, readonly=True)
    except CatalogError:
        return None
    return catalog_lookup(session_factory(engine))


def stored(ctx: click.Context, arg: str) -> tuple[str, StoredConfig] | None:
    """`(repo_id, stored config)` when `arg` is a repo id (not a path) the catalog holds."""
    ref = None if Path(arg).exists() else parse_repo_ref(arg)
    lookup = catalog_or_none(ctx) if ref is not None else None
    if ref is None or lookup is None:
        return None
    found = lookup(*ref)
    return (ref[0], found) if found is not None else None


def make_resolver(ctx: click.Context) -> Callable[[str], ConfigInput]:
    """Resolve arguments one by one; the catalog is opened and the Hub reached only when needed."""
    state: dict[str, Any] = {}

    def resolve(arg: str) -> ConfigInput:
        if Path(arg).exists() or parse_repo_ref(arg) is None:
            return resolve_input(arg, catalog=None, hub=None)
        if "catalog" not in state:
            state["catalog"] = catalog_or_none(ctx)
            state["hub"] = build_hub_options(None, None, False, False, _TIMEOUT, _RETRIES, _BACKOFF)
        return resolve_input(arg, catalog=state["catalog"], hub=state["hub"])

    return resolve
