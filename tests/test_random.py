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


def test_fit_and_sampling_keys_of_one_seed_never_coincide():
    import jax

    from synthgen.random import fit_keys, sample_key

    for seed in (0, 1, 7, 123):
        fit, stream = (np.asarray(k) for k in fit_keys(seed))
        samp = sample_key(seed)
        blocks = {tuple(np.asarray(jax.random.fold_in(samp, b))) for b in range(4)}
        stream_blocks = {tuple(np.asarray(jax.random.fold_in(stream, c))) for c in range(4)}
        keys = [tuple(fit), tuple(stream), tuple(np.asarray(samp))]
        assert len(set(keys)) == 3
        assert tuple(fit) not in blocks | stream_blocks
        assert not blocks & stream_blocks
        raw = key_from_seed(seed)
        assert tuple(fit) not in {tuple(np.asarray(k)) for k in jax.random.split(raw)}
