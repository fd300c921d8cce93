"""ropedex catalog: schema, storage, queries, rendering and the CLI."""
