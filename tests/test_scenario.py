"""Scenario files: defaults, `extends`, overrides, validation errors, TOML round trip, hashing."""

from __future__ import annotations

import math
import os
import pickle
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from sim.scenario import (
    Scenario,
    ScenarioError,
    memory_estimate_bytes,
    parse_assignment,
)
from sim.scenario import validate as scenario_module
from sim.scenario.schema import Event


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def load_error(path: Path, overrides=None) -> ScenarioError:
    with pytest.raises(ScenarioError) as caught:
        Scenario.load(path, overrides)
    return caught.value


def assert_one_line(error: ScenarioError, file: Path | None, key: str, line: int | None) -> None:
    """str(error) is one line "FILE:LINE: KEY: message" with the parts expected."""
    text = str(error)
    assert "\n" not in text
    assert error.key == key
    assert error.line == line
    if file is not None:
        assert error.file == file
        assert text.split(":")[0].endswith(file.name)
    prefix = f"{file.name}:{line}: " if file is not None and line else ""
    assert f"{prefix}{key}: {error.message}" in text
    assert text.endswith(error.message)


# --- defaults ------------------------------------------------------------------------------------


def test_defaults_are_model_md_numbers():
    # Numbers as written in docs/model.md sections 2-5.
    s = Scenario.default()
    assert s.market.innovation == 0.03
    assert s.market.imitation == 0.38
    assert s.sharing.base == 0.18
    assert s.media.promise == 0.85
    assert s.product.quality == 0.8
    assert s.loyalty.retention == 0.95
    assert s.loyalty.repurchase_weeks == 13
    assert s.journey.smot_weeks == 2
    assert s.journey.zmot_weeks == 2
    assert s.journey.conversion == 0.18
    assert s.journey.promise_weight == 3.0
    assert s.journey.repeat_promise_weight == 0.3
    assert (s.media.tolerance, s.media.credibility_gap) == (0.1, 0.3)
    assert (s.media.credibility_loss, s.media.credibility_gain) == (0.25, 0.01)
    assert (s.loyalty.memory_worse, s.loyalty.memory_better) == (0.5, 0.35)
    assert (s.sharing.standardise, s.sharing.prior_experiences) == ("experiences", 100.0)
    assert s.product.loss_aversion == 2.25
    assert s.sharing.reach == 1.0
    assert s.sharing.negative_recruit == 0.5
    assert s.sharing.pool_weeks == 52
    assert s.network.weak_tie_weight == 0.25
    assert s.journey.review_weight == pytest.approx(math.log(3))
    assert (s.network.kind, s.network.n, s.network.mean_degree, s.network.rewire) == (
        "watts_strogatz", 10_000, 10.0, 0.1)
    assert s.events == ()


def test_empty_file_gives_defaults_and_name_from_stem(tmp_path):
    s = Scenario.load(write(tmp_path, "my_market.toml", ""))
    assert s.name == "my_market"
    assert s.path == tmp_path / "my_market.toml"
    assert s.to_dict() == {**Scenario.default().to_dict(), "name": "my_market"}


def test_values_are_converted_to_their_stored_types(tmp_path):
    path = write(tmp_path, "x.toml", """
[loyalty]
repurchase_weeks = 10   # an int where a float is expected is fine

[network]
kind = "configuration"
degrees = [1, 2, 1]

[[events]]
kind = "seed"
week = 0
nodes = [0, 2]
""")
    s = Scenario.load(path)
    assert s.loyalty.repurchase_weeks == 10.0 and isinstance(s.loyalty.repurchase_weeks, float)
    assert s.network.degrees == (1, 2, 1)
    assert s.events == (Event(kind="seed", week=0, nodes=(0, 2), count=2),)


def test_seed_count_defaults_strategy_to_random(tmp_path):
    path = write(tmp_path, "x.toml", '[[events]]\nkind = "seed"\nweek = 3\ncount = 100\n')
    assert Scenario.load(path).events[0].strategy == "random"


# --- extends -------------------------------------------------------------------------------------


