"""What a `check`, `tag`, `rope` or `show` argument names: a config file, or a repo id.

An argument that exists on disk is a path, whatever it looks like. Otherwise `ORG/NAME[@revision]`
is a Hub repo id: its config comes from the catalog when the catalog holds the text, else from
the Hub (or a mirror) through the real huggingface_hub client, with the endpoint, token and
offline mode the caller resolved. When neither works the input is unreadable, with a reason that
names the next step. Nothing here reads the environment or writes output.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scrapers.hub import HubOptions
    from scrapers.tagger import TagResult

_COMMIT = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class StoredConfig:
    """A config the catalog holds for a repo: its text (None when stripped) and commit."""

    text: str | None
    commit_sha: str | None


@dataclass(frozen=True)
class ConfigInput:
    """One argument, resolved: where its config came from and the config text, or why not."""

    label: str  # the argument as written
    source: str  # path | catalog | hub | none
    text: str | None = None
    repo_id: str | None = None
    revision: str | None = None  # the commit the config was read at, when known
    problem: str | None = None  # why there is no text (the next step included)

    @property
    def readable(self) -> bool:
        return self.text is not None


CatalogLookup = Callable[[str, str | None], StoredConfig | None]


def parse_repo_ref(text: str) -> tuple[str, str | None] | None:
    """`(repo_id, revision)` for `ORG/NAME[@revision]`, or None when `text` is not one."""
    from scrapers.hubtree import is_valid_repo_id

    repo_id, at, revision = text.partition("@")
    if not is_valid_repo_id(repo_id) or (at and not revision) or any(c in revision for c in "/\\"):
        return None
    if repo_id.lower().endswith(".json"):  # a config file that is not there, not a repo
        return None
    return repo_id, revision or None


def resolve_input(
    arg: str, *, catalog: CatalogLookup | None, hub: HubOptions | None
) -> ConfigInput:
    """The config an argument names (see the module docstring for the order)."""
    if Path(arg).exists() or parse_repo_ref(arg) is None:
        return _read_path(arg)
    repo_id, revision = parse_repo_ref(arg) or (arg, None)
    stored = catalog(repo_id, revision) if catalog is not None else None
    if stored is not None and stored.text is not None:
        return ConfigInput(arg, "catalog", stored.text, repo_id, stored.commit_sha)
    if hub is None:
        return _missing(arg, repo_id, revision, "the Hub is not consulted here", stored)
    fetched = fetch_config(repo_id, revision, hub)
    if isinstance(fetched, str):
        return _missing(arg, repo_id, revision, fetched, stored)
    text, commit = fetched
    return ConfigInput(arg, "hub", text, repo_id, commit)


def _read_path(arg: str) -> ConfigInput:
    try:
        text = Path(arg).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        hint = ""
        if isinstance(exc, FileNotFoundError) and "/" not in arg:
            hint = "; pass a config.json path or a repo id ORG/NAME[@revision]"
        problem = f"cannot read the file: {exc.__class__.__name__}: {exc}{hint}"
        return ConfigInput(arg, "none", problem=problem)
    return ConfigInput(arg, "path", text)


def _missing(
    arg: str, repo_id: str, revision: str | None, why: str, stored: StoredConfig | None
) -> ConfigInput:
    where = "the catalog keeps no config text for it" if stored else "it is not in the catalog"
    problem = f"no config for {repo_id}{'@' + revision if revision else ''}: {where}, and {why}"
    return ConfigInput(arg, "none", repo_id=repo_id, revision=revision, problem=problem)


def fetch_config(repo_id: str, revision: str | None, hub: HubOptions) -> tuple[str, str] | str:
    """`(text, commit)` of the repo's config.json at `revision` from the Hub, or why not (a
    sentence naming the next step). Offline, only the Hub cache is read."""
    from scrapers.download import (
        Fetched,
        FetchFailed,
        Pacer,
        get_file,
        read_cached,
        with_retries,
    )
    from scrapers.hub import CONFIG_FILE, make_api

    if hub.offline:
        return _from_cache(repo_id, revision, hub)

    def retrying(attempt: Callable[[], Any]) -> Any:
        return with_retries(attempt, policy=hub.retry, pacer=Pacer(), redact=hub.redact)

    api = make_api(hub)
    try:
        info = retrying(lambda: api.model_info(repo_id, revision=revision))
        sha = info.sha or revision or "main"
        cached: Fetched | None = None
        if hub.cache_dir is not None and _COMMIT.match(sha):
            found = read_cached(hub.cache_dir, repo_id, CONFIG_FILE, sha, hub.max_config_bytes)
            if isinstance(found, FetchFailed):
                raise found
            cached = found
        fetched: Fetched = cached or retrying(
            lambda: get_file(
                repo_id,
                CONFIG_FILE,
                revision=sha,
                endpoint=hub.endpoint,
                token=hub.token,
                timeout=hub.timeout,
                max_bytes=hub.max_config_bytes,
                cache_dir=hub.cache_dir,
            )
        )
    except FetchFailed as exc:
        return _hub_problem(exc.reason, exc.detail, hub)
    try:
        text = fetched.raw.decode("utf-8")
    except UnicodeDecodeError:
        return f"its {CONFIG_FILE} at {sha} is not UTF-8 text"
    return text, fetched.commit_sha or sha


def _from_cache(repo_id: str, revision: str | None, hub: HubOptions) -> tuple[str, str] | str:
    """Offline: the cached config at a commit, or the newest cached snapshot for a branch."""
    from huggingface_hub.file_download import repo_folder_name

    from scrapers.download import read_cached
    from scrapers.hub import CONFIG_FILE

    advice = "run once online (unset HF_HUB_OFFLINE) or pass a config.json path"
    if hub.cache_dir is None:
        return f"offline (HF_HUB_OFFLINE) without a Hub cache; {advice}"
    if revision is not None and _COMMIT.match(revision):
        cached = read_cached(hub.cache_dir, repo_id, CONFIG_FILE, revision, hub.max_config_bytes)
        if cached is None or not hasattr(cached, "raw"):
            return f"offline (HF_HUB_OFFLINE) and {revision} is not in the Hub cache; {advice}"
        return cached.raw.decode("utf-8", errors="replace"), revision
    snapshots = hub.cache_dir / repo_folder_name(repo_id=repo_id, repo_type="model") / "snapshots"
    configs = [p for p in snapshots.glob(f"*/{CONFIG_FILE}") if p.is_file()]
    if not configs:
        return f"offline (HF_HUB_OFFLINE) and the Hub cache holds no config for it; {advice}"
    newest = max(configs, key=lambda p: p.parent.stat().st_mtime)
    return newest.read_text(encoding="utf-8", errors="replace"), newest.parent.name


def _hub_problem(reason: str, detail: str, hub: HubOptions) -> str:
    where = hub.endpoint
    steps = {
        "not-found": f"{where} has no such model (check the spelling, or set HF_TOKEN if it is "
        "private)",
        "gated": f"it is gated on {where}; request access and set HF_TOKEN",
        "revision-not-found": f"{where} has no such revision; drop @revision or name a branch, "
        "tag or commit that exists",
        "missing-config": f"the repo on {where} has no config.json at that revision",
        "connection": f"{where} cannot be reached ({detail}); set HF_ENDPOINT to a reachable Hub "
        "or mirror, or pass a config.json path",
        "timeout": f"{where} did not answer in time; retry, or set HF_ENDPOINT to a mirror",
    }
    return steps.get(reason, f"the Hub at {where} answered {reason} ({detail})")


def catalog_lookup(session_maker: Callable[[], Any]) -> CatalogLookup:
    """A lookup of stored configs through `session_maker` (a catalog session factory)."""

    def lookup(repo_id: str, revision: str | None) -> StoredConfig | None:
        from sqlmodel import col, select

        from registry.models import ConfigSnapshot, Model

        with session_maker() as session:
            model = session.exec(select(Model).where(Model.repo_id == repo_id)).first()
            if model is None:
                return None
            query = select(ConfigSnapshot).where(ConfigSnapshot.model_id == model.id)
            if revision is None:
                query = query.where(ConfigSnapshot.id == model.snapshot_id)
            else:
                query = query.where(col(ConfigSnapshot.commit_sha).startswith(revision))
            snap = session.exec(query.order_by(col(ConfigSnapshot.id).desc())).first()
            if snap is None:
                return None
            return StoredConfig(snap.config_text, snap.commit_sha)

    return lookup


def tag_input(inp: ConfigInput) -> tuple[TagResult, bool, dict[str, Any] | None]:
    """Tag a resolved input: (result, readable, the config as a dict when it is one), with the
    same reasons as `tag_file` for text that is not JSON."""
    import json

    from scrapers.tagger import tag_config
    from scrapers.tagger.result import TagResult

    if inp.text is None:
        return TagResult("unknown", reason=inp.problem), False, None
    try:
        config = json.loads(inp.text)
    except (ValueError, RecursionError) as exc:
        return TagResult("unknown", reason=f"not valid JSON: {exc}"), False, None
    return tag_config(config), True, config if isinstance(config, dict) else None
