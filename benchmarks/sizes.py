"""Benchmark sizes and their seeded sample data.

Each size is the bundled sample generator at a number of accounts; the
other tables scale with it (about 3 opportunities and, on the default
36-month window, about 150 touchpoints per account). The large and huge
sizes draw touches at 0.65 times that rate, so they have the 100
touchpoints per account of the sizes the benchmark targets are set for.
Data is written once under ``benchmarks/data/<size>/`` and reused while
the generator's arguments stay the same.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from acctlib import sample

BENCH_DIR = Path(__file__).resolve().parent
DATA_DIR = BENCH_DIR / "data"
RESULTS_DIR = BENCH_DIR / "results"


@dataclass(frozen=True)
class Size:
    """One benchmark size: accounts generated, file format and touch rate."""

    name: str
    accounts: int
    file_format: str
    seed: int = sample.DEFAULT_SEED
    touch_scale: float = 1.0


SIZES = {
    "sample": Size("sample", 2_000, "csv"),
    "large": Size("large", 100_000, "parquet", touch_scale=0.65),
    "huge": Size("huge", 1_000_000, "parquet", touch_scale=0.65),
}
"""Sizes by name. ``huge`` runs only with ``--huge``."""


def ensure_data(size: Size) -> tuple[Path, dict[str, int], float | None]:
    """Write the size's sample data unless an identical copy exists.

    Returns the data folder, the rows per table and the seconds spent
    generating (None when the data was reused).
    """
    folder = DATA_DIR / size.name
    stamp = folder / "benchmark-size.json"
    if stamp.is_file():
        recorded = json.loads(stamp.read_text(encoding="utf-8"))
        if recorded["size"] == asdict(size):
            return folder, recorded["rows"], None

    started = time.perf_counter()
    rows = sample.write_sample(
        folder,
        accounts=size.accounts,
        seed=size.seed,
        file_format=size.file_format,
        touch_scale=size.touch_scale,
    )
    elapsed = time.perf_counter() - started
    for stale in folder.glob("*.*"):
        if (
            stale.suffix in (".csv", ".parquet")
            and stale.suffix[1:] != size.file_format
        ):
            stale.unlink()
    stamp.write_text(
        json.dumps({"size": asdict(size), "rows": rows}, indent=2), encoding="utf-8"
    )
    return folder, rows, elapsed
