"""UK registrations: generation, validation and decoding speed against plain-Python loops.

Each vectorised synthgen call is timed against a per-plate Python loop doing the same job
in the same run (``random.choice`` per character for generation, ``is_valid`` per plate for
validation, a scoring loop over every valid tag and identifier for strict decoding), and the
generated marks' region shares are compared with the uniform distribution by chi-square.

Run: python benchmarks/bench_ukreg.py [--quick]
"""

from __future__ import annotations

import argparse
import random
from collections import Counter

import numpy as np
from scipy import stats

from _machine import best_of, write_result

ON = "2026-11-22"


def python_generate(n: int, seed: int) -> list[str]:
    """The obvious per-plate loop: pick a tag, an identifier and three letters."""
    from synthgen.vectorisers import ukreg_rules as R

    rnd = random.Random(seed)
    tags = R.TAGS
    ages = [R.age_label(a) for a in R.valid_ages(ON)]
    letters = R.RANDOM_LETTERS
    return [rnd.choice(tags) + rnd.choice(ages) + "".join(rnd.choice(letters) for _ in range(3))
            for _ in range(n)]


def bench_generate(n: int) -> dict:
    from synthgen.vectorisers import ukreg_rules as R

    t_vec, plates = best_of(lambda: R.generate(n, seed=0, on=ON))
    t_py, ref = best_of(lambda: python_generate(n, 0))
    assert R.valid_mask(plates, ON).all() and R.valid_mask(ref, ON).all()
    table = R.tag_table()
    region_of = dict(zip(table.tags, table.regions))
    n_tags = Counter(table.regions)
    seen = Counter(region_of[p[:2]] for p in plates)
    regions = list(n_tags)
    expected = np.array([n_tags[r] for r in regions]) / len(table.tags) * n
    p_value = float(stats.chisquare([seen[r] for r in regions], expected).pvalue)
    row = {"n": n, "synthgen_s": t_vec, "python_loop_s": t_py, "speedup": t_py / t_vec,
           "tags_covered": len({p[:2] for p in plates}),
           "ages_covered": len({p[2:4] for p in plates}), "region_chi2_p": p_value}
    print(f"generate {n:,}: synthgen {t_vec * 1e3:.1f} ms, Python loop {t_py * 1e3:.1f} ms, "
          f"{row['speedup']:.1f}x; tags {row['tags_covered']}, ages {row['ages_covered']}, "
          f"region chi-square p={p_value:.3f}")
    return row


def bench_validate(n: int) -> dict:
    from synthgen.vectorisers import ukreg_rules as R

    plates = R.generate(n, seed=1, on=ON)
    plates[::7] = [p[:5] + "I" + p[6:] for p in plates[::7]]
    t_vec, mask = best_of(lambda: R.valid_mask(plates, ON))
    t_py, ref = best_of(lambda: [R.is_valid(p, ON) for p in plates])
    assert mask.tolist() == ref
    row = {"n": n, "valid_mask_s": t_vec, "is_valid_loop_s": t_py, "speedup": t_py / t_vec}
    print(f"validate {n:,}: valid_mask {t_vec * 1e3:.1f} ms, is_valid loop {t_py * 1e3:.1f} ms, "
          f"{row['speedup']:.1f}x")
    return row


def python_strict(vec, X: np.ndarray) -> list[str]:
    """Strict decoding one row at a time: score every valid tag and identifier in Python."""
    from synthgen.vectorisers import ukreg_rules as R

    b, a = vec.blocks_, vec.alphabets_
    tags = [(t, b[0].start + a[0].index(t[0]), b[1].start + a[1].index(t[1])) for t in R.TAGS]
    ages = [(s, b[2].start + a[2].index(s[0]), b[3].start + a[3].index(s[1]))
            for s in map(R.age_label, R.valid_ages(vec.on_))]
    out = []
    for row in X:
        tag = max(tags, key=lambda t: row[t[1]] + row[t[2]])[0]
        age = max(ages, key=lambda s: row[s[1]] + row[s[2]])[0]
        letters = "".join(a[p][int(np.argmax(row[b[p].start:b[p].stop]))] for p in range(4, 7))
        out.append(tag + age + letters)
    return out


def bench_decode(n: int, n_loop: int) -> dict:
    from synthgen.vectorisers import ukreg_rules as R
    from synthgen.vectorisers.ukreg import UkRegVectoriser

    plates = R.generate(n, seed=2, on=ON)
    vec = UkRegVectoriser(on=ON).fit(plates)
    t_tr, X = best_of(lambda: vec.transform(plates))
    Z = X + np.random.default_rng(0).normal(scale=0.5, size=X.shape).astype(np.float32)
    t_loose, _ = best_of(lambda: vec.inverse_transform(Z))
    t_strict, strict = best_of(lambda: vec.inverse_transform(Z, strict=True))
    t_py, ref = best_of(lambda: python_strict(vec, Z[:n_loop]), repeat=1)
    assert strict[:n_loop] == ref and R.valid_mask(strict, ON).all()
    t_py_full = t_py * n / n_loop
    row = {"n": n, "transform_s": t_tr, "inverse_s": t_loose, "inverse_strict_s": t_strict,
           "python_strict_loop_s": t_py_full, "python_loop_extrapolated_from": n_loop,
           "strict_speedup": t_py_full / t_strict}
    print(f"vectoriser {n:,}: transform {t_tr * 1e3:.1f} ms, inverse {t_loose * 1e3:.1f} ms, "
          f"strict inverse {t_strict * 1e3:.1f} ms vs Python loop {t_py_full:.2f} s "
          f"(from {n_loop:,} rows), {row['strict_speedup']:.0f}x")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    args = parser.parse_args()
    n = 20_000 if args.quick else 100_000
    results = {
        "generate": bench_generate(n),
        "validate": bench_validate(n),
        "decode": bench_decode(n, 1000 if args.quick else 5000),
    }
    path = write_result("ukreg", {"quick": args.quick, "on": ON, **results})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
