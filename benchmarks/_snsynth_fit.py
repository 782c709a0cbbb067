"""Fit a smartnoise-synth synthesizer on a discretised CSV and write its samples (run in the
venv that holds smartnoise-synth; called by bench_dp.py).

    python _snsynth_fit.py mst 1.0 1e-6 train.csv out.csv result.json ['{"rounds": 24}']

The optional last argument is a JSON object of keyword arguments for the synthesizer.
"""

import json
import sys
import time

import pandas as pd
from snsynth import Synthesizer

kind, epsilon, delta, src, out, result = sys.argv[1:7]
options = json.loads(sys.argv[7]) if len(sys.argv) > 7 else {}
data = pd.read_csv(src, dtype=str, keep_default_na=False)
synth = Synthesizer.create(kind, epsilon=float(epsilon), delta=float(delta), **options)
t = time.perf_counter()
synth.fit(data, categorical_columns=list(data.columns), preprocessor_eps=0.0)
fit_s = time.perf_counter() - t
t = time.perf_counter()
rows = synth.sample(len(data))
sample_s = time.perf_counter() - t
rows.to_csv(out + ".part", index=False)
import os  # noqa: E402

os.replace(out + ".part", out)
with open(result, "w") as fh:
    json.dump({"fit_s": fit_s, "sample_s": sample_s}, fh)
