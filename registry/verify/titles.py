"""Short titles of the verifier's checks and of their statuses, for people (the site's tables).

docs/verifier.md describes each check; the title is keyed by the id's prefix ('C1', 'P3', 'X1').
"""

from __future__ import annotations

CHECK_TITLES = {
    "C1": "Type key (rope_type or legacy type)",
    "C2": "Legacy type names",
    "C3": "Required keys present",
    "C4": "Keys the type does not read",
    "C5": "Scaling factor",
    "C6": "Factor against the context lengths",
    "C7": "Original (trained) context declared",
    "C8": "YaRN beta_fast above beta_slow",
    "C9": "YaRN truncate flag",
    "C10": "DeepSeek mscale pair",
    "C11": "Explicit attention factor",
    "C12": "Llama 3 frequency bands",
    "C13": "LongRoPE factor lists",
    "C14": "mRoPE sections",
    "C15": "Partial rotary width",
    "C16": "Dynamic NTK base",
    "C19": "Value types",
    "C20": "Base frequency θ",
    "C21": "Partial rotary with default RoPE",
    "P0": "Embedding can be built",
    "P1": "High-frequency pairs untouched",
    "P2": "Low-frequency pairs interpolated",
    "P3": "Frequency ratio falls monotonically",
    "P4": "Rotation angles stay within training",
    "P5": "Attention logit magnitude",
    "P6": "YaRN range rounding, float32 vs float64",
    "P8": "cos/sin finite in the declared dtype",
    "P9": "Relative positions still told apart",
    "X1": "Runtimes agree",
}
STATUS_TEXT = {"not-applicable": "n/a"}


def check_title(check_id: str) -> str:
    """'C1-type-key' -> its title; an unknown id as words ('Z9-new-thing' -> 'New thing')."""
    prefix, _, rest = check_id.partition("-")
    if prefix in CHECK_TITLES:
        return CHECK_TITLES[prefix]
    words = (rest or check_id).replace("-", " ").replace("_", " ").strip()
    return words[:1].upper() + words[1:]
