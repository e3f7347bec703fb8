"""Reads every Parquet asset of a storage root as a dataset with pyarrow,
DuckDB and Polars, and prints what each saw as one JSON document:
{asset: {tool: {"rows": n, "days": n, "columns": {name: type}}}}.

Run by examples/tests/interop.rs with the venv's python; the test compares
the figures with the catalog and between the tools.
"""

import json
import os
import sys

import duckdb
import polars as pl
import pyarrow.dataset as ds


def with_pyarrow(folder):
    table = ds.dataset(folder, format="parquet", partitioning="hive").to_table()
    return {
        "rows": table.num_rows,
        "days": len(set(table.column("day").to_pylist())),
        "columns": {f.name: str(f.type) for f in table.schema},
    }


def with_duckdb(folder):
    glob = os.path.join(folder, "**", "*.parquet")
    rel = duckdb.sql(
        f"select * from read_parquet('{glob}', hive_partitioning = true)"
    )
    rows, days = duckdb.sql(
        f"select count(*), count(distinct day) from read_parquet('{glob}', hive_partitioning = true)"
    ).fetchall()[0]
    return {
        "rows": rows,
        "days": days,
        "columns": {name: str(kind) for name, kind in zip(rel.columns, rel.types)},
    }


def with_polars(folder):
    frame = pl.scan_parquet(folder + "/")
    schema = frame.collect_schema()
    rows, days = frame.select(pl.len(), pl.col("day").n_unique()).collect().row(0)
    return {
        "rows": rows,
        "days": days,
        "columns": {name: str(kind) for name, kind in schema.items()},
    }


def main():
    root, assets = sys.argv[1], sys.argv[2:]
    seen = {}
    for asset in assets:
        folder = os.path.join(root, asset)
        seen[asset] = {
            "pyarrow": with_pyarrow(folder),
            "duckdb": with_duckdb(folder),
            "polars": with_polars(folder),
        }
    json.dump(seen, sys.stdout)


main()
