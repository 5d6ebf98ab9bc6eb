"""Everything a person looks at: the figures (`figures/`, one module per kind of figure, one home
for their style), the HTML reports and their templates (`report`, `report_comparison`,
`report_text`, `templates/`), the terminal tables (`tables`: one printer) and a whole run folder
(`run_folder`: tables, figures and report in one atomic write). It may import `sim.analysis`,
`sim.run`, `sim.scenario`, `sim.graph` and `sim.core`, not `sim.mesa` (its sibling) nor `sim.app`.
"""
