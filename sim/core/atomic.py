"""Atomic addition inside the Numba kernels.

Several threads may add to one element of an integer array at once; integer addition is exact and
commutative, so the sum does not depend on their order, and results stay bit-identical at any
number of threads (the talk push's fixed-point pressure sums).
"""

from __future__ import annotations

from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


@intrinsic
def atomic_add(_typingctx, array, row, column, value):
    """array[row, column] += value as one atomic instruction (array: 2-D, integer)."""
    if not (isinstance(array, types.Array) and array.ndim == 2
            and isinstance(array.dtype, types.Integer)):
        return None
    signature = types.void(array, row, column, value)

    def codegen(context, builder, sig, args):
        array_type = sig.args[0]
        data = context.make_array(array_type)(context, builder, args[0])
        index = [context.cast(builder, args[1], sig.args[1], types.intp),
                 context.cast(builder, args[2], sig.args[2], types.intp)]
        pointer = cgutils.get_item_pointer(context, builder, array_type, data, index,
                                           wraparound=False)
        addend = context.cast(builder, args[3], sig.args[3], array_type.dtype)
        builder.atomic_rmw("add", pointer, addend, "monotonic")
        return context.get_dummy_value()

    return signature, codegen
