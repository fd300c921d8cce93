"""The tagger: which position encoding a config.json declares, with the keys that decided it.

`tag_config(config)` and `tag_file(path)` are the entry points; `TagResult` is what they return.
"""

from scrapers.tagger.classify import tag_config, tag_file
from scrapers.tagger.result import TAGGER_VERSION, TagResult

__all__ = ["TAGGER_VERSION", "TagResult", "tag_config", "tag_file"]
