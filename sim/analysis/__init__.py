"""What is done with many runs: paired comparison of scenarios (`compare`), sweeps over an
experiment's design (`sweep/`), global sensitivity analysis (`sensitivity`), calibration to
observed adoption (`calibrate/`), the Bass curve and its fit (`bass`) and the analytic results the
simulator is checked against (`analytic`). It may import `sim.run`, `sim.scenario`, `sim.graph`
and `sim.core`; it draws nothing and prints nothing (figures, reports and tables are
`sim.present`'s).
"""
