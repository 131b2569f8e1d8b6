"""Convolution geometry: one typed object for shapes, padding and output sizes.

The engine (direct, im2col, backward, transposed) and the cost formulas all build a
`ConvGeometry` and read sizes from it, so output-size arithmetic lives in one place.

Output size per spatial dimension (PyTorch ``Conv2d`` docs; Dumoulin & Visin, "A guide to
convolution arithmetic for deep learning", arXiv:1603.07285, relationship 15)::

    out = floor((in + pad_lo + pad_hi - dilation * (kernel - 1) - 1) / stride) + 1

and for the transposed convolution (the same guide, relationship 14 generalised; PyTorch
``ConvTranspose2d`` docs)::

    out = (in - 1) * stride - pad_lo - pad_hi + dilation * (kernel - 1) + output_padding + 1
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Union

from flopcount.errors import ConvError

__all__ = ["ConvGeometry", "Layout", "PaddingArg", "normalize_padding"]

Layout = Literal["channels_first", "channels_last"]
PaddingArg = Union[int, str, Sequence[int], Sequence[Sequence[int]]]
IntOrTuple = Union[int, Sequence[int]]


def _per_dim(value: IntOrTuple, ndim: int, name: str, minimum: int) -> tuple[int, ...]:
    vals = (value,) * ndim if isinstance(value, int) else tuple(value)
    if len(vals) != ndim or not all(isinstance(v, int) and not isinstance(v, bool) for v in vals):
        raise ConvError(f"{name}={value!r}: give one int or {ndim} ints (one per spatial dim)")
    if any(v < minimum for v in vals):
        raise ConvError(f"{name}={value!r}: every value must be >= {minimum}")
    return vals


def normalize_padding(
    padding: PaddingArg,
    in_spatial: Sequence[int],
    kernel: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
) -> tuple[tuple[int, int], ...]:
    """Padding as one ``(lo, hi)`` pair per spatial dimension.

    Accepts an int, one int per dimension, one ``(lo, hi)`` pair per dimension, ``"valid"``
    (no padding) or ``"same"`` (output size ``ceil(in / stride)``, the extra pixel on the high
    side: TensorFlow's and ONNX's ``SAME_UPPER`` rule).
    """
    ndim = len(in_spatial)
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return ((0, 0),) * ndim
        if mode == "same":
            pairs = []
            for size, k, s, d in zip(in_spatial, kernel, stride, dilation):
                total = max((math.ceil(size / s) - 1) * s + d * (k - 1) + 1 - size, 0)
                pairs.append((total // 2, total - total // 2))
            return tuple(pairs)
        raise ConvError(f"padding={padding!r}: use an int, a tuple, 'same' or 'valid'")
    if isinstance(padding, int) or (
        not isinstance(padding, str) and all(isinstance(p, int) for p in padding)
    ):
        flat = _per_dim(padding, ndim, "padding", 0)  # type: ignore[arg-type]
        return tuple((p, p) for p in flat)
    pairs_in = [tuple(p) for p in padding]  # type: ignore[arg-type]
    if len(pairs_in) != ndim or any(len(p) != 2 for p in pairs_in):
        raise ConvError(f"padding={padding!r}: give {ndim} (lo, hi) pairs, one per spatial dim")
    if any(v < 0 for p in pairs_in for v in p):
        raise ConvError(f"padding={padding!r}: padding must be >= 0")
    return tuple((int(p[0]), int(p[1])) for p in pairs_in)


@dataclass(frozen=True, slots=True)
class ConvGeometry:
    """Shapes of one (possibly transposed, grouped, dilated) N-d convolution.

    Channels are the *convolution's* input and output channels: for a transposed convolution
    ``in_channels`` is the channels of its input ``x`` and ``out_channels`` those of its output.
    """

    batch: int
    in_channels: int
    out_channels: int
    in_spatial: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[tuple[int, int], ...]
    dilation: tuple[int, ...]
    groups: int = 1
    transposed: bool = False
    output_padding: tuple[int, ...] = ()

    @property
    def ndim(self) -> int:
        """Number of spatial dimensions (1, 2 or 3)."""
        return len(self.in_spatial)

    @property
    def out_spatial(self) -> tuple[int, ...]:
        """Output spatial size (formulas in the module docstring)."""
        dims = zip(self.in_spatial, self.kernel, self.stride, self.padding, self.dilation)
        if self.transposed:
            opad = self.output_padding or (0,) * self.ndim
            return tuple(
                (i - 1) * s - lo - hi + d * (k - 1) + op + 1
                for (i, k, s, (lo, hi), d), op in zip(dims, opad)
            )
        return tuple((i + lo + hi - d * (k - 1) - 1) // s + 1 for i, k, s, (lo, hi), d in dims)

    @property
    def kernel_volume(self) -> int:
        return math.prod(self.kernel)

    @property
    def macs(self) -> int:
        """Multiply-accumulates: each output of a group sums kernel_volume * C_in/groups products.

        For a transposed convolution every *input* element scatters into kernel_volume *
        C_out/groups outputs, so the count uses the input positions: equal to the forward conv
        whose input-gradient it is (popular counters use the output positions and get up to
        stride**ndim times too much).
        """
        if self.transposed:
            positions = self.batch * math.prod(self.in_spatial)
            return (
                positions
                * self.in_channels
                * (self.out_channels // self.groups)
                * (self.kernel_volume)
            )
        positions = self.batch * math.prod(self.out_spatial)
        return (
            positions * self.out_channels * (self.in_channels // self.groups) * (self.kernel_volume)
        )

    @property
    def output_elements(self) -> int:
        return self.batch * self.out_channels * math.prod(self.out_spatial)

    @classmethod
    def from_shapes(
        cls,
        x_shape: Sequence[int],
        w_shape: Sequence[int],
        *,
        stride: IntOrTuple = 1,
        padding: PaddingArg = 0,
        dilation: IntOrTuple = 1,
        groups: int = 1,
        layout: Layout = "channels_first",
        transposed: bool = False,
        output_padding: IntOrTuple = 0,
    ) -> ConvGeometry:
        """Validate and normalise a convolution given array shapes; raise `ConvError` if invalid.

        Shapes: ``x`` is (N, C_in, *spatial) or (N, *spatial, C_in) by ``layout``; ``w`` is
        (C_out, C_in/groups, *kernel) / (*kernel, C_in/groups, C_out) for a convolution and
        (C_in, C_out/groups, *kernel) / (*kernel, C_out/groups, C_in) when ``transposed``.
        Valid geometries are memoised (the object is frozen): a layer called again skips the
        checks, which cost about as much as the GEMM of a small layer.
        """
        args = (tuple(x_shape), tuple(w_shape), stride, padding, dilation, groups, layout,
                output_padding, transposed)  # fmt: skip
        if _exact(args[:-1]) and type(transposed) is bool:
            return _memoised(*args)
        return cls._validated(*args)  # type: ignore[arg-type]

    @classmethod
    def _validated(
        cls,
        x_shape: tuple[int, ...],
        w_shape: tuple[int, ...],
        stride: IntOrTuple,
        padding: PaddingArg,
        dilation: IntOrTuple,
        groups: int,
        layout: Layout,
        output_padding: IntOrTuple,
        transposed: bool,
    ) -> ConvGeometry:
        """`from_shapes` without the memo."""
        if layout not in ("channels_first", "channels_last"):
            raise ConvError(f"layout={layout!r}: use 'channels_first' or 'channels_last'")
        if len(x_shape) not in (3, 4, 5):
            raise ConvError(
                f"input x has shape {x_shape} (rank {len(x_shape)}): expected rank 3, 4 or 5 "
                "(batch, channels and 1-3 spatial dims); add a batch dim for a single sample"
            )
        if len(w_shape) != len(x_shape):
            raise ConvError(
                f"weight w has shape {w_shape} (rank {len(w_shape)}) but input x has rank "
                f"{len(x_shape)}: they must have the same rank"
            )
        if math.prod(x_shape) == 0 or math.prod(w_shape) == 0:
            raise ConvError(f"empty array: x {x_shape}, w {w_shape}; every dim must be >= 1")
        if not isinstance(groups, int) or groups < 1:
            raise ConvError(f"groups={groups!r} must be a positive int")
        ndim = len(x_shape) - 2
        if layout == "channels_first":
            batch, c_x, spatial = x_shape[0], x_shape[1], x_shape[2:]
            w_a, w_b, kernel = w_shape[0], w_shape[1], w_shape[2:]
        else:
            batch, c_x, spatial = x_shape[0], x_shape[-1], x_shape[1:-1]
            w_b, w_a, kernel = w_shape[-2], w_shape[-1], w_shape[:-2]
        # w_a: C_out (conv) or C_in (transposed); w_b: C_in/groups or C_out/groups.
        stride_t = _per_dim(stride, ndim, "stride", 1)
        dilation_t = _per_dim(dilation, ndim, "dilation", 1)
        if c_x % groups:
            raise ConvError(f"groups={groups} does not divide the {c_x} input channels of x")
        if transposed:
            if w_a != c_x:
                raise ConvError(
                    f"channel mismatch: x {x_shape} has {c_x} channels but transposed-conv "
                    f"weight {w_shape} expects {w_a} input channels"
                )
            c_in, c_out = c_x, w_b * groups
        else:
            if w_b * groups != c_x:
                raise ConvError(
                    f"channel mismatch: x {x_shape} has {c_x} channels but weight {w_shape} "
                    f"expects {w_b} per group x {groups} groups = {w_b * groups}"
                )
            if w_a % groups:
                raise ConvError(
                    f"groups={groups} does not divide the {w_a} output channels of w {w_shape}"
                )
            c_in, c_out = c_x, w_a
        pads = normalize_padding(padding, spatial, kernel, stride_t, dilation_t)
        out_pad = _per_dim(output_padding, ndim, "output_padding", 0)
        if not transposed and any(out_pad):
            raise ConvError("output_padding applies to transposed convolutions only")
        for axis, (o, s, d) in enumerate(zip(out_pad, stride_t, dilation_t)):
            if o >= max(s, d):
                raise ConvError(
                    f"output_padding={out_pad} on spatial dim {axis} must be smaller than "
                    f"stride ({s}) or dilation ({d})"
                )
        geo = cls(
            batch=batch,
            in_channels=c_in,
            out_channels=c_out,
            in_spatial=tuple(spatial),
            kernel=tuple(kernel),
            stride=stride_t,
            padding=pads,
            dilation=dilation_t,
            groups=groups,
            transposed=transposed,
            output_padding=out_pad if transposed else (),
        )
        geo._check_fits(x_shape, w_shape)
        return geo

    def _check_fits(self, x_shape: tuple[int, ...], w_shape: tuple[int, ...]) -> None:
        for axis, (i, k, (lo, hi), d) in enumerate(
            zip(self.in_spatial, self.kernel, self.padding, self.dilation)
        ):
            span = d * (k - 1) + 1
            if not self.transposed and span > i + lo + hi:
                raise ConvError(
                    f"kernel larger than the padded input on spatial dim {axis}: dilated kernel "
                    f"spans {span} but the input is {i} + padding {lo}+{hi} = {i + lo + hi} "
                    f"(x {x_shape}, w {w_shape}); pad more or use a smaller kernel"
                )
        if any(o < 1 for o in self.out_spatial):
            raise ConvError(
                f"output would be empty ({self.out_spatial}) for x {x_shape}, w {w_shape}, "
                f"padding {self.padding}: reduce the padding"
            )


def _exact(values: tuple[object, ...]) -> bool:
    """Every value an int, a str, or a tuple of them (nested). Such arguments compare equal
    only when they are the same values of the same types (``1 == True == np.int64(1)``
    otherwise), so a memo hit stands for a call that validation accepted."""
    for value in values:
        kind = type(value)
        if not (kind is int or kind is str or (kind is tuple and _exact(value))):  # type: ignore[arg-type]
            return False
    return True


@functools.lru_cache(maxsize=1024)
def _memoised(*args: Any) -> ConvGeometry:
    """`ConvGeometry._validated`, memoised (the geometry is frozen; errors are not cached)."""
    return ConvGeometry._validated(*args)
