"""GGUF commands: `ropedex gguf` (a GGUF header's rope and lineage keys, and its check)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from registry.cli import cli
from registry.cli.options import build_hub_options, config_dict, hub_retry_options
from registry.cli.output import emit_jsonl, make_console, safe_text


@cli.command(name="gguf")
@click.argument("target")
@click.option("--endpoint", help="Hub URL for this run (default: HF_ENDPOINT, else the Hub).")
@hub_retry_options
@click.option(
    "--check/--no-check", default=True, show_default=True, help="Compare with the source."
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Source config.json to compare with (instead of finding it on the Hub).",
)
@click.option("--json", "json_", is_flag=True, help="One JSON object per GGUF file (JSON Lines).")
def gguf_cmd(
    target: str,
    endpoint: str | None,
    timeout: float,
    retries: int,
    backoff: float,
    max_retry_after: float,
    check: bool,
    config_path: Path | None,
    json_: bool,
) -> None:
    """Read a GGUF header (never its weights) and report its rope and lineage keys.

    TARGET is a local .gguf file or a Hub repo ORG/NAME[:FILE] (every .gguf file of the repo
    when FILE is not given), read with HTTP range requests that fetch only the header. With
    --check (the default) the keys are compared with what llama.cpp's converter writes for the
    source config: --config, else the same repo's config.json, the GGUF's general.base_model,
    or the card's base_model. Exit status 1 when a check fails.

    \b
    Example:
        ropedex gguf model-Q4_K_M.gguf --config config.json
        ropedex gguf bartowski/Qwen2.5-7B-Instruct-GGUF:Qwen2.5-7B-Instruct-Q4_K_M.gguf
    """
    options = build_hub_options(
        endpoint, None, True, False, timeout, retries, backoff, max_retry_after
    )
    results = gguf_results(target, options, check=check, config_path=config_path)
    if show_results(results, json_):
        raise SystemExit(1)


def gguf_results(
    target: str, options: Any, *, check: bool, config_path: Path | None = None
) -> list[tuple[Any, Any]]:
    """(header, verdict or None) for each GGUF file `target` names."""
    from registry.gguf_check import Source, check_gguf, source_for
    from scrapers.gguf import gguf_files, read_hub, read_local, repo_listing

    given: Source | None = None
    if config_path is not None:
        given = Source(
            str(config_path), "given", config_dict(str(config_path)), "not a JSON object"
        )

    def judge(header: Any, repo: Any) -> Any:
        if not check:
            return None
        return check_gguf(header, given or source_for(header, repo, options))

    if Path(target).is_file():
        header = read_local(target)
        return [(header, judge(header, None))]
    if ":" not in target and target.lower().endswith(".gguf"):
        raise click.ClickException(f"{target}: no such file.")
    repo_id, _, filename = target.partition(":")
    repo = repo_listing(repo_id, options)
    names = [filename] if filename else gguf_files(repo.files)
    if not names:
        raise click.ClickException(f"{repo_id}: the repo has no .gguf file.")
    results = []
    for name in names:
        header = read_hub(repo_id, name, options, revision=repo.sha or "main")
        results.append((header, judge(header, repo)))
    return results


def show_results(results: list[tuple[Any, Any]], json_: bool) -> bool:
    """Print each result; True when a check failed."""
    for header, verdict in results:
        row = {**header.to_dict(), "check": verdict.to_dict() if verdict is not None else None}
        if json_:
            emit_jsonl([row])
        else:
            _print(row)
    return any(v is not None and v.verdict == "fail" for _, v in results)


def _print(row: dict[str, Any]) -> None:
    console = make_console()

    def out(text: str) -> None:
        console.print(safe_text(text), markup=False, highlight=False, soft_wrap=True)

    fetched = f", fetched {row['fetched_bytes']:,}" if row["fetched_bytes"] else ""
    out(
        f"{row['source']}: {row['architecture'] or '?'} (GGUF v{row['version']}, "
        f"{row['tensor_count']} tensors; header {row['header_bytes']:,} of "
        f"{row['file_size']:,} bytes{fetched})"
    )
    arch = row["architecture"] or "?"
    for key, value in row["rope"].items():
        out(f"  {arch}.{key:<40} {value!r}")
    if not row["rope"]:
        out("  (no rope or context keys)")
    for n, base in enumerate(row["base_models"]):
        named = ", ".join(f"{k}={v}" for k, v in base.items())
        out(f"  general.base_model.{n}: {named}")
    check = row["check"]
    if check is None:
        return
    out(f"  check: {check['verdict'].upper()} ({check['reason']})")
    for diff in check["differences"]:
        out(f"    {diff['status']:>4}  {diff['key']}: {diff['message']}")
    for fix in check["fixes"]:
        out(f"    fix: {fix}")
    runtimes = check.get("runtimes") or {}
    for name in ("llama.cpp", "llama.cpp (config)"):
        served = runtimes.get(name)
        if served:
            what = "this GGUF" if name == "llama.cpp" else "the source config"
            applied = "applied" if served["applies_scaling"] else "not applied"
            magnitude = served["attention_scaling"]
            shown = f"{magnitude:.4g}" if isinstance(magnitude, int | float) else "?"
            out(
                f"  llama.cpp from {what}: serves {served['served_context']} tokens, scaling "
                f"{applied} (factor {served['factor']}, cos/sin x{shown})"
            )


def check_gguf_path(path: str, json_: bool) -> bool:
    """`ropedex check` on a .gguf file (source found as `ropedex gguf` finds it); True when
    the check failed."""
    import os

    options = build_hub_options(None, None, True, False, 10.0, 5, 1.0)
    if not os.path.isfile(path):
        raise click.ClickException(f"{path}: no such file.")
    return show_results(gguf_results(path, options, check=True), json_)
