"""`layerloom bench`: every benchmark of the project, one module per section.

The package sits under `studio` because some sections drive Qt, and `engine` may never import
`studio`; the `layerloom` console script (`studio.launch`) routes ``bench`` here. Sections that
measure the engine alone import only `engine` code and the standard library (an import-linter
contract in ``pyproject.toml`` keeps Qt out of them); sections that drive the studio import Qt
inside their functions. Every section is a plain function call: where a measurement needs a
fresh process (training rounds, the canvas), `studio.bench.fresh` spawns one with a function
reference, never a command string, so the import contracts see every edge.

Modules:
  - `sections`: the registry (name, help, runner) that the command line reads; add a section
    by writing a module with a ``SECTION`` and listing it there;
  - `cli`: ``layerloom bench [--only NAME ...] [--json]``: argument parsing and the report;
  - `fresh`: runs a function in a fresh spawned process, and interleaved rounds with ratio
    statistics (min, median, max, spread);
  - `networks`: the networks and data the sections measure on;
  - `inference`, `canvas`, `limit`, `telemetry_cost`, `frameworks`, `train_start`, `studio_training`:
    the sections.
"""
