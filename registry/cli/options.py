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
    from scrapers.configfile import CONFIG_LIMITS, ConfigRejected, parse_config, read_regular_file

    try:
        return parse_config(read_regular_file(path, CONFIG_LIMITS.max_bytes)).config
    except (OSError, ConfigRejected):
        return None


class ConfigFile(click.Path):
    """A config.json argument: a directory, FIFO or device is a usage error (exit status 2)
    before anything is read; a missing file is left to the command (a failed row)."""

    def __init__(self) -> None:
        super().__init__(dir_okay=False)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        import os
        import stat

        path = super().convert(value, param, ctx)
        try:
            regular = stat.S_ISREG(os.stat(path).st_mode)
        except OSError:
            return path  # missing or unreadable: the command reports it for this file
        if not regular:
            self.fail(f"{value!r} is not a regular file (a FIFO, socket or device).", param, ctx)
        return path


def check_endpoint(url: str) -> str:
    """A Hub endpoint as given, when it is an http(s) URL with a host; else a usage error."""
    from urllib.parse import urlsplit

    from scrapers.redact import redact_url

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise click.BadParameter(
            f"{redact_url(url)!r} is not an http(s) URL; write it like http://127.0.0.1:8080 "
            "(from --endpoint or HF_ENDPOINT).",
            param_hint="--endpoint",
        )
    return url


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
    click.option(
        "--timeout",
        default=10.0,
        show_default=True,
        type=click.FloatRange(min=0.1, max=3600),
        help="Seconds to connect, and to wait for each read, per request.",
    ),
    click.option(
        "--retries",
        default=5,
        show_default=True,
        type=click.IntRange(0, 100),
        help="Retries of 5xx, timeouts and broken connections, per request.",
    ),
    click.option(
        "--backoff",
        default=1.0,
        show_default=True,
        type=click.FloatRange(0, 600),
        help="First retry wait in seconds, doubling up to 8 s (or up to this, if longer).",
    ),
    click.option(
        "--max-retry-after",
        default=300.0,
        show_default=True,
        type=click.FloatRange(0, 86400),
        help="Longest 429 Retry-After wait honoured; a longer one fails the request.",
    ),
)


def hub_source_options(func: F) -> F:
    """Add --endpoint, --workers, --cache-dir and --no-cache (shown in that order)."""
    for option in reversed(_HUB_SOURCE):
        func = option(func)
    return func


def hub_retry_options(func: F) -> F:
    """Add --timeout, --retries, --backoff and --max-retry-after (shown in that order)."""
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
    max_retry_after: float = 300.0,
) -> Any:
    """HubOptions from flags and the HF_* variables, read the way huggingface_hub reads them."""
    import os

    from huggingface_hub import get_token

    from scrapers.download import RetryPolicy
    from scrapers.hub import DEFAULT_ENDPOINT, HubOptions, default_cache_dir

    hub_endpoint = check_endpoint(
        (endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
    )
    return HubOptions(
        endpoint=hub_endpoint,
        token=get_token() or None,
        cache_dir=None if no_cache else (cache_dir or default_cache_dir(os.environ)),
        offline=offline or env_true("HF_HUB_OFFLINE") or env_true("TRANSFORMERS_OFFLINE"),
        timeout=timeout,
        retry=RetryPolicy(
            max_retries=retries,
            backoff_base=backoff,
            backoff_max=max(backoff, 8.0),
            max_rate_wait=max_retry_after,
        ),
    )


def json_nl_options(func: F) -> F:
    """Add `--json` (one JSON array) and `--nl` (JSON Lines) to a list-like command."""
    func = click.option(
        "--nl", is_flag=True, help="Output newline-delimited JSON: one object per line."
    )(func)
    func = click.option("--json", "json_", is_flag=True, help="Output one JSON array.")(func)
    return func


def fault_plan(latency_ms: float, faults: tuple[str, ...]) -> Any:
    """The mirror's FaultPlan from --latency-ms and --fault SPECs (a bad spec: usage error)."""
    from scrapers.faults import FaultPlan, parse_fault

    try:
        return FaultPlan(latency_ms=latency_ms, faults=[parse_fault(s) for s in faults])
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--fault") from None


def serve_until_interrupted(server: Any) -> None:
    """Serve until Ctrl-C, then close the socket."""
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
