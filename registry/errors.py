"""Errors a user may see. Each message names the next step; `registry.cli` converts them."""

from __future__ import annotations

from scrapers.errors import ScrapeFailed  # raised by scrapers, shown like a CatalogError


class CatalogError(Exception):
    """Base class of every user-facing error."""


class CatalogMissing(CatalogError):
    """The catalog file does not exist."""


class ModelNotFound(CatalogError):
    """No such repo id in the catalog."""


class BadFilter(CatalogError):
    """A query filter value could not be understood."""


class BadDatabaseURL(CatalogError):
    """--db / ROPEDEX_DB is neither a path nor a usable SQLAlchemy URL."""


class SchemaTooNew(CatalogError):
    """The catalog was written by a newer ropedex."""


class SchemaOutdated(CatalogError):
    """A read-only open found a catalog older than this ropedex (it must be upgraded first)."""


class CatalogUnreadable(CatalogError):
    """The catalog file exists but is not a SQLite catalog, or cannot be opened."""


class BadQuery(CatalogError):
    """`ropedex sql` was given a statement that failed or tried to write."""


class BadInputDir(CatalogError):
    """`ropedex ingest DIR` was given something that is not a readable directory."""


class LockHeld(CatalogError):
    """Another run holds the job lock."""


class RenderError(CatalogError):
    """The site could not be rendered (bad glossary entry, unknown [[slug]], unsafe output dir)."""


class BadFollowFile(CatalogError):
    """The nightly job's follow file cannot be used."""


class BadExtensionsFile(CatalogError):
    """The family extensions file (registry/family_extensions.toml) cannot be used."""


class DeviceUnavailable(CatalogError):
    """`--device cuda` was asked for on a machine without a usable CUDA device."""


class InputUnreadable(CatalogError):
    """A path or repo id whose config could be read neither from disk, the catalog nor the Hub."""


# The errors every command shows as one line (the scrapers' own error comes from below).
USER_ERRORS: tuple[type[Exception], ...] = (CatalogError, ScrapeFailed)
