"""One-pass rotation for `yarn_core.rope.apply_rotary`: compiled on CPU, Triton on CUDA.

The eager rotation in `yarn_core.rope` makes three passes over the output (a multiply, then one
multiply-add per half). Here each output element is written once: it reads its own input, its
partner in the pair, and the cos/sin entries of its channel, computes in float32 and rounds once
to the output dtype. The cos/sin tables are first cast to x's dtype, as the eager path and
transformers do, so for float32 the arithmetic is the eager path's; for bfloat16 and float16 the
float32 intermediate only removes the roundings between the multiply and the add.

Backends, chosen once per device type and cached:
  * "triton": a Triton kernel (CUDA, when `triton` imports);
  * "compiled": the same arithmetic through `torch.compile` (inductor: C++ on CPU);
  * "eager": `yarn_core.rope`'s eager rotation (no compiler, or forced).
`select_backend` takes the override explicitly; `backend_override()` reads `ROPEDEX_ROTARY`
(`eager`, `compiled` or `triton`) for callers that want the process-wide setting.

The compiled kernel writes straight into a contiguous `out`; for a strided `out` inductor goes
through a temporary (still correct, one more pass).
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable

import torch

__all__ = [
    "BACKENDS",
    "FUSED_DTYPES",
    "FUSED_MIN_ELEMENTS",
    "backend_override",
    "reset_compiled",
    "available_backends",
    "rotate_fused",
    "rotate_fused_qk",
    "select_backend",
]

BACKENDS = ("triton", "compiled", "eager")
FUSED_MIN_ELEMENTS = 1 << 20  # below this, `fused=None` keeps the eager path (no compile)
_ENV = "ROPEDEX_ROTARY"
FUSED_DTYPES = (torch.float32, torch.bfloat16, torch.float16)

_chosen: dict[tuple[str, str | None], str] = {}
_compiled: dict[str, Callable[..., None]] = {}


def backend_override() -> str | None:
    """The backend named by the environment (`ROPEDEX_ROTARY`), or None for the automatic one."""
    value = os.environ.get(_ENV, "").strip().lower()
    if not value:
        return None
    if value not in BACKENDS:
        raise ValueError(f"{_ENV} must be one of {BACKENDS}, got {value!r}")
    return value


def available_backends(device_type: str, *, triton_ok: bool, compiler_ok: bool) -> tuple[str, ...]:
    """Backends that can run on `device_type`, best first (eager always can)."""
    found: list[str] = []
    if device_type == "cuda" and triton_ok:
        found.append("triton")
    # inductor's GPU code generation is Triton too; without it only CPU compiles
    if compiler_ok and (device_type == "cpu" or (device_type == "cuda" and triton_ok)):
        found.append("compiled")
    found.append("eager")
    return tuple(found)


def select_backend(device_type: str, force: str | None = None) -> str:
    """The backend for `device_type`: `force` when it can run there, else the best that works.

    Probing compiles and runs a small rotation once and compares it with the eager path; the
    choice is cached per (device type, force). A forced backend that cannot run raises.
    """
    if force is not None and force not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {force!r}")
    key = (device_type, force)
    if key in _chosen:
        return _chosen[key]
    if force == "eager":
        _chosen[key] = "eager"
        return "eager"
    candidates = available_backends(
        device_type, triton_ok=_triton_importable(), compiler_ok=_compiler_present()
    )
    if force is not None:
        if force not in candidates:
            raise ValueError(f"rotary backend {force!r} is not available on {device_type}")
        candidates = (force,)
    for name in candidates:
        if name == "eager" or _probe(name, device_type):
            _chosen[key] = name
            return name
    raise ValueError(f"rotary backend {force!r} failed its probe on {device_type}")


def _triton_importable() -> bool:
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True


def _compiler_present() -> bool:
    """A C++ compiler for inductor's CPU code (it builds with `$CXX` or `g++`/`c++`)."""
    import shutil

    names = [os.environ.get("CXX", ""), "g++", "c++", "clang++"]
    return any(name and shutil.which(name) for name in names)


def _probe(name: str, device_type: str) -> bool:
    """Run the backend on a small odd-shaped case; it must match the eager rotation."""
    from yarn_core.rotate import rotate_pairs as _rotate

    device = torch.device(device_type)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 5, 12, generator=gen).to(device)
    angles = torch.rand(5, 4, generator=gen).to(device) * 6.0
    cos = torch.cat((angles.cos(), angles.cos()), dim=-1)
    sin = torch.cat((angles.sin(), angles.sin()), dim=-1)
    want = torch.empty_like(x)
    _rotate(x, cos, sin, want, "half", 8)
    got = torch.empty_like(x)
    try:
        _run(name, x, cos, sin, got, "half", 8)
    except Exception:  # any failure to build or run means: not this backend
        return False
    return bool(torch.allclose(got, want, rtol=1e-5, atol=1e-6))


