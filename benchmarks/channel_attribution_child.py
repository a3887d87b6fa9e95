"""Time ChannelAttribution's markov_model on exported journey paths.

Runs in a scratch environment that has ChannelAttribution (GPL, never an
acctlib dependency) and pandas::

    /path/to/scratch/bin/python channel_attribution_child.py PATHS_CSV [OUT_CSV]

``PATHS_CSV`` has the columns ``path`` (channels joined by " > "),
``conversions`` and ``nulls``. Prints the seconds markov_model took and,
with ``OUT_CSV``, writes its result (``channel_name``,
``total_conversions``) there.
"""

import sys
import time

import pandas as pd
from ChannelAttribution import markov_model

paths = pd.read_csv(sys.argv[1])
started = time.perf_counter()
result = markov_model(
    paths,
    var_path="path",
    var_conv="conversions",
    var_null="nulls",
    order=1,
    sep=">",
    verbose=0,
)
seconds = time.perf_counter() - started
if len(sys.argv) > 2:
    result.to_csv(sys.argv[2], index=False)
print(round(seconds, 3))
