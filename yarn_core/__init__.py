"""RoPE and its context-extension methods. Importing this package does not import torch.

Tensor functions live in `yarn_core.rope` (imports torch); the names re-exported here are
plain math.
"""

from yarn_core.conventions import CONVENTIONS, Resolved, resolve
from yarn_core.frequencies import UnsupportedRope, frequency_ratio, inverse_frequencies
from yarn_core.params import ROPE_TYPES, RopeParams
from yarn_core.scaling import correction_range, inferred_yarn_factor, yarn_mscale

__all__ = [
    "CONVENTIONS",
    "ROPE_TYPES",
    "Resolved",
    "RopeParams",
    "UnsupportedRope",
    "correction_range",
    "frequency_ratio",
    "inferred_yarn_factor",
    "inverse_frequencies",
    "resolve",
    "yarn_mscale",
]
