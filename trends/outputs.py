"""The names of the files the trend tables are written to, in the outputs folder.

Part of the contract with analysts and their scripts: outputs/README.md documents each one.
"""

# Output file names: part of the contract with analysts (see outputs/README.md).
THEME_TRENDS_MONTHLY = "theme_trends_monthly.csv"
THEME_TRENDS_WEEKLY = "theme_trends_weekly.csv"
THEME_SPIKES = "theme_spikes.csv"
THEME_COOCCURRENCE = "theme_cooccurrence.csv"
THEME_EVIDENCE = "theme_evidence.csv"
SOURCE_COVERAGE = "source_coverage.csv"
# The same tables as Parquet (typed columns, no spreadsheet quoting), for pandas, Arrow, DuckDB.
THEME_TRENDS_MONTHLY_PARQUET = "theme_trends_monthly.parquet"
THEME_TRENDS_WEEKLY_PARQUET = "theme_trends_weekly.parquet"
THEME_SPIKES_PARQUET = "theme_spikes.parquet"
THEME_COOCCURRENCE_PARQUET = "theme_cooccurrence.parquet"
THEME_EVIDENCE_PARQUET = "theme_evidence.parquet"
SOURCE_COVERAGE_PARQUET = "source_coverage.parquet"
THEME_SHARE_CHART = "theme_share_yearly.png"
THEME_SHARE_BY_SOURCE_CHART = "theme_share_by_source.png"
THEME_SHARE_RECENT_CHART = "theme_share_recent.png"
TRENDS_REPORT = "report.html"
# Columnar snapshot of one model version's predictions, so a run reads only new ones from the store.
PREDICTION_SNAPSHOTS = ".prediction_snapshots"