def rotate_fused(
    x: torch.Tensor,
    cos: torch.Tensor,
    sin: torch.Tensor,
    out: torch.Tensor,
    *,
    pairing: str,
    rotary_dim: int,
    backend: str,
) -> torch.Tensor:
    """out = rotation of x's first `rotary_dim` channels by (cos, sin), rest copied; returns out.

    Arguments are checked by the caller (`apply_rotary`): `cos`/`sin` broadcast to
    x[..., :rotary_dim] and are already in x's dtype; `out` has x's shape and does not overlap it.
    """
    _run(backend, x, cos, sin, out, pairing, rotary_dim)
    return out


def rotate_fused_qk(
    q: torch.Tensor,
    k: torch.Tensor,
    cos: torch.Tensor,
    sin: torch.Tensor,
    out: tuple[torch.Tensor, torch.Tensor],
    *,
    pairing: str,
    rotary_dim: int,
    backend: str,
) -> tuple[torch.Tensor, torch.Tensor]:
    """`rotate_fused` on queries and keys in one compiled kernel when `backend` is "compiled":
    the loop over q and the loop over k are fused (one for equal shapes), so each table row is
    read once for both. Other backends rotate the two one after the other."""
    seq = q.shape[-2] if q.dim() >= 2 else 1
    table_rows = cos.dim() == 2 and cos.shape[0] == seq and sin.shape == cos.shape
    flat = all(t.dim() >= 2 and t.is_contiguous() for t in (q, k, *out))
    if backend != "compiled" or not (table_rows and flat and k.shape[-2] == seq):
        for x, result in zip((q, k), out, strict=True):
            _run(backend, x, cos, sin, result, pairing, rotary_dim)
        return out
    # Static sizes (seq already is): with the leading size dynamic too the loops ran at 0.86
    # and 0.76 of copy speed against 0.93 (float32) and 0.98 (bfloat16), one thread; a new
    # head count costs one more specialisation, up to _RECOMPILE_LIMIT.
    views = [t.view(-1, seq, t.shape[-1]) for t in (q, k, *out)]
    paired = _paired_tables(cos, sin, pairing)
    tensors = (views[0], views[1], *paired, views[2], views[3])
    if not _compiled_call(_compiled_kernel(pairing, both=True), tensors):
        from yarn_core.rotate import rotate_pairs as _rotate

        full = _full_tables(*paired, pairing)
        for x, result in zip((q, k), out, strict=True):
            _rotate(x, *full, result, pairing, rotary_dim)
    return out


def _compiled_call(kernel: Callable[..., None], tensors: tuple[torch.Tensor, ...]) -> bool:
    """Run a compiled kernel; False when dynamo gives up (each dtype, rank, rotary width and
    table form is one more specialisation, and there are at most _RECOMPILE_LIMIT): the caller
    then runs this call eager."""
    try:
        with torch._dynamo.config.patch(recompile_limit=_RECOMPILE_LIMIT):
            kernel(*tensors)
    except torch._dynamo.exc.Unsupported:
        return False
    return True


def _run(
    backend: str,
    x: torch.Tensor,
    cos: torch.Tensor,
    sin: torch.Tensor,
    out: torch.Tensor,
    pairing: str,
    rot: int,
) -> None:
    if backend == "eager":
        from yarn_core.rotate import rotate_pairs as _rotate

        _rotate(x, cos, sin, out, pairing, rot)
    elif backend == "triton":
        from yarn_core.fused_triton import rotate_triton

        rotate_triton(x, cos, sin, out, pairing, rot)
    elif backend == "compiled":
        _run_compiled(x, cos, sin, out, pairing, rot)
    else:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")


def _run_compiled(
    x: torch.Tensor,
    cos: torch.Tensor,
    sin: torch.Tensor,
    out: torch.Tensor,
    pairing: str,
    rot: int,
) -> None:
    seq = x.shape[-2] if x.dim() >= 2 else 1
    table_rows = cos.dim() == 2 and cos.shape[0] == seq and sin.shape == cos.shape
    if table_rows and x.dim() >= 2 and x.is_contiguous() and out.is_contiguous():
        # one (N, seq, head_dim) shape for any number of leading dims: fewer compilations
        x = x.view(-1, seq, x.shape[-1])
        out = out.view(-1, seq, x.shape[-1])
    cos, sin = _paired_tables(cos, sin, pairing)
    tensors = (x, cos, sin, out)
    for tensor in tensors:  # sizes vary between calls; the head and pair widths do not
        for dim in range(tensor.dim() - 2):
            torch._dynamo.maybe_mark_dynamic(tensor, dim)
    if not _compiled_call(_compiled_kernel(pairing), tensors):
        from yarn_core.rotate import rotate_pairs as _rotate

        _rotate(x, *_full_tables(cos, sin, pairing), out, pairing, rot)


