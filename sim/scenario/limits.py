"""The largest inputs womsim accepts (docs/reliability.md lists them): beyond these a run could
not finish or fit in memory on any machine womsim targets, so they are refused at once, with the
limit in the message, rather than failing after hours or exhausting memory.
"""

MAX_WEEKS = 10_000  # about 190 years of weekly steps
MAX_REPLICATIONS = 100_000
MAX_SEED = 2**64 - 1  # seeds are unsigned 64-bit integers (0 .. 2**64 - 1)
MAX_SWEEP_RUNS = 10_000_000  # points x replicates of one sweep
MAX_EXTENDS_DEPTH = 32  # files in one `extends` chain
MAX_NESTING = 16  # tables and lists nested in a scenario or experiment file
MAX_SCENARIO_BYTES = 10_000_000  # a scenario file is a few kilobytes; this is a runaway file
