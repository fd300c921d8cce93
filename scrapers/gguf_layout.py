"""Where each part of a GGUF header lies, without decoding any value.

The `gguf` reader decodes every key, vocabularies included (hundreds of thousands of strings in a
real file, tens of seconds). This scan only walks the byte lengths the format declares (GGUF v2
and v3: magic, version, tensor count, key count, then each key's name, type and value, then each
tensor's name, dims, type and offset), so the header reader can (1) tell whether the bytes held
contain the whole header and (2) hand the `gguf` reader a copy without the keys it does not need.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

STRING, ARRAY = 8, 9
# GGUFValueType -> size in bytes of the scalar types.
SCALAR_SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
DEFAULT_ALIGNMENT = 32
MAX_DEPTH = 4  # arrays of arrays are legal; deeper nesting is a broken file


class NeedMore(Exception):  # noqa: N818 (a signal, not an error)
    """The bytes held end inside the header."""


class BadLayout(ValueError):
    """The header's own lengths make no sense (unknown type, absurd count)."""


@dataclass
class KeySpan:
    key: str
    start: int  # offset of the key's name length
    end: int  # offset after its value
    vtype: int
    count: int  # items, for an array; 1 otherwise


@dataclass
class Layout:
    order: str  # struct byte order, "<" or ">"
    tensor_count: int
    keys: list[KeySpan] = field(default_factory=list)
    tensors_start: int = 0
    tensors_end: int = 0
    header_end: int = 0  # the tensor data's offset (aligned)
    alignment: int = DEFAULT_ALIGNMENT
    tensor_names: list[str] = field(default_factory=list)


class _Cursor:
    def __init__(self, buf: bytes, order: str) -> None:
        self.buf, self.order, self.pos = buf, order, 0

    def take(self, n: int) -> int:
        start = self.pos
        if n < 0 or start + n > len(self.buf):
            raise NeedMore
        self.pos = start + n
        return start

    def u32(self) -> int:
        value: int = struct.unpack_from(self.order + "I", self.buf, self.take(4))[0]
        return value

    def u64(self) -> int:
        value: int = struct.unpack_from(self.order + "Q", self.buf, self.take(8))[0]
        return value

    def string(self) -> bytes:
        n = self.u64()
        start = self.take(n)
        return self.buf[start : start + n]

    def skip_value(self, vtype: int, depth: int = 0) -> int:
        """Skip one value; returns its item count (arrays) or 1."""
        if vtype in SCALAR_SIZES:
            self.take(SCALAR_SIZES[vtype])
            return 1
        if vtype == STRING:
            self.take(self.u64())
            return 1
        if vtype != ARRAY or depth >= MAX_DEPTH:
            raise BadLayout(f"unknown or too deeply nested value type {vtype}")
        itype, count = self.u32(), self.u64()
        if itype in SCALAR_SIZES:
            self.take(SCALAR_SIZES[itype] * count)
        elif itype == STRING:
            for _ in range(count):
                self.take(self.u64())
        else:
            for _ in range(count):
                self.skip_value(itype, depth + 1)
        return count


def scan(buf: bytes, max_count: int = 10_000_000) -> Layout:
    """The layout of the header at the start of `buf`.

    Raises:
        NeedMore: `buf` ends inside the header.
        BadLayout: not a GGUF header this scan understands.
    """
    if len(buf) < 24:
        raise NeedMore
    if buf[:4] != b"GGUF":
        raise BadLayout("no GGUF magic")
    order = "<" if struct.unpack_from("<I", buf, 4)[0] & 0xFFFF else ">"
    cur = _Cursor(buf, order)
    cur.pos = 8
    tensor_count, key_count = cur.u64(), cur.u64()
    if tensor_count > max_count or key_count > max_count:
        raise BadLayout(f"{tensor_count} tensors, {key_count} keys")
    layout = Layout(order, tensor_count)
    alignment = DEFAULT_ALIGNMENT
    for _ in range(key_count):
        start = cur.pos
        key = cur.string().decode("utf-8", errors="replace")
        vtype = cur.u32()
        value_at = cur.pos
        count = cur.skip_value(vtype)
        if key == "general.alignment" and vtype == 4:
            alignment = struct.unpack_from(order + "I", buf, value_at)[0] or DEFAULT_ALIGNMENT
        layout.keys.append(KeySpan(key, start, cur.pos, vtype, count))
    layout.tensors_start = cur.pos
    for _ in range(tensor_count):
        layout.tensor_names.append(cur.string().decode("utf-8", errors="replace"))
        dims = cur.u32()
        cur.take(8 * dims + 4 + 8)
    layout.tensors_end = cur.pos
    layout.alignment = alignment
    layout.header_end = -(-cur.pos // alignment) * alignment
    return layout


def reduced_header(buf: bytes, layout: Layout, keep: list[KeySpan]) -> bytes:
    """The header with only the `keep` keys (tensor infos unchanged), for the `gguf` reader."""
    counts = struct.pack(layout.order + "QQ", layout.tensor_count, len(keep))
    kept = b"".join(buf[k.start : k.end] for k in keep)
    return buf[:8] + counts + kept + buf[layout.tensors_start : layout.tensors_end]
