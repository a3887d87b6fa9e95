"""acctlib: reproducible account-to-revenue reports from CRM exports."""

import warnings

__version__ = "0.1.0"

# When pyspark is installed, pandera 0.x tries to import pyspark.pandas
# while `pandera` and `pandera.pandas` load, and again when the first
# pandas schema registers its built-in checks. pyspark 4.3 then warns that it
# does not fully support pandas 3, and the import fails, which pandera
# ignores. acctlib runs Spark only through Ibis's SQL backend, which does
# not use pyspark.pandas, so the warning is silenced for these imports
# instead of reaching every notebook's output.
with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore",
        message="PySpark does not yet fully support pandas",
        category=FutureWarning,
    )
    import pandera  # noqa: F401
    import pandera.pandas  # noqa: F401
    from pandera.backends.pandas import builtin_checks  # noqa: F401
