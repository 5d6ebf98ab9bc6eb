"""The model's core, with no knowledge of files, graphs' origins or scenarios: the states,
acquisition sources and random-draw purposes (`stages`), counter-based random streams (`rng`),
the per-run arrays (`state`), the compiled kernels of one week (`kernels`, numbered like
docs/model.md section 4), per-run KPIs (`metrics`) and the KPI table every layer reads (`kpis`),
and the atomic file writes every layer uses (`files`). It may import nothing from `sim` outside
itself, and this `__init__` imports nothing, so that reading the KPI table or writing a file does
not compile a kernel.
"""
