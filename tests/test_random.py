"""Seeds and block keys."""

from __future__ import annotations

import numpy as np
import pytest

from synthgen.errors import InvalidParameterError
from synthgen.random import BLOCK_ROWS, block_keys, blocks_for_rows, check_seed, key_from_seed


def test_check_seed():
    assert check_seed(0) == 0 and check_seed(np.int64(7)) == 7
    for bad in (-1, 2**32, 1.0, "3", None, True):
        with pytest.raises(InvalidParameterError, match="seed must be"):
            check_seed(bad)


def test_block_keys_are_fold_ins_and_distinct():
    import jax

    key = key_from_seed(42)
    keys = np.asarray(block_keys(key, 3, 4))
    expected = np.stack([np.asarray(jax.random.fold_in(key, i)) for i in range(3, 7)])
    np.testing.assert_array_equal(keys, expected)
    assert len({tuple(k) for k in keys}) == 4


@pytest.mark.parametrize("start, stop", [(0, 1), (0, BLOCK_ROWS), (5, BLOCK_ROWS + 1), (BLOCK_ROWS, 3 * BLOCK_ROWS)])
def test_blocks_cover_the_rows(start, stop):
    first, last = blocks_for_rows(start, stop)
    assert first * BLOCK_ROWS <= start and last * BLOCK_ROWS >= stop
    assert (first + 1) * BLOCK_ROWS > start and (last - 1) * BLOCK_ROWS < stop
