"""`ropedex recipe`: the exact change that gets a model its long context, per runtime."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from registry.cli import cli
from registry.cli.options import device_option, open_catalog, verify_device
from registry.cli.output import safe_text, to_json

RUNTIME_CHOICES = ("transformers", "vllm", "sglang", "llama.cpp")


@cli.command(name="recipe")
@click.argument("model")
@click.option(
    "--runtime",
    type=click.Choice(RUNTIME_CHOICES),
    help="Print only this runtime's change.",
)
@click.option("--json", "json_", is_flag=True, help="One JSON object: the model and its recipes.")
@device_option
@click.pass_context
def recipe_cmd(
    ctx: click.Context, model: str, runtime: str | None, json_: bool, device: str
) -> None:
    """How to get the long context: config.json block, vLLM, SGLang and llama.cpp flags.

    MODEL is a repo id in the catalog or a config.json path (tagged and verified here). A recipe
    is printed when the family documents an extension the config leaves off, when the config's
    own factor covers more than it declares, or when runtimes serve different lengths.

    \b
    Example:
        ropedex recipe Qwen/Qwen3-8B
        ropedex recipe arcee-ai/AFM-4.5B --runtime vllm
        ropedex recipe path/to/config.json --json
    """
    from registry.recipes import recipes

    name, facts, verification, model_type, family = _resolve(ctx, model, device)
    found = recipes(name, facts, verification, model_type=model_type, family=family)
    rows = [r.to_dict() for r in found]
    if runtime:
        for row in rows:
            row["commands"] = {k: v for k, v in row["commands"].items() if k == runtime}
    if json_:
        click.echo(to_json({"model": name, "recipes": rows}))
        return
    if not rows:
        click.echo(safe_text(f"{name}: no recipe. {_nothing(facts, verification, model_type)}"))
        return
    click.echo(safe_text(f"{name}: {len(rows)} recipe{'s' if len(rows) != 1 else ''}"))
    for row in rows:
        click.echo("")
        source = f" ({row['source']})" if row["source"] else ""
        click.echo(safe_text(f"{row['summary']} [{row['origin']}{source}]"))
        if row["note"]:
            click.echo(safe_text(f"Note: {row['note']}"))
        for key, text in row["commands"].items():
            edit = key == "transformers" and row["config_change"]
            click.echo(f"{key} (merge into config.json):" if edit else f"{key}:")
            for line in str(text).splitlines():
                click.echo(safe_text(f"  {line}"))


def _resolve(
    ctx: click.Context, model: str, device: str
) -> tuple[str, dict[str, Any] | None, dict[str, Any] | None, str | None, str | None]:
    """(name for the commands, facts, verification, model type, family) of a path or repo id:
    the catalog's stored row when it holds the model, else the config read the way `check`
    reads it (a file, or the Hub through the same resolver)."""
    from registry.cli.inputs import make_resolver
    from registry.errors import CatalogMissing, CatalogUnreadable, ModelNotFound
    from registry.families import family_of
    from registry.resolve_input import tag_input
    from registry.verify.verdict import verify_tag

    not_found: ModelNotFound | None = None
    if not Path(model).is_file():
        from registry.db import session_factory
        from registry.queries import get_model

        try:
            with session_factory(open_catalog(ctx, readonly=True))() as session:
                data = get_model(session, model)
            m = data["model"]
            return m["repo_id"], data["facts"], data["verification"], m["model_type"], m["family"]
        except ModelNotFound as exc:  # not in the catalog: read its config instead
            not_found = exc
        except CatalogMissing:
            pass
    inp = make_resolver(ctx)(model)
    tag, readable, config = tag_input(inp)
    if not readable:
        if not_found is None:
            raise CatalogUnreadable(f"{model}: {tag.reason}")
        if "/" not in model:  # neither a file nor a repo id: the catalog's did-you-mean
            raise not_found
        raise CatalogUnreadable(f"{not_found} Reading it from the Hub failed too: {tag.reason}")
    verdict = verify_tag(tag, device=verify_device(device), config=config)
    path = Path(model)
    # A model folder (ORG/NAME/config.json) is what the runtimes load; name it in commands.
    folder = inp.source == "path" and path.name == "config.json"
    repo = f"{path.parent.parent.name}/{path.parent.name}" if folder else inp.repo_id
    name = str(path.parent) if folder else (inp.repo_id or "MODEL_DIR")
    return name, tag.to_dict(), verdict.to_dict(), tag.model_type, family_of(repo, tag.model_type)


def _nothing(
    facts: dict[str, Any] | None, verification: dict[str, Any] | None, model_type: str | None
) -> str:
    from registry.formatting import fmt_tokens
    from registry.lead import build_lead

    lead = build_lead(facts, verification, model_type)
    if lead is None or lead["served_context"] is None:
        return "No served context is known for it."
    return (
        f"transformers, vLLM, SGLang and llama.cpp serve {fmt_tokens(lead['served_context'])} "
        "by default; neither the config nor a documented family extension offers more."
    )