def test_extends_inherits_key_by_key_and_appends_events(tmp_path):
    write(tmp_path, "base.toml", """
name = "base"
description = "the baseline"
weeks = 104

[sharing]
base = 0.2
reach = 0.9

[[events]]
kind = "campaign"
start = 0
end = 10
spend = 500.0
""")
    (tmp_path / "what_if").mkdir()
    child = write(tmp_path / "what_if", "child.toml", """
extends = "../base.toml"

[sharing]
base = 0.3

[[events]]
kind = "quality"
start = 10
end = 20
value = 0.4
""")
    s = Scenario.load(child)
    assert s.weeks == 104
    assert (s.sharing.base, s.sharing.reach) == (0.3, 0.9)
    assert [e.kind for e in s.events] == ["campaign", "quality"]
    assert s.extends == tmp_path / "base.toml"
    # name and description describe one file: not inherited
    assert (s.name, s.description) == ("child", "")


def test_extends_chain_of_three(tmp_path):
    write(tmp_path, "a.toml", '[market]\ninnovation = 0.05\n[[events]]\nkind = "seed"\n'
                              'week = 0\ncount = 1\n')
    write(tmp_path, "b.toml", 'extends = "a.toml"\n[market]\nimitation = 0.5\n')
    c = write(tmp_path, "c.toml", 'extends = "b.toml"\n[[events]]\nkind = "seed"\nweek = 1\n'
                                  'count = 2\n')
    s = Scenario.load(c)
    assert (s.market.innovation, s.market.imitation) == (0.05, 0.5)
    assert [e.week for e in s.events] == [0, 1]


def test_extends_cycle_is_an_error_naming_the_files(tmp_path):
    a = write(tmp_path, "a.toml", 'extends = "b.toml"\n')
    b = write(tmp_path, "b.toml", '# b\nextends = "a.toml"\n')
    error = load_error(a)
    assert_one_line(error, b, "extends", 2)
    assert "cycle" in error.message
    assert "a.toml -> b.toml -> a.toml" in error.message


def test_missing_extended_file_is_an_error(tmp_path):
    path = write(tmp_path, "x.toml", 'extends = "nowhere.toml"\n')
    error = load_error(path)
    assert_one_line(error, path, "extends", 1)
    assert error.message == f"extended file not found: {tmp_path / 'nowhere.toml'}"


def test_error_in_extended_file_names_that_file_and_line(tmp_path):
    base = write(tmp_path, "base.toml", "weeks = 52\n\n[product]\nquality = 1.2\n")
    child = write(tmp_path, "child.toml", 'extends = "base.toml"\n')
    assert_one_line(load_error(child), base, "product.quality", 4)


# --- validation errors ---------------------------------------------------------------------------


def test_unknown_key_suggests_the_closest(tmp_path):
    path = write(tmp_path, "x.toml", "weeks = 52\n\n[sharing]\nbse = 0.3\n")
    error = load_error(path)
    assert_one_line(error, path, "sharing.bse", 4)
    assert error.message == "unknown key 'bse'; did you mean 'base'?"
    assert str(error).endswith("x.toml:4: sharing.bse: unknown key 'bse'; did you mean 'base'?")


def test_unknown_top_level_key_suggests_the_closest(tmp_path):
    path = write(tmp_path, "x.toml", "wekes = 52\n")
    error = load_error(path)
    assert_one_line(error, path, "wekes", 1)
    assert error.message == "unknown key 'wekes'; did you mean 'weeks'?"


def test_unknown_section_suggests_the_closest(tmp_path):
    path = write(tmp_path, "x.toml", "weeks = 52\n[netwrk]\nn = 100\n")
    error = load_error(path)
    assert_one_line(error, path, "netwrk", 2)
    assert error.message == "unknown section 'netwrk'; did you mean 'network'?"


def test_wrong_type_is_an_error(tmp_path):
    path = write(tmp_path, "x.toml", '[sharing]\nbase = "high"\n')
    error = load_error(path)
    assert_one_line(error, path, "sharing.base", 2)
    assert error.message == "expected a number, got 'high'"


