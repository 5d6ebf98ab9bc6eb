"""Sweeps: many runs of the model, resumable, local or on a Dask cluster (DESIGN.md principle 6;
`womsim sweep`).

An experiment file names a base scenario, the keys to vary over a design and what to keep
(`experiment`, its format; `design`, the grid, LHS, Sobol and Morris samplers). A run is
identified by (point, replicate); every point's replicate r uses the same seed (common random
numbers), so differences between points are not noise between seeds. Runs go through a
`concurrent.futures` executor (`executor`: this process, local worker processes; `cluster`: a
Dask cluster), each executed by `worker`, which keeps the graphs it built. Results stream into the
output folder's Parquet parts and manifest (`store`); running the same sweep again computes only
the runs not yet done, the failed ones included (`runner`).

A run that raises is recorded as failed (error and seed) and the sweep goes on; `rerun` runs one
in the foreground with its traceback.

It may import `sim.run`, `sim.scenario`, `sim.graph` and `sim.core` (Dask only in `cluster`,
when a scheduler is given); nothing in `sim.analysis` outside it imports its modules but
`sensitivity`, which sweeps a design.
"""

from sim.analysis.sweep.design import Design, Factor
from sim.analysis.sweep.experiment import Experiment
from sim.analysis.sweep.runner import failure_message, rerun, run_sweep
from sim.analysis.sweep.store import (
    MANIFEST,
    PART_RUNS,
    SweepResult,
    SweepTables,
    load_sweep,
    runs_of,
)

__all__ = ["MANIFEST", "PART_RUNS", "Design", "Experiment", "Factor", "SweepResult",
           "SweepTables", "failure_message", "load_sweep", "rerun", "run_sweep", "runs_of"]