def _paired_tables(
    cos: torch.Tensor, sin: torch.Tensor, pairing: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """cos/sin seen pair by pair: (..., 2, rot/2) for half pairing, (..., rot/2, 2) for
    interleaved. When both members of every pair carry the same entries (as in every table
    `cos_sin` and `mrope_cos_sin` build), one member's view (size 1 on that axis, no copy) is
    passed instead, packed into its own tensor, so the kernel reads half the table. The check
    and the packed half are remembered for the last table of each pairing."""
    rot = cos.shape[-1]
    axis = -2 if pairing == "half" else -1
    shape = (2, rot // 2) if pairing == "half" else (rot // 2, 2)
    c, s = cos.unflatten(-1, shape), sin.unflatten(-1, shape)
    if not _remembered(cos, sin, pairing):
        same = all(torch.equal(t.narrow(axis, 0, 1), t.narrow(axis, 1, 1)) for t in (c, s))
        # one member of each pair, packed: a strided half read measured 0.83 of copy speed
        # against 0.93 packed (float32, one thread)
        halves = (c.narrow(axis, 0, 1).contiguous(), s.narrow(axis, 0, 1).contiguous())
        _shared_pairs[pairing] = {
            "refs": (weakref.ref(cos), weakref.ref(sin)),
            "versions": (cos._version, sin._version),
            "same": same,
            "halves": halves if same else None,
        }
    packed = _shared_pairs[pairing]["halves"]
    if isinstance(packed, tuple):
        return packed[0], packed[1]
    return c, s


def _remembered(cos: torch.Tensor, sin: torch.Tensor, pairing: str) -> bool:
    """Whether the last check was on these very tensors (alive, same objects) at their current
    versions (any in-place change bumps the version); never by address, which a freed table's
    successor can reuse."""
    last = _shared_pairs.get(pairing, {})
    refs = last.get("refs")
    if not isinstance(refs, tuple):
        return False
    return (
        refs[0]() is cos
        and refs[1]() is sin
        and last.get("versions") == (cos._version, sin._version)
    )


_shared_pairs: dict[str, dict[str, object]] = {}  # pairing -> the last table checked
_RECOMPILE_LIMIT = 64


def _full_tables(
    cos: torch.Tensor, sin: torch.Tensor, pairing: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Back from the paired view to (..., rot) tables in the pairing's layout."""
    shape = (2, cos.shape[-1]) if pairing == "half" else (cos.shape[-2], 2)
    return cos.expand(*cos.shape[:-2], *shape).flatten(-2), sin.expand(
        *sin.shape[:-2], *shape
    ).flatten(-2)


def _compiled_kernel(pairing: str, *, both: bool = False) -> Callable[..., None]:
    name = f"{pairing}:qk" if both else pairing
    if name not in _compiled:
        body = _half_body if pairing == "half" else _interleaved_body
        if both:

            def body_qk(
                q: torch.Tensor,
                k: torch.Tensor,
                cos: torch.Tensor,
                sin: torch.Tensor,
                q_out: torch.Tensor,
                k_out: torch.Tensor,
            ) -> None:
                body(q, cos, sin, q_out)
                body(k, cos, sin, k_out)

            _compiled[name] = torch.compile(body_qk, dynamic=False, fullgraph=True)
        else:
            _compiled[name] = torch.compile(body, dynamic=False, fullgraph=True)
    return _compiled[name]


def _half_body(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, out: torch.Tensor) -> None:
    """Half pairing: channel j pairs with j + rot/2. Seen as (..., 2, rot/2), the partner of
    each element is the same index in the other half (a flip of the size-2 axis) and the sin
    term's sign is - for the first half, + for the second: x * cos + partner * (+-sin).
    cos/sin are (..., 2 or 1, rot/2)."""
    rot = 2 * cos.shape[-1]
    pairs = (2, rot // 2)
    sign = torch.tensor((-1.0, 1.0), device=x.device).view(2, 1)
    xv = x[..., :rot].unflatten(-1, pairs).float()
    rotated = xv * cos.float() + xv.flip(-2) * (sin.float() * sign)
    out[..., :rot].unflatten(-1, pairs).copy_(rotated)
    if rot < x.shape[-1]:
        out[..., rot:].copy_(x[..., rot:])


def _interleaved_body(
    x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, out: torch.Tensor
) -> None:
    """Interleaved pairing: channel 2j pairs with 2j + 1; seen as (..., rot/2, 2), the same
    flip-and-sign form on the last axis. cos/sin are (..., rot/2, 2 or 1)."""
    rot = 2 * cos.shape[-2]
    pairs = (rot // 2, 2)
    sign = torch.tensor((-1.0, 1.0), device=x.device)
    xv = x[..., :rot].unflatten(-1, pairs).float()
    rotated = xv * cos.float() + xv.flip(-1) * (sin.float() * sign)
    out[..., :rot].unflatten(-1, pairs).copy_(rotated)
    if rot < x.shape[-1]:
        out[..., rot:].copy_(x[..., rot:])


def reset_compiled() -> None:
    """Forget compiled kernels (and dynamo's caches), e.g. after changing torch's thread count,
    which inductor's CPU code fixes when it is generated."""
    _compiled.clear()
    torch._dynamo.reset()
