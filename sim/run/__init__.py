"""Running scenarios: the engine (`engine`: one run of one scenario on its graph, stepped week by
week; it lives here, not in `sim.core`, because it joins a scenario to a graph), replications
with common random numbers (`replicates`: `simulate`), the one worker pool (`pool`) and the
tables of a run (`results`: `SimulationResult`, summaries, the tables of a run folder). It may
import `sim.core`, `sim.graph` and `sim.scenario`, never the analysis, presentation or app
layers above it.
"""