@pytest.mark.parametrize("text, message", [
    ("weeks = 52.0", "expected an integer, got 52.0"),
    ("weeks = true", "expected an integer, got true"),
])
def test_integer_keys_take_only_integers(tmp_path, text, message):
    path = write(tmp_path, "x.toml", text + "\n")
    error = load_error(path)
    assert_one_line(error, path, "weeks", 1)
    assert error.message == message


def test_bool_is_never_a_number(tmp_path):
    path = write(tmp_path, "x.toml", "[sharing]\nbase = true\n")
    assert load_error(path).message == "expected a number, got true"


def test_out_of_range_probability_is_an_error(tmp_path):
    path = write(tmp_path, "x.toml", "# comment\n\n[sharing]\nmode = 'constant'\nbase = 1.5\n")
    error = load_error(path)
    assert_one_line(error, path, "sharing.base", 5)
    assert error.message == "must be between 0 and 1, got 1.5"


def test_non_positive_size_is_an_error(tmp_path):
    path = write(tmp_path, "x.toml", "[product]\nloss_aversion = 0\n")
    error = load_error(path)
    assert_one_line(error, path, "product.loss_aversion", 2)
    assert error.message == "must be > 0, got 0"


def test_network_size_must_be_positive(tmp_path):
    path = write(tmp_path, "x.toml", "[network]\nn = 0\n")
    assert load_error(path).message == "must be between 1 and 2147483647, got 0"


def test_choice_outside_the_list_is_an_error(tmp_path):
    path = write(tmp_path, "x.toml", '[sharing]\nmode = "angry"\n')
    error = load_error(path)
    assert_one_line(error, path, "sharing.mode", 2)
    assert error.message == "must be one of 'emotional', 'constant', got 'angry'"


def test_event_end_must_follow_start(tmp_path):
    path = write(tmp_path, "x.toml", """weeks = 52
[[events]]
kind = "campaign"
start = 1
end = 2
spend = 10.0

[[events]]
kind = "quality"
start = 10
end = 10
value = 0.4
""")
    error = load_error(path)
    assert_one_line(error, path, "events[1].end", 11)
    assert error.message == "must be greater than start (10), got 10"


@pytest.mark.parametrize("event, key, message", [
    ('kind = "seed"\nweek = 52\ncount = 5', "events[0].week",
     "must be less than weeks (52), got 52"),
    ('kind = "promise"\nstart = 52\nend = 60\nvalue = 0.9', "events[0].start",
     "must be less than weeks (52), got 52"),
    ('kind = "promise"\nstart = 50\nend = 53\nvalue = 0.9', "events[0].end",
     "must be at most weeks (52), got 53"),
    ('kind = "owned"\nstart = -1\nend = 3\nvalue = 0.9', "events[0].start",
     "must be >= 0, got -1"),
])
def test_event_week_outside_the_horizon_is_an_error(tmp_path, event, key, message):
    path = write(tmp_path, "x.toml", f"weeks = 52\n[[events]]\n{event}\n")
    error = load_error(path)
    assert error.key == key
    assert error.message == message
    assert error.line is not None and error.line >= 3


def test_missing_required_event_key_points_at_the_event(tmp_path):
    path = write(tmp_path, "x.toml", '[[events]]\nkind = "campaign"\nstart = 0\nend = 4\n')
    error = load_error(path)
    assert_one_line(error, path, "events[0].spend", 1)
    assert error.message == "missing required key 'spend' for a campaign event"


