"""`ropedex show` for a model the catalog does not hold: read its config (path or Hub), tag and
verify it now, and return it in the shape `registry.queries.get_model` gives."""

from __future__ import annotations

from typing import Any

import click


def live_model(
    ctx: click.Context, arg: str, device: str, *, not_found: str | None
) -> dict[str, Any]:
    """The model behind `arg`, tagged and verified now.

    Raises:
        InputUnreadable: no config could be read (the reason names the next step; `not_found`,
            the catalog's own answer, comes first when there is one).
    """
    from registry.cli.inputs import make_resolver
    from registry.errors import InputUnreadable
    from registry.resolve_input import tag_input
    from registry.verify.verdict import verify_tag

    inp = make_resolver(ctx)(arg)
    tag, readable, config = tag_input(inp)
    if not readable:
        problem = f"{arg}: {tag.reason}"
        raise InputUnreadable(f"{not_found} {problem}" if not_found else problem)
    verdict = verify_tag(tag, device=device, config=config).to_dict()
    facts = tag.to_dict()
    return {
        "model": {
            "repo_id": inp.repo_id,
            "path": arg if inp.source == "path" else None,
            "source": inp.source,
            "model_type": tag.model_type,
            "sha": inp.revision,
        },
        "facts": facts,
        "verification": {
            key: verdict[key] for key in ("verdict", "checks", "runtimes", "device", "core_version")
        },
        "snapshots": [],
        "changes": [],
        "errors": [],
        "config": config,
    }
