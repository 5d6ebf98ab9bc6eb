"""The Mesa face of the simulator: `WomModel(mesa.Model)` and `Customer(mesa.Agent)` over one
engine run, for `mesa.batch_run`, notebooks and the dashboard (`model`). It may import
`sim.run`, `sim.scenario`, `sim.graph` and `sim.core` (it stands beside `sim.present`, not on
it); nothing below it imports Mesa, so the engine runs without it.
"""
