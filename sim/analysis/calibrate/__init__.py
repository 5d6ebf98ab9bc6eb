"""Calibration: fit scenario parameters to observed adoption, and measure how well they fit
(`womsim calibrate`; docs/calibration.md).

The data, an aggregate adoption series or per-customer adoption times on the scenario's edge
list, is read by `sim.analysis.calibrate.data` (its docstring gives the two shapes of CSV and the
time units); per-customer data scores the customers listed only (the others are simulated, and
talk). The simulated cumulative adoption after w whole weeks is the count of adopters in weeks
0..w-1; at an observed time T weeks it is interpolated linearly between w = floor(T) and
w = ceil(T).

The fit minimises the RMSE, in percentage points of the population (all customers for aggregate
data, the customers listed for per-customer data), between the observed cumulative adoption and
the mean over replicates of the simulated one at the observed times (those up to the training
cut, when one is given; the rest are then forecast). Every candidate runs with the same
replicate seeds (common random numbers), so two candidates differ by what their parameters
change, not by fresh noise. Without keys named, innovation, imitation and market potential are
fitted (and market mixing on an edge list), rates on a log scale over wide ranges. The search
(`search`) scores a scrambled Sobol design over the ranges, then polishes its two best separated
points by bounded Nelder-Mead, stopping at a tolerance set against the Monte-Carlo error; a fit
within 2% of an end of its range is warned about, and the keys' identifiability at the fit is
reported. The uncertainty interval comes from refits (Nelder-Mead from the fit) over bootstrap
resamples of the replicate set: it is the Monte-Carlo uncertainty of the fit, how far the values
move with the luck of the replicates, not the sampling error of the data. Beside the fit stand
the closed-form Bass least-squares fits of the same points (`sim.analysis.bass`), with m = 100%
and with m fitted, so a reader sees whether the model earns its keep.

Modules: `data` reads the observed curve, `keys` what is fitted, `runs` simulates candidates,
`search` holds the search stages, `fit` runs the calibration, `result` holds the outcome and its
tables. The figure and the output folder are drawn and written by
`sim.present.figures.calibration`, and the command is
`sim.app.commands.calibrate`. It may import `sim.analysis.bass`, `sim.run`, `sim.scenario`,
`sim.graph` and `sim.core`.
"""

from sim.analysis.calibrate.data import (
    AGGREGATE_VALUE_COLUMNS,
    PER_CUSTOMER_TIME_COLUMNS,
    WEEKS_PER_UNIT,
    ObservedData,
    load_data,
)
from sim.analysis.calibrate.fit import DEFAULT_REFITS, OBJECTIVES, calibrate
from sim.analysis.calibrate.keys import FitKey, default_fit, parse_fit
from sim.analysis.calibrate.result import OUTPUT_FILES, CalibrationResult
from sim.analysis.calibrate.runs import adoption_counts

__all__ = [
    "AGGREGATE_VALUE_COLUMNS",
    "DEFAULT_REFITS",
    "OBJECTIVES",
    "OUTPUT_FILES",
    "PER_CUSTOMER_TIME_COLUMNS",
    "WEEKS_PER_UNIT",
    "CalibrationResult",
    "FitKey",
    "ObservedData",
    "adoption_counts",
    "calibrate",
    "default_fit",
    "load_data",
    "parse_fit",
]
