"""The position-encoding vocabulary: every tag the tagger can emit, with a one-line definition.

The site glossary and `ropedex tags` list `TAGS`; nothing else defines tag names.
"""

from __future__ import annotations

# Canonical rope type (yarn_core.params.ROPE_TYPES) -> primary tag.
ROPE_TYPE_TAGS: dict[str, str] = {
    "default": "rope",
    "linear": "rope-linear",
    "dynamic": "rope-dynamic",
    "ntk": "rope-ntk",
    "yarn": "rope-yarn",
    "llama3": "rope-llama3",
    "longrope": "rope-longrope",
    "proportional": "rope-proportional",
}

NOPE_SUFFIX = "+nope"

TAGS: dict[str, str] = {
    "rope": "Rotary embedding of queries and keys with one fixed frequency table; any base "
    "(theta), no rescaling rule.",
    "rope-linear": "Rotary embedding with position interpolation: every frequency is divided by "
    "the scale factor.",
    "rope-dynamic": "Rotary embedding whose base grows with the current sequence length once it "
    "passes the trained length (dynamic NTK); plain RoPE below it.",
    "rope-ntk": "Rotary embedding with a fixed NTK-aware base stretch (alpha), independent of "
    "the sequence length.",
    "rope-yarn": "Rotary embedding rescaled per frequency by YaRN (interpolate low, keep high, "
    "ramp between) plus an attention temperature.",
    "rope-llama3": "Rotary embedding with Llama 3.1 wavelength bands: long wavelengths divided by "
    "the factor, short ones kept, a smooth ramp between.",
    "rope-longrope": "Rotary embedding with LongRoPE per-dimension rescale lists (short and long) "
    "and a magnitude correction.",
    "rope-proportional": "Rotary embedding where only a leading fraction of frequency pairs "
    "rotate, frequencies taken over the full head width.",
    "rope-mrope": "Multimodal rotary embedding: the rotary dims split into temporal, height and "
    "width sections driven by 3-D position ids.",
    "alibi": "No position embedding; a fixed per-head penalty linear in query-key distance is "
    "added to the attention logits.",
    "learned-absolute": "A trained table of vectors indexed by absolute position, added to the "
    "token embeddings.",
    "sinusoidal": "A fixed sine/cosine table indexed by absolute position, added to the token "
    "embeddings.",
    "relative-bias": "A learned scalar bias per head for each (bucketed) relative distance, added "
    "to the attention logits (T5 style).",
    "relative-disentangled": "DeBERTa attention with separate content-to-position and "
    "position-to-content terms over bucketed relative distances.",
    "relative-shaw": "Learned relative-position vectors added to keys (and values or queries), "
    "clipped at a maximum distance (Shaw et al.).",
    "relative-xl": "Transformer-XL relative scheme: projected sinusoidal relative encodings plus "
    "global content and position biases.",
    "conv-position": "Position information from a grouped 1-D convolution over the input "
    "features (wav2vec 2.0 family).",
    "axial-learned": "Factorised learned absolute table: the position is split over several "
    "axes, each with its own small table (Reformer).",
    "none": "No positional mechanism: no attention at all; order comes from recurrence or "
    "convolution.",
    "nope-hybrid": "Recurrent or linear-attention hybrid whose softmax attention layers carry no "
    "position encoding; order comes from the recurrent layers.",
    "unknown": "Nothing in the config matches a known scheme; the result carries the reason.",
}

# Composite `<rope-tag>+nope` tags: some attention layers rotate, the others have no encoding.
for _tag in list(ROPE_TYPE_TAGS.values()) + ["rope-mrope"]:
    TAGS[_tag + NOPE_SUFFIX] = (
        f"As `{_tag}` on some attention layers; the remaining attention layers have no "
        "position encoding (interleaved NoPE)."
    )
del _tag


def is_rope_tag(tag: str) -> bool:
    """True for every rotary tag, plain or composite with `+nope`."""
    return tag == "rope" or tag.startswith("rope-") or tag.startswith("rope+")


def base_tag(tag: str) -> str:
    """The tag without its `+nope` suffix."""
    return tag.removesuffix(NOPE_SUFFIX)


def has_nope_layers(tag: str) -> bool:
    return tag.endswith(NOPE_SUFFIX)


def rope_tag(rope_type: str) -> str:
    """Primary tag of a canonical rope type."""
    return ROPE_TYPE_TAGS.get(rope_type, "rope")


def is_known_tag(tag: str) -> bool:
    return tag in TAGS
