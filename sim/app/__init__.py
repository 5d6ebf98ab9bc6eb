"""The applications at the top: the `womsim` command (`cli`: argument parsing and dispatch only;
`commands/`: one module per command, which calls the layers below and prints) and the live
dashboard (`dashboard`: Mesa's SolaraViz over a `WomModel`). It may import every other layer;
nothing imports it.
"""
