"""Helpers several test modules share (fixtures live in conftest.py)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from registry.db import session_factory
from registry.models import ConfigSnapshot, Model
from scrapers.download import RetryPolicy
from scrapers.hub import HubOptions
from tests.conftest import corpus_configs

FAST = RetryPolicy(max_retries=3, backoff_base=0.01, backoff_max=0.05)


def small_tree(root: Path, count: int = 6) -> list[str]:
    """The first `count` corpus configs as a Hub-like tree under `root`; returns the repo ids."""
    ids = []
    for repo_id, source in corpus_configs()[:count]:
        (root / repo_id).mkdir(parents=True)
        shutil.copyfile(source, root / repo_id / "config.json")
        ids.append(repo_id)
    return ids


def options(url: str, **kwargs: Any) -> HubOptions:
    return HubOptions(endpoint=url, retry=kwargs.pop("retry", FAST), **kwargs)


def rows(engine: Any, table: Any) -> list[Any]:
    from sqlmodel import select

    with session_factory(engine)() as session:
        return list(session.exec(select(table)))


def current_configs(engine: Any) -> dict[str, bytes]:
    """Repo id -> raw bytes of its current snapshot."""
    snaps = {s.id: s for s in rows(engine, ConfigSnapshot)}
    return {
        m.repo_id: (snaps[m.snapshot_id].config_text or "").encode("utf-8")
        for m in rows(engine, Model)
        if m.snapshot_id is not None
    }
