"""Options shared by several commands (output, device, Hub access) and what they resolve to."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def config_dict(path: str) -> dict[str, Any] | None:
    """The config at `path` as a dict (None if unreadable): runtime rules read keys outside the
    rope block, such as the length key llama.cpp's converter picks."""
    import json

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def open_catalog(ctx: click.Context, *, create: bool = False, readonly: bool = False) -> Any:
    """The engine of the catalog the group's --db option names."""
    from registry.db import open_engine

    return open_engine(ctx.obj["db"], create=create, readonly=readonly)


def output_options(func: F) -> F:
    """Add `--json` / `--nl` / `--csv` to a click command (parameters `json_`, `nl`, `csv_`)."""
    func = click.option("--csv", "csv_", is_flag=True, help="Output CSV with a header row.")(func)
    func = click.option(
        "--nl", is_flag=True, help="Output newline-delimited JSON: one object per line."
    )(func)
    func = click.option("--json", "json_", is_flag=True, help="Output one JSON array.")(func)
    return func


device_option = click.option(
    "--device",
    type=click.Choice(["auto", "cpu", "cuda"]),
    default="auto",
    show_default=True,
    help="Where yarn_core runs the tensor checks (auto: CUDA when present).",
)


def verify_device(name: str) -> str:
    """The torch device a --device value names, or a clear error when it is not there."""
    from registry.errors import DeviceUnavailable
    from yarn_core.rope import resolve_device

    try:
        return str(resolve_device(name))
    except (ValueError, RuntimeError) as exc:
        raise DeviceUnavailable(f"{exc}; use --device cpu or --device auto.") from None


_HUB_SOURCE = (
    click.option("--endpoint", help="Hub URL for this run (default: HF_ENDPOINT, else the Hub)."),
    click.option("--workers", default=8, show_default=True, type=click.IntRange(1, 64)),
    click.option(
        "--cache-dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="Hub cache (default: HF_HUB_CACHE, else HF_HOME/hub).",
    ),
    click.option("--no-cache", is_flag=True, help="Neither read nor write the Hub cache."),
)
_HUB_RETRY = (
    click.option("--timeout", default=10.0, show_default=True, help="Seconds per request."),
    click.option("--retries", default=5, show_default=True, help="Retries of 5xx and timeouts."),
    click.option("--backoff", default=1.0, show_default=True, help="First retry wait, doubling."),
)


def hub_source_options(func: F) -> F:
    """Add --endpoint, --workers, --cache-dir and --no-cache (shown in that order)."""
    for option in reversed(_HUB_SOURCE):
        func = option(func)
    return func


def hub_retry_options(func: F) -> F:
    """Add --timeout, --retries and --backoff (shown in that order)."""
    for option in reversed(_HUB_RETRY):
        func = option(func)
    return func


def env_true(name: str) -> bool:
    """Whether an environment flag is set the way huggingface_hub reads one (1, true, yes, on)."""
    import os

    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def build_hub_options(
    endpoint: str | None,
    cache_dir: Path | None,
    no_cache: bool,
    offline: bool,
    timeout: float,
    retries: int,
    backoff: float,
) -> Any:
    """HubOptions from flags and the HF_* variables, read the way huggingface_hub reads them."""
    import os

    from huggingface_hub import get_token

    from scrapers.download import RetryPolicy
    from scrapers.hub import DEFAULT_ENDPOINT, HubOptions, default_cache_dir

    hub_endpoint = (endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
    return HubOptions(
        endpoint=hub_endpoint,
        token=get_token() or None,
        cache_dir=None if no_cache else (cache_dir or default_cache_dir(os.environ)),
        offline=offline or env_true("HF_HUB_OFFLINE") or env_true("TRANSFORMERS_OFFLINE"),
        timeout=timeout,
        retry=RetryPolicy(max_retries=retries, backoff_base=backoff),
    )


def json_nl_options(func: F) -> F:
    """Add `--json` (one JSON array) and `--nl` (JSON Lines) to a list-like command."""
    func = click.option(
        "--nl", is_flag=True, help="Output newline-delimited JSON: one object per line."
    )(func)
    func = click.option("--json", "json_", is_flag=True, help="Output one JSON array.")(func)
    return func
