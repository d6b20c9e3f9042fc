"""torch's process-wide compute settings for one training run, restored when it ends.

torch keeps the intra-op thread count, denormal flushing and the precision of
fp32 matrix multiplies as global state. A run sets them for its own speed and puts
them back afterwards, so `agents.train` in a notebook or a test does not change
the numerics of whatever the caller runs next.

Why each setting:
- Denormals are flushed to zero inside the updates only (`FlushDenormals`). Adam's
  second-moment estimate of a weight whose gradient is (nearly) always zero, e.g.
  into a dead ReLU unit, decays through the denormal range for tens of thousands of
  steps, and x86 arithmetic on denormals is ~100x slower: measured here, fused Adam
  on TD3's critics took 0.83 ms per step with denormals and 0.11 ms without.
  Flushing changes values below 1e-38 only, but it is a CPU flag of the thread that
  numpy and the physics share, and forked env workers inherit it: so it is switched
  on around the updates and back to what it was (torch has no getter: it is
  measured once) after each, never while an env steps or a worker is forked.
- `matmul_precision="bf16"` lets oneDNN run fp32 matrix multiplies and
  convolutions with bfloat16 inputs and fp32 accumulation (weights, gradients and
  optimiser state stay fp32). On CPUs with AMX or AVX512-BF16 a 256x256 layer at
  batch 256 is ~3x faster; elsewhere bf16 would be emulated and slower, so "bf16"
  is refused there and "auto" falls back to fp32.
- Image runs keep freed heap memory (`retain_freed_memory`, glibc only). A CNN update
  frees and reallocates activations of ~0.5-2 MB every pass; glibc returns such
  blocks to the kernel (mmap, or trimming the heap top) and the next pass page-faults
  them back in, zeroed. Measured here on Task A's camera TD3 update (batch 16): 21-25
  ms with glibc's defaults, 18.5-19 ms with freed memory kept. It is the one setting
  that is not restored (it only decides when freed memory goes back to the OS; the
  process keeps its peak working set, tens of MB), and vector-only runs do not set it.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import sys
from collections.abc import Iterator

import torch

from agents.config import PRECISIONS
from agents.errors import ConfigError

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)


@functools.cache
def retain_freed_memory() -> bool:
    """Ask glibc to keep freed blocks up to 32 MB in the heap (not mmap'd) and never to trim
    the heap, so that per-update activations reuse already-mapped pages (see the module
    docstring). True if glibc accepted it; a no-op elsewhere (macOS, musl, Windows)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    ok = mallopt(_M_MMAP_THRESHOLD, 32 * 1024 * 1024) == 1  # glibc's largest allowed value
    return bool(mallopt(_M_TRIM_THRESHOLD, 1 << 30) == 1 and ok)


@functools.cache
def native_bf16() -> bool:
    """True when oneDNN really runs this CPU's fp32 matrix multiplies with bfloat16 inputs.

    The CPU flags (AMX tiles, AVX512-BF16) are necessary but not sufficient: on an AMD
    EPYC with AVX512-BF16 and no AMX, oneDNN ignores the bf16 setting and multiplies
    in fp32, so "bf16" would be a silent no-op. A small multiply under the setting
    tells (bfloat16 inputs have ~3 significant digits, errors grow ~100x); cached,
    since the answer is a property of the machine and the torch build.
    """
    if not torch.backends.mkldnn.is_available():
        return False
    cpu = torch.cpu
    amx = getattr(cpu, "_is_amx_tile_supported", lambda: False)()
    avx = getattr(cpu, "_is_avx512_bf16_supported", lambda: False)()
    return bool(amx or avx) and _bf16_takes_effect()


def _bf16_takes_effect() -> bool:
    mkl = torch.backends.mkldnn
    g = torch.Generator().manual_seed(0)
    x, w = torch.randn(64, 256, generator=g), torch.randn(64, 256, generator=g)
    exact = x.double() @ w.double().T
    saved = mkl.matmul.fp32_precision
    try:
        mkl.matmul.fp32_precision = "bf16"
        with torch.no_grad():
            err = (torch.nn.functional.linear(x, w).double() - exact).abs().max().item()
    finally:
        mkl.matmul.fp32_precision = saved
    return err > 1e-2  # fp32: ~1e-5; bfloat16 inputs: ~1e-1


def check_device(device: str) -> torch.device:
    """`device` as a torch.device, or a ConfigError if this torch cannot use it here.

    validate_config only checks the spelling; whether CUDA or MPS works depends on the
    torch build and the machine, so it is checked when a run starts, before any env is built,
    rather than failing at the first `.to(device)` with torch's own message."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ConfigError(f"Config field 'device' = {device!r} is not a torch device ({exc}). "
                          "Use cpu, cuda, cuda:N or mps.") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            why = ("this torch is a CPU-only build" if torch.version.cuda is None
                   else "no CUDA GPU is visible (driver, CUDA_VISIBLE_DEVICES?)")
            raise ConfigError(f"Config field 'device' = {device!r} cannot be used: {why} "
                              "(torch.cuda.is_available() is False). Use device=cpu, or run on a machine "
                              "with an NVIDIA GPU and a CUDA build of torch.")
        count = torch.cuda.device_count()
        if dev.index is not None and dev.index >= count:
            raise ConfigError(f"Config field 'device' = {device!r} cannot be used: this machine has {count} "
                              f"CUDA device(s), numbered 0 to {count - 1}.")
    elif dev.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"Config field 'device' = {device!r} cannot be used: torch.backends.mps.is_available() "
                          "is False (MPS needs Apple silicon and macOS 12.3 or later). Use device=cpu.")
    elif dev.type not in ("cpu", "cuda", "mps"):
        raise ConfigError(f"Config field 'device' = {device!r} is not supported: use cpu, cuda, cuda:N or mps.")
    return dev


def resolve_precision(precision: str, device: str) -> str:
    """The precision a run will really use: "fp32" or "bf16"."""
    if precision not in PRECISIONS:  # validate_config reports this to users
        raise ValueError(f"matmul_precision must be one of {PRECISIONS}, got {precision!r}")
    on_cpu = torch.device(device).type == "cpu"
    if precision == "auto":
        return "bf16" if on_cpu and native_bf16() else "fp32"
    if precision == "bf16" and not on_cpu:
        raise ConfigError(f"Config field 'matmul_precision' = 'bf16' is implemented for device 'cpu' only, "
                          f"not {device!r}. Use 'fp32' (or 'auto', which picks fp32 there).")
    if precision == "bf16" and not native_bf16():
        raise ConfigError("Config field 'matmul_precision' = 'bf16' needs a CPU on which oneDNN multiplies "
                          "fp32 matrices with bfloat16 inputs (AMX, e.g. Intel Sapphire Rapids or later); on this "
                          "CPU the setting would be ignored or emulated. Use 'fp32', or 'auto' to get bf16 only where it helps.")
    return precision


@contextlib.contextmanager
def compute_settings(threads: int, precision: str, device: str = "cpu") -> Iterator[str]:
    """Apply a run's thread count and matmul precision; yield the precision used.

    Denormal flushing is not set here but around each update (`FlushDenormals`)."""
    used = resolve_precision(precision, device)
    mkl = torch.backends.mkldnn
    saved = (torch.get_num_threads(), mkl.matmul.fp32_precision, mkl.conv.fp32_precision)
    torch.set_num_threads(threads)
    mkl.matmul.fp32_precision = mkl.conv.fp32_precision = "bf16" if used == "bf16" else "ieee"
    try:
        yield used
    finally:
        torch.set_num_threads(saved[0])
        mkl.matmul.fp32_precision, mkl.conv.fp32_precision = saved[1], saved[2]


def denormals_flushed() -> bool:
    """Whether this thread flushes denormals now: torch can set the flag but not read it, so a
    denormal is multiplied and checked (flushing zeroes the input, the result, or both)."""
    tiny = torch.tensor(1e-310, dtype=torch.float64)
    return bool((tiny * 1.0).item() == 0.0)


class FlushDenormals:
    """`with scope:` flushes denormals to zero; leaving restores the state found at construction.

    A class rather than a generator context manager: TD3 enters it once per env step, and the
    two `set_flush_denormal` calls cost well under a microsecond."""

    def __init__(self) -> None:
        self.outside = denormals_flushed()

    def __enter__(self) -> None:
        torch.set_flush_denormal(True)

    def __exit__(self, *exc: object) -> None:
        torch.set_flush_denormal(self.outside)
