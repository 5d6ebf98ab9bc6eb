"""Atomic operations on integer arrays inside the Numba kernels.

Several threads may add to one element at once; integer addition is exact and commutative, so the
sum does not depend on their order, and results stay bit-identical at any number of threads (the
talk push's fixed-point pressure, the share delivery's inbox sums). Compare-and-swap lets threads
agree on one value by a rule that does not depend on their order (the share delivery's recruiter:
the smallest draw).
"""

from __future__ import annotations

from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

_INDEX = (types.Integer, types.IntEnumMember)  # an IntEnum member indexes as its value


def _typed(array, index) -> bool:
    """An integer array indexed by an integer (1-D) or a tuple of as many integers."""
    if not (isinstance(array, types.Array) and isinstance(array.dtype, types.Integer)):
        return False
    if isinstance(index, types.BaseTuple):
        return len(index) == array.ndim and all(isinstance(i, _INDEX) for i in index)
    return array.ndim == 1 and isinstance(index, _INDEX)


def _pointer(context, builder, array_type, array, index_type, index):
    data = context.make_array(array_type)(context, builder, array)
    if isinstance(index_type, types.BaseTuple):
        values = cgutils.unpack_tuple(builder, index, len(index_type))
        indices = [context.cast(builder, value, kind, types.intp)
                   for value, kind in zip(values, index_type, strict=True)]
    else:
        indices = [context.cast(builder, index, index_type, types.intp)]
    return cgutils.get_item_pointer(context, builder, array_type, data, indices, wraparound=False)


@intrinsic
def atomic_add(_typingctx, array, index, value):
    """array[index] += value as one atomic instruction; returns the value before. `index` is an
    integer, or a tuple of integers for an array of more dimensions."""
    if not _typed(array, index):
        return None

    def codegen(context, builder, sig, args):
        array_type, index_type, value_type = sig.args
        pointer = _pointer(context, builder, array_type, args[0], index_type, args[1])
        addend = context.cast(builder, args[2], value_type, array_type.dtype)
        return builder.atomic_rmw("add", pointer, addend, "monotonic")

    return array.dtype(array, index, value), codegen


@intrinsic
def compare_and_swap(_typingctx, array, index, expected, new):
    """If array[index] holds `expected`, replace it by `new`, as one atomic instruction; returns
    the value found (`expected` when the swap happened)."""
    if not _typed(array, index):
        return None

    def codegen(context, builder, sig, args):
        array_type, index_type, expected_type, new_type = sig.args
        pointer = _pointer(context, builder, array_type, args[0], index_type, args[1])
        old = context.cast(builder, args[2], expected_type, array_type.dtype)
        value = context.cast(builder, args[3], new_type, array_type.dtype)
        found = builder.cmpxchg(pointer, old, value, "monotonic", "monotonic")
        return builder.extract_value(found, 0)

    return array.dtype(array, index, expected, new), codegen