@pytest.mark.parametrize("event, key, message", [
    ('kind = "campain"\nstart = 0', "events[0].kind",
     "must be one of 'campaign', 'quality', 'promise', 'owned', 'seed', 'referral', got "
     "'campain'; did you mean 'campaign'?"),
    ('kind = "campaign"\nstart = 0\nend = 3\nspend = 1.0\nweek = 2', "events[0].week",
     "key 'week' is not allowed in a campaign event (allowed: brand_heaviness, end, spend, "
     "start)"),
    ('kind = "campaign"\nstart = 0\nend = 3\nspnd = 1.0', "events[0].spnd",
     "unknown key 'spnd'; did you mean 'spend'?"),
    ('kind = "seed"\nweek = 0', "events[0]", "a seed event needs 'count' or 'nodes'"),
    ('kind = "seed"\nweek = 0\ncount = 1\nstrategy = "hubs"', "events[0].strategy",
     "must be one of 'random', 'degree', 'kcore', 'betweenness', 'community', 'greedy', "
     "got 'hubs'"),
    ('kind = "referral"\nstart = 0\nend = 3', "events[0]",
     "a referral event needs 'reward' or 'boost'"),
    ('kind = "quality"\nstart = 0\nend = 3\nvalue = 1.5', "events[0].value",
     "must be between 0 and 1, got 1.5"),
    ('start = 0', "events[0].kind", "missing required key 'kind'"),
])
def test_event_errors(tmp_path, event, key, message):
    path = write(tmp_path, "x.toml", f"[[events]]\n{event}\n")
    error = load_error(path)
    assert (error.key, error.message) == (key, message)
    assert error.file == path and error.line is not None


def test_seed_nodes_must_be_customers_of_a_generated_graph(tmp_path):
    path = write(tmp_path, "x.toml", "[network]\nkind = 'erdos_renyi'\nn = 10\nmean_degree = 2\n"
                                     "[[events]]\nkind = 'seed'\nweek = 0\nnodes = [1, 10]\n")
    error = load_error(path)
    assert (error.key, error.message) == ("events[0].nodes[1]",
                                          "must be a customer id from 0 to 9, got 10")
    assert error.line == 8


def test_seed_count_takes_the_first_of_the_listed_nodes(tmp_path):
    path = write(tmp_path, "x.toml", "[[events]]\nkind = 'seed'\nweek = 0\nnodes = [4, 2, 7]\n"
                                     "count = 2\n")
    assert Scenario.load(path).events[0].count == 2
    error = load_error(path, ["events[0].count=4"])
    assert (error.key, error.message) == ("events[0].count",
                                          "must be at most the number of nodes (3), got 4")


def test_missing_edge_list_file_is_an_error(tmp_path):
    path = write(tmp_path, "x.toml", '[network]\nkind = "edgelist"\npath = "data/edges.csv"\n')
    error = load_error(path)
    assert_one_line(error, path, "network.path", 3)
    assert error.message == f"edge-list file not found: {tmp_path / 'data' / 'edges.csv'}"


def test_edge_list_requires_a_path(tmp_path):
    path = write(tmp_path, "x.toml", '[network]\nkind = "edgelist"\n')
    error = load_error(path)
    assert_one_line(error, path, "network.path", 1)
    assert error.message == "required when network.kind = 'edgelist'"


def test_edge_list_path_is_resolved_relative_to_the_file_that_set_it(tmp_path):
    (tmp_path / "data").mkdir()
    write(tmp_path / "data", "edges.csv", "0,1\n1,2\n")
    write(tmp_path, "base.toml", '[network]\nkind = "edgelist"\npath = "data/edges.csv"\n')
    (tmp_path / "sub").mkdir()
    child = write(tmp_path / "sub", "child.toml", 'extends = "../base.toml"\n')
    s = Scenario.load(child)
    assert s.network.path == str(tmp_path / "data" / "edges.csv")
    assert memory_estimate_bytes(s.network) == len("0,1\n1,2\n")


