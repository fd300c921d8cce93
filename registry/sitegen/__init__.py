"""The static-site generator: catalog -> Jinja templates in `site/` -> a folder any static host
can serve.

`driver` runs a render (temp folder, worker processes, swap); `read` reads the catalog;
`pages` holds one module per kind of page; `filters` the Jinja environment; `writer` the output
folder and site settings; `glossary`, `plots` and `feeds` build entry bodies, SVG charts and
Atom/RSS; `serve` previews a rendered folder.

`render_site` and the names below are loaded on first use, so importing one submodule (say
`registry.sitegen.serve`) does not load the driver and every page module with it.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from registry.sitegen.driver import render_site
    from registry.sitegen.writer import RenderSummary, SiteConfig, default_site_dir

_EXPORTS = {
    "render_site": "registry.sitegen.driver",
    "RenderSummary": "registry.sitegen.writer",
    "SiteConfig": "registry.sitegen.writer",
    "default_site_dir": "registry.sitegen.writer",
}

__all__ = ["RenderSummary", "SiteConfig", "default_site_dir", "render_site"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
