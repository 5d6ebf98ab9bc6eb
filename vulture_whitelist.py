"""Names vulture cannot see used: the module __getattr__, enum members read by name, hooks called
by a framework. `vulture sim tests benchmarks experiments vulture_whitelist.py` reports nothing
(tests/test_architecture.py runs it)."""
# ruff: noqa: B018

from vulture.whitelist_utils import Whitelist

_ = Whitelist()
_.__getattr__  # the lazy public API of sim/__init__.py, called by the import system
_.STIMULUS_TALK  # history columns (Column) are named through HISTORY_COLUMNS
_.STIMULUS_SHARE
_.STIMULUS_SEED
_.ADOPTED_TALK
_.ADOPTED_SHARE
_.ADOPTED_SEED
_.cache_everything  # autouse pytest fixtures
_.compiled
_.no_simulation  # pytest fixtures used through @pytest.mark.usefixtures
_.checks_only
_.tables_only
_.handle_starttag  # html.parser.HTMLParser hooks
_.handle_endtag
_.handle_data
_.on_start  # numba.core.event.Listener hooks (benchmarks/compile_time.py)
_.on_end