@pytest.mark.parametrize("network, key, message", [
    ("kind = 'watts_strogatz'\nmean_degree = 9", "network.mean_degree",
     "must be an even whole number less than n (10000) for watts_strogatz, got 9"),
    ("kind = 'watts_strogatz'\nn = 10\nmean_degree = 10", "network.mean_degree",
     "must be an even whole number less than n (10) for watts_strogatz, got 10"),
    ("kind = 'random_regular'\nn = 11\nmean_degree = 3", "network.mean_degree",
     "n * mean_degree must be even for random_regular, got 11 * 3"),
    ("kind = 'barabasi_albert'\nmean_degree = 3", "network.mean_degree",
     "must be 2m for a whole m with 1 <= m < n (10000) for barabasi_albert, got 3"),
    ("kind = 'configuration'", "network.degrees",
     "required when network.kind = 'configuration'"),
    ("kind = 'configuration'\ndegrees = [1, 2, 2]", "network.degrees",
     "must have an even sum, got 5"),
    ("kind = 'configuration'\ndegrees = [1, -1]", "network.degrees[1]", "must be >= 0, got -1"),
    ("n = 3_000_000_000", "network.n", "must be between 1 and 2147483647, got 3000000000"),
])
def test_impossible_graphs_are_errors(tmp_path, network, key, message):
    path = write(tmp_path, "x.toml", f"[network]\n{network}\n")
    error = load_error(path)
    assert (error.key, error.message) == (key, message)
    assert error.file == path and error.line is not None


def test_random_regular_accepts_odd_degree_when_n_is_even(tmp_path):
    path = write(tmp_path, "x.toml", "[network]\nkind = 'random_regular'\nn = 10\n"
                                     "mean_degree = 3\n")
    assert Scenario.load(path).network.mean_degree == 3.0


def test_shares_on_the_complete_graph_are_an_error(tmp_path):
    path = write(tmp_path, "x.toml", "[network]\nkind = 'complete'\nn = 100\n")
    error = load_error(path)
    assert error.key == "sharing.base"
    assert error.message == "shares are not allowed on the complete graph; set sharing.base = 0"
    s = Scenario.load(path, {"sharing.base": 0})
    assert s.network.kind == "complete"


def test_too_large_network_is_refused_before_allocating(tmp_path):
    # 2e9 customers * 72 B + 2e12 entries * 8 B = 16 TB: more than any machine has
    path = write(tmp_path, "x.toml", "[network]\nn = 2_000_000_000\nmean_degree = 1000\n")
    error = load_error(path)
    assert_one_line(error, path, "network.n", 2)
    assert error.message.startswith("a network of 2,000,000,000 customers needs about 16,316.0 GB")
    assert error.message.endswith(" GB available")
    assert "GB; this machine has" in error.message


def test_network_larger_than_available_memory_names_both_sizes(tmp_path, monkeypatch):
    monkeypatch.setattr(scenario_module, "available_memory_bytes", lambda: 2_000_000_000)
    path = write(tmp_path, "x.toml", "[network]\nn = 20_000_000\n")
    # 20e6 customers * (64 + 8) B + 20e6 * 10 entries * 8 B = 3.04e9 B
    error = load_error(path)
    assert error.message == ("a network of 20,000,000 customers needs about 4.8 GB; "
                             "this machine has 2.0 GB available")


def test_memory_estimate_follows_the_stated_formula():
    default = Scenario.default().network
    assert memory_estimate_bytes(default) == 10_000 * (150 + 8) + 10_000 * 10 * 8
    complete = Scenario.from_dict({"network": {"kind": "complete", "n": 500},
                                   "sharing": {"base": 0}}).network
    assert memory_estimate_bytes(complete) == 500 * 150


def test_toml_syntax_error_names_file_and_line(tmp_path):
    path = write(tmp_path, "x.toml", "weeks = 52\n[sharing]\nbase = = 1\n")
    error = load_error(path)
    assert error.file == path and error.line == 3
    assert "\n" not in str(error)


def test_missing_scenario_file_is_an_error(tmp_path):
    error = load_error(tmp_path / "nope.toml")
    assert error.file == tmp_path / "nope.toml"
    assert error.message == "file not found"


def test_scenario_error_format_and_pickling():
    error = ScenarioError("must be between 0 and 1, got 1.5", file="/elsewhere/x.toml",
                          key="sharing.base", line=12)
    assert str(error) == "/elsewhere/x.toml:12: sharing.base: must be between 0 and 1, got 1.5"
    assert str(ScenarioError("bad", key="weeks")) == "weeks: bad"
    assert str(ScenarioError("bad\nworse")) == "bad worse"
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.file, copy.key, copy.line, copy.message) == (
        error.file, error.key, error.line, error.message)


# --- overrides -----------------------------------------------------------------------------------


