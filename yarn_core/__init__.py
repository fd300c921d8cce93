"""RoPE and its context-extension methods. Importing this package does not import torch."""

from yarn_core.params import ROPE_TYPES, RopeParams

__all__ = ["ROPE_TYPES", "RopeParams"]
