"""The dlt side of the sync benchmark: page the local Stripe server into dlt's duckdb destination.

    .venv-bench/bin/python bench/dlt_stripe.py BASE_URL FOLDER [--write-disposition merge|append]
                                              [--loader-file-format insert_values|parquet|jsonl]

Written the way dlt's documentation shows a REST API resource: a `@dlt.resource` generator
over dlt's own `RESTClient` with a small paginator for Stripe's `starting_after` cursor,
`primary_key="id"` and, by default, `write_disposition="merge"` (an upsert, which is what
csconnect does; `append` is dlt's fastest mode). Everything else is dlt's default:
extract to files, normalize (nested objects flattened into columns, lists into child
tables), load into duckdb; `--loader-file-format parquet` (needs pyarrow) is the faster
way dlt's duckdb documentation offers. Telemetry is off and all of dlt's files stay inside FOLDER.
Prints one JSON line: the rows in the destination's `customers` table.

This runs in its own virtual environment (.venv-bench, made by `make bench`), never in
csconnect's: dlt is only a yardstick.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("base_url")
    ap.add_argument("folder", type=Path)
    ap.add_argument("--write-disposition", default="merge", choices=("merge", "append"))
    ap.add_argument("--loader-file-format", choices=("insert_values", "parquet", "jsonl"),
                    help="how dlt hands files to duckdb (default: dlt's own choice, insert_values)")
    args = ap.parse_args()
    args.folder.mkdir(parents=True, exist_ok=True)
    os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"          # no network
    os.environ["DLT_DATA_DIR"] = str(args.folder / "dlt-data")
    os.environ["DLT_PROJECT_DIR"] = str(args.folder)

    import dlt
    from dlt.sources.helpers.rest_client import RESTClient
    from dlt.sources.helpers.rest_client.auth import BearerTokenAuth
    from dlt.sources.helpers.rest_client.paginators import BasePaginator

    class StripePaginator(BasePaginator):
        """Stripe lists: `has_more`, and the next page starts after the last object's id."""

        def __init__(self) -> None:
            super().__init__()
            self.after: str | None = None

        def update_state(self, response, data=None) -> None:  # type: ignore[no-untyped-def]
            body = response.json()
            if body.get("has_more") and body.get("data"):
                self.after = body["data"][-1]["id"]
            else:
                self._has_next_page = False

        def update_request(self, request) -> None:  # type: ignore[no-untyped-def]
            request.params["starting_after"] = self.after

    client = RESTClient(base_url=args.base_url, auth=BearerTokenAuth("rk_test_bench"),
                        headers={"Stripe-Version": "2025-08-27.basil"}, paginator=StripePaginator(),
                        data_selector="data")

    @dlt.resource(name="customers", primary_key="id", write_disposition=args.write_disposition)
    def customers():  # type: ignore[no-untyped-def]
        yield from client.paginate("/v1/customers", params={"limit": 100})

    pipeline = dlt.pipeline(pipeline_name="stripe_bench", pipelines_dir=str(args.folder / "pipelines"),
                            destination=dlt.destinations.duckdb(str(args.folder / "bench.duckdb")),
                            dataset_name="stripe", progress=None)
    info = pipeline.run(customers(), loader_file_format=args.loader_file_format)
    info.raise_on_failed_jobs()
    with pipeline.sql_client() as sql:
        rows = sql.execute_sql("SELECT count(*) FROM customers")[0][0]
        tables = [r[0] for r in sql.execute_sql(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'stripe' "
            "AND table_name NOT LIKE '_dlt%' ORDER BY 1")]
    print(json.dumps({"rows": rows, "tables": tables}))


if __name__ == "__main__":
    sys.exit(main())