def test_parse_assignment_reads_toml_values_and_bare_words():
    assert parse_assignment("sharing.base=0.3") == ("sharing.base", 0.3)
    assert parse_assignment(" weeks = 52 ") == ("weeks", 52)
    assert parse_assignment("network.directed=true") == ("network.directed", True)
    assert parse_assignment("network.kind=erdos_renyi") == ("network.kind", "erdos_renyi")
    assert parse_assignment('name="a b"') == ("name", "a b")
    assert parse_assignment("network.degrees=[1, 1]") == ("network.degrees", [1, 1])
    with pytest.raises(ScenarioError, match="expected KEY=VALUE"):
        parse_assignment("sharing.base")


def test_overrides_as_dict_and_strings(tmp_path):
    path = write(tmp_path, "x.toml", "weeks = 52\n[sharing]\nbase = 0.2\n")
    from_dict = Scenario.load(path, {"sharing.base": 0.3, "weeks": 30})
    from_strings = Scenario.load(path, ["sharing.base=0.3", "weeks=30"])
    assert from_dict == from_strings
    assert (from_dict.sharing.base, from_dict.weeks) == (0.3, 30)


def test_override_with_a_bare_word_string(tmp_path):
    path = write(tmp_path, "x.toml", "")
    s = Scenario.load(path, ["network.kind=erdos_renyi", "network.mean_degree=4"])
    assert s.network.kind == "erdos_renyi"


def test_unknown_override_key_is_an_error_with_suggestion(tmp_path):
    path = write(tmp_path, "x.toml", "")
    error = load_error(path, ["sharing.bse=0.3"])
    assert error.key == "sharing.bse"
    assert error.message == "unknown key 'bse'; did you mean 'base'?"
    assert "\n" not in str(error)


def test_bad_override_value_is_validated_like_a_file_value(tmp_path):
    path = write(tmp_path, "x.toml", "")
    error = load_error(path, {"sharing.base": 1.5})
    assert (error.key, error.message) == ("sharing.base", "must be between 0 and 1, got 1.5")
    assert error.file is None and str(error) == "sharing.base: must be between 0 and 1, got 1.5"


def test_with_overrides_changes_top_level_section_and_event_keys():
    base = Scenario.from_dict({"events": [{"kind": "campaign", "start": 0, "end": 4,
                                           "spend": 10.0}]})
    changed = base.with_overrides({"weeks": 60, "market.imitation": 0.5,
                                   "events[0].spend": 20.0})
    assert changed.weeks == 60
    assert changed.get("market.imitation") == 0.5
    assert changed.get("events[0].spend") == 20.0
    assert base.weeks == 156  # frozen: the original is untouched
    assert set(changed.differences(base)) == {"weeks", "market.imitation", "events"}
    with pytest.raises(ScenarioError, match=r"must be at most weeks \(3\), got 4"):
        base.with_overrides(["weeks=3"])


def test_numpy_values_are_stored_as_python_numbers():
    # sweeps hand over numpy scalars; the scenario stores plain floats and ints
    s = Scenario.default().with_overrides({"sharing.base": np.float64(0.25),
                                           "weeks": np.int64(30)})
    assert type(s.sharing.base) is float and type(s.weeks) is int
    with pytest.raises(ScenarioError, match=r"expected an integer, got 2.5"):
        Scenario.default().with_overrides({"weeks": np.float64(2.5)})


def test_override_shortening_the_horizon_reports_the_event(tmp_path):
    path = write(tmp_path, "x.toml", '[[events]]\nkind = "seed"\nweek = 100\ncount = 1\n')
    error = load_error(path, ["weeks=52"])
    assert_one_line(error, path, "events[0].week", 3)
    assert error.message == "must be less than weeks (52), got 100"


def test_get_unknown_key_suggests():
    with pytest.raises(ScenarioError, match="did you mean 'sharing.base'"):
        Scenario.default().get("sharing.bse")


# --- writing, comparing, hashing -----------------------------------------------------------------


def test_to_toml_round_trips(tmp_path):
    (tmp_path / "edges.csv").write_text("a,b\nb,c\n")
    data = {
        "name": "round trip",
        "description": 'quotes " and \\ and\nnew lines',
        "weeks": 80,
        "network": {"kind": "edgelist", "path": "edges.csv", "directed": True},
        "journey": {"review_weight": 1 / 3},
        "events": [
            {"kind": "seed", "week": 0, "nodes": ["a", "b"]},
            {"kind": "referral", "start": 5, "end": 26, "boost": 0.5},
            {"kind": "quality", "start": 10, "end": 20, "value": 0.4, "sd": 0.2},
        ],
    }
    s = Scenario.from_dict(data, base_dir=tmp_path)
    text = s.to_toml(header="resolved scenario\nwomsim 0.1.0")
    assert text.startswith("# resolved scenario\n# womsim 0.1.0\n")
    assert "extends" not in text
    again = Scenario.from_dict(tomllib.loads(text))
    assert again.to_dict() == s.to_dict()
    assert again == s
    assert s.to_dict()["network"]["path"] == str(tmp_path / "edges.csv")


def test_to_toml_of_an_extended_file_is_self_contained(tmp_path):
    write(tmp_path, "base.toml", "[market]\nimitation = 0.5\n")
    s = Scenario.load(write(tmp_path, "child.toml", 'extends = "base.toml"\n'))
    again = Scenario.from_dict(tomllib.loads(s.to_toml()))
    assert again == s and again.market.imitation == 0.5


def test_differences_lists_changed_keys():
    a = Scenario.default()
    b = a.with_overrides({"sharing.base": 0.3, "network.rewire": 0.2})
    assert a.differences(b) == {"sharing.base": (0.18, 0.3), "network.rewire": (0.1, 0.2)}
    assert a.differences(a) == {}


def test_stable_hash_equal_for_equal_scenarios_and_different_otherwise(tmp_path):
    a = Scenario.default()
    b = Scenario.load(write(tmp_path, "same.toml", "replications = 3\n"))
    assert a.stable_hash() == b.stable_hash()  # name and replications do not count
    assert len(a.stable_hash()) == 64
    assert a.stable_hash() != a.with_overrides({"sharing.base": 0.19}).stable_hash()
    assert a.stable_hash() != a.with_overrides({"seed": 1}).stable_hash()
    assert a.stable_hash() == Scenario.from_dict(tomllib.loads(a.to_toml())).stable_hash()


def test_stable_hash_is_the_same_in_another_process():
    code = "from sim.scenario.load import Scenario; print(Scenario.default().stable_hash())"
    root = Path(__file__).resolve().parents[1]
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, cwd=root, env={**os.environ, "PYTHONHASHSEED": "123"})
    assert other.stdout.strip() == Scenario.default().stable_hash()


def test_the_baseline_file_is_the_default_market():
    """scenarios/baseline.toml spells out every key at its default (docs/model.md section 8)."""
    baseline = Scenario.load(Path(__file__).parent.parent / "scenarios" / "baseline.toml")
    assert set(baseline.differences(Scenario.default())) <= {"name", "description"}


def test_every_mistake_of_a_file_is_reported_at_once_with_its_line(tmp_path):
    path = tmp_path / "three.toml"
    path.write_text('weeks = -3\n[media]\nmargin = 20\npromise = 85\n[sharing]\nbse = 0.2\n')
    with pytest.raises(ScenarioError) as caught:
        Scenario.load(path)
    lines = str(caught.value).splitlines()
    assert [Path(line.split(": ")[0]).name for line in lines] == [
        "three.toml:1", "three.toml:3", "three.toml:4", "three.toml:6"]
    assert "unknown key 'margin' in [media]; did you mean economics.margin?" in lines[1]
    assert "got 85 (a fraction: 85% is 0.85)" in lines[2]
    assert "did you mean 'base'?" in lines[3]


def test_a_section_key_at_the_top_level_names_its_section():
    with pytest.raises(ScenarioError, match="unknown key 'margin' at the top level; did you "
                                            "mean economics.margin"):
        Scenario.from_dict({"margin": 20})
