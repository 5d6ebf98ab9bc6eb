"""Checking a scenario's merged values: each value against its field's type and range, then the
rules that tie keys together (the graph can be built, it fits in memory, event windows lie within
the horizon, seed events fit the graph).

Every value, whether from a file, an override or a dict, is checked by one function,
`_check_value`, against the metadata of its field in `sim.scenario.schema`. A problem raises
`Invalid` naming the dotted key; loading then finds the file and line that set it.
"""

from __future__ import annotations

import difflib
import math
import numbers
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import Field
from pathlib import Path
from typing import Any

from sim.core.errors import InputError, regular_file
from sim.graph.seeding import GREEDY_MAX_NODES
from sim.scenario.errors import Invalid, show_value, unknown_message
from sim.scenario.schema import (
    EVENT_FIELDS,
    EVENT_KEYS,
    SECTION_FIELDS,
    SECTIONS,
    TOP_FIELDS,
    BudgetParams,
    EconomicsParams,
    Event,
    NetworkParams,
    SharingParams,
    TopParams,
)

# Memory a run needs (see `memory_estimate_bytes`), in bytes.
# Resident state per customer: its arrays, the market's work lists and messages in flight;
# measured 146 B at 10^7 customers (docs/performance.md: 2.10 GB peak, of which 0.24 GB the
# interpreter and kernels and 0.40 GB the graph), rounded up.
_BYTES_PER_CUSTOMER = 150
_BYTES_PER_ENTRY = 8  # int32 neighbour index + float32 tie weight
_BYTES_PER_NODE_INDEX = 8  # int64 indptr


MAX_PROBLEMS = 10  # problems reported at once; a file with more shows the first ten


def validate(data: Mapping[str, Any], base_dir: Callable[[str], Path],
             default_name: str | None) -> dict[str, Any]:
    """The checked values of a scenario's merged raw `data`, as the keyword arguments of
    `Scenario` (top-level keys, one parameter object per section, the events tuple).

    `base_dir(key)` is the folder a relative path set at `key` is relative to; `default_name`
    is the name when none is set. Raises `Invalid` with every problem of the keys' own values
    (up to MAX_PROBLEMS, the first as the error and the others in its `more`), or else with the
    first problem of how keys fit together (the network, the events)."""
    problems: list[Invalid] = []
    known = [*TOP_FIELDS, *SECTIONS, "events"]
    for key, value in data.items():
        if key not in known:
            what = "section" if isinstance(value, Mapping) else "key"
            problems.append(Invalid(key, _unknown(what, key, [*known, "extends"], None)))
    top = {key: value for key, spec in TOP_FIELDS.items() if key in data
           for value in _checked(problems, data[key], spec, key, base_dir(key))}
    if default_name is not None:
        top.setdefault("name", default_name)
    sections: dict[str, Any] = {}
    for section, cls in SECTIONS.items():
        values = {}
        for key, value in data.get(section, {}).items():
            dotted = f"{section}.{key}"
            if key not in SECTION_FIELDS[section]:
                problems.append(Invalid(dotted, _unknown("key", key, SECTION_FIELDS[section],
                                                         section)))
                continue
            for checked in _checked(problems, value, SECTION_FIELDS[section][key], dotted,
                                    base_dir(dotted)):
                values[key] = checked
        sections[section] = cls(**values)
    network = sections["network"]
    kind_is_bad = any(problem.key == "network.kind" for problem in problems)
    if network.nodes is not None and network.kind != "edgelist" and not kind_is_bad:
        # Reported with the values' own problems: a node list only adds customers to an edge
        # list; a generated graph's customers are its n.
        problems.append(Invalid("network.nodes", f"a node list applies to edge lists only "
                                                 f"(network.kind = 'edgelist'), not to "
                                                 f"{show_value(network.kind)}"))
    if problems:
        raise Invalid(problems[0].key, problems[0].message, tuple(problems[1:MAX_PROBLEMS]))
    top_params = TopParams(**top)
    if not top_params.name.strip() or top_params.name in (".", "..") or any(
        sep in top_params.name for sep in "/\\"
    ):
        raise Invalid("name", f"must be a non-empty name without '/' or '\\', got "
                              f"{show_value(top_params.name)}")
    _check_network(sections["network"], sections["sharing"])
    _check_budget(sections["budget"], sections["economics"])

    customers = _customer_count(sections["network"])
    events = tuple(_check_event(raw, index, top_params.weeks, customers, base_dir)
                   for index, raw in enumerate(data.get("events", [])))
    return {key: getattr(top_params, key) for key in TOP_FIELDS} | sections | {"events": events}


def _checked(problems: list[Invalid], value: Any, spec: Field, key: str,
             base_dir: Path) -> list[Any]:
    """[the checked value], or [] with the problem added to `problems`."""
    try:
        return [_check_value(value, spec, key, base_dir)]
    except Invalid as problem:
        problems.append(problem)
        return []


def _unknown(what: str, name: str, known: Iterable[str], section: str | None) -> str:
    """The message for an unknown key: a right key in the wrong section (or at the top) names
    where it belongs ("did you mean economics.margin?"), else the closest name in its place."""
    elsewhere = [f"{other}.{name}" for other, fields in SECTION_FIELDS.items()
                 if other != section and name in fields]
    if elsewhere:
        where = f"in [{section}]" if section else "at the top level"
        return f"unknown {what} '{name}' {where}; did you mean {' or '.join(elsewhere)}?"
    return unknown_message(what, name, known)


def memory_estimate_bytes(network: NetworkParams) -> int:
    """Rough bytes a run on this network needs: 150 per customer, 8 per stored edge entry (int32
    index + float32 weight; n * mean_degree entries, undirected edges being stored both ways) and
    8 per customer for the CSR row index. The complete graph is implicit (customers only); for an
    edge list the size of its file and its node list's is the proxy (they must exist)."""
    if network.kind == "edgelist":
        nodes = Path(network.nodes).stat().st_size if network.nodes is not None else 0
        return Path(network.path).stat().st_size + nodes
    customers = _customer_count(network)
    if network.kind == "complete":
        return customers * _BYTES_PER_CUSTOMER
    if network.kind == "configuration":
        entries = sum(network.degrees)
    else:
        entries = round(customers * network.mean_degree)
    return (customers * (_BYTES_PER_CUSTOMER + _BYTES_PER_NODE_INDEX)
            + entries * _BYTES_PER_ENTRY)


# --- one value -------------------------------------------------------------------------------


def _check_value(value: Any, spec: Field, key: str, base_dir: Path) -> Any:
    """The value checked against its field's metadata (type, range, choices) and converted to the
    stored form (float, int, tuple, absolute path); raises `Invalid` naming `key`."""
    meta = spec.metadata
    kind = meta["type"]
    if value is None:
        if meta["optional"]:
            return None
        raise Invalid(key, "must be set")
    if kind == "float":
        return _check_range(_as_float(value, key), value, meta, key)
    if kind == "int":
        return _check_range(_as_int(value, key), value, meta, key)
    if kind == "bool":
        if not isinstance(value, bool):
            raise Invalid(key, f"expected true or false, got {show_value(value)}")
        return value
    if kind == "str":
        return _check_choice(value, meta["choices"], key)
    if kind == "path":
        if not isinstance(value, str | os.PathLike) or not str(value):
            raise Invalid(key, f"expected a file path, got {show_value(value)}")
        return str((base_dir / Path(value).expanduser()).resolve())
    if kind in ("int_list", "node_list"):
        return _check_list(value, meta, key, nodes=kind == "node_list")
    raise AssertionError(f"unknown parameter type {kind!r} for {key}")


def _check_choice(value: Any, choices: tuple[str, ...] | None, key: str) -> str:
    """A string, one of `choices` when they are given."""
    if not isinstance(value, str):
        raise Invalid(key, f"expected a string, got {show_value(value)}")
    if choices and value not in choices:
        listed = ", ".join(f"'{choice}'" for choice in choices)
        close = difflib.get_close_matches(value, choices, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise Invalid(key, f"must be one of {listed}, got {show_value(value)}{hint}")
    return value


def _check_list(value: Any, meta: Mapping[str, Any], key: str, nodes: bool) -> tuple:
    """A list of integers within the metadata's bounds as a tuple; a node list may also hold
    labels (strings) and must not name a node twice."""
    if not isinstance(value, list | tuple):
        raise Invalid(key, f"expected a list, got {show_value(value)}")
    items = []
    for index, item in enumerate(value):
        item_key = f"{key}[{index}]"
        if nodes and isinstance(item, str):
            items.append(item)
        elif nodes and not isinstance(item, numbers.Integral):
            raise Invalid(item_key, f"expected a customer id (integer) or label (string), "
                                    f"got {show_value(item)}")
        else:
            items.append(_check_range(_as_int(item, item_key), item, meta, item_key))
    if nodes:
        seen: set[Any] = set()
        for item in items:
            if item in seen:
                raise Invalid(key, f"node {show_value(item)} is listed twice")
            seen.add(item)
    return tuple(items)


def _as_float(value: Any, key: str) -> float:
    """A finite real number (not a bool) as a float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise Invalid(key, f"expected a number, got {show_value(value)}")
    if not math.isfinite(value):
        raise Invalid(key, f"must be a finite number, got {show_value(value)}")
    return float(value)


def _as_int(value: Any, key: str) -> int:
    """An integer (not a bool, not a float even when whole) as an int."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise Invalid(key, f"expected an integer, got {show_value(value)}")
    return int(value)


def _check_range(number: float, given: Any, meta: Mapping[str, Any], key: str) -> Any:
    """`number` if it lies within the metadata's bounds, else `Invalid` quoting `given`."""
    low, high = meta["low"], meta["high"]
    too_low = low is not None and (number <= low if meta["low_open"] else number < low)
    too_high = high is not None and (number >= high if meta["high_open"] else number > high)
    if too_low or too_high:
        if low is not None and high is not None and not (meta["low_open"] or meta["high_open"]):
            allowed = f"between {low} and {high}"
        else:
            bounds = []
            if low is not None:
                bounds.append(f"{'>' if meta['low_open'] else '>='} {low}")
            if high is not None:
                bounds.append(f"{'<' if meta['high_open'] else '<='} {high}")
            allowed = " and ".join(bounds)
        hint = ""
        if low == 0 and high == 1 and 5 <= number <= 100:  # a percent where a fraction is meant
            hint = f" (a fraction: {number:g}% is {number / 100:g})"
        raise Invalid(key, f"must be {allowed}, got {show_value(given)}{hint}")
    return number


# --- the network -----------------------------------------------------------------------------


def _check_network(network: NetworkParams, sharing: SharingParams) -> None:
    """The graph can be built as asked, shares are possible on it, and it fits in memory."""
    _check_graph_kind(network)
    if network.kind == "complete" and sharing.base > 0:
        raise Invalid("sharing.base",
                      "shares are not allowed on the complete graph; set sharing.base = 0")
    needed, available = memory_estimate_bytes(network), available_memory_bytes()
    if available is not None and needed > available:
        have = f"this machine has {available / 1e9:,.1f} GB available"
        if network.kind == "edgelist":
            raise Invalid("network.path", f"this edge list needs about {needed / 1e9:,.1f} GB; "
                                          f"{have}")
        key = "network.degrees" if network.kind == "configuration" else "network.n"
        raise Invalid(key, f"a network of {_customer_count(network):,} customers needs about "
                           f"{needed / 1e9:,.1f} GB; {have}")


BUDGET_SHARES = ("to_ads", "to_seeding", "to_referral", "to_quality")


def _check_budget(budget: BudgetParams, economics: EconomicsParams) -> None:
    """A budget's shares split its total: they add up to 1, and seeding can price its seeds."""
    shares = sum(getattr(budget, key) for key in BUDGET_SHARES)
    if budget.total <= 0:
        if budget.to_ads != 1.0 or shares != 1.0:
            raise Invalid("budget.total", "the budget's shares split budget.total, which is 0 (no "
                                          "budget); set budget.total to the money over the "
                                          "horizon, or remove the shares")
        return
    if abs(shares - 1.0) > 1e-9:
        parts = " + ".join(f"{key} {getattr(budget, key):g}" for key in BUDGET_SHARES)
        raise Invalid("budget.to_ads", f"the shares of budget.total must add up to 1, got {parts} "
                                    f"= {shares:g}")
    if budget.to_seeding > 0 and economics.seed_cost <= 0:
        raise Invalid("budget.to_seeding", "a seeding share needs economics.seed_cost > 0 to say "
                                        "how many customers the money seeds")


def _check_graph_kind(network: NetworkParams) -> None:
    """The keys a graph kind needs are set, and its size and degree fit together."""
    kind, n, degree = network.kind, network.n, network.mean_degree
    if kind == "edgelist":
        if network.path is None:
            raise Invalid("network.path", "required when network.kind = 'edgelist'")
        for key, name, what in (("network.path", network.path, "edge-list file"),
                                ("network.nodes", network.nodes, "node-list file")):
            try:
                if name is not None:
                    regular_file(name, what)
            except InputError as error:
                raise Invalid(key, f"{error.message}: {name}") from None
    elif kind == "configuration":
        if network.degrees is None:
            raise Invalid("network.degrees", "required when network.kind = 'configuration'")
        if not network.degrees:
            raise Invalid("network.degrees", "must list at least one degree")
        if sum(network.degrees) % 2:
            raise Invalid("network.degrees", f"must have an even sum, got {sum(network.degrees)}")
    elif kind == "watts_strogatz":
        if not (degree.is_integer() and degree % 2 == 0 and degree < n):
            raise Invalid("network.mean_degree", f"must be an even whole number less than n "
                                                 f"({n}) for watts_strogatz, got {degree:g}")
    elif kind == "random_regular":
        if not (degree.is_integer() and degree < n):
            raise Invalid("network.mean_degree", f"must be a whole number less than n ({n}) "
                                                 f"for random_regular, got {degree:g}")
        if (n * int(degree)) % 2:
            raise Invalid("network.mean_degree", f"n * mean_degree must be even for "
                                                 f"random_regular, got {n} * {degree:g}")
    elif kind == "barabasi_albert":
        m = degree / 2
        if not (m.is_integer() and 1 <= m < n):
            raise Invalid("network.mean_degree", f"must be 2m for a whole m with 1 <= m < n "
                                                 f"({n}) for barabasi_albert, got {degree:g}")
    elif kind == "erdos_renyi" and degree > n - 1:
        raise Invalid("network.mean_degree", f"must be at most n - 1 ({n - 1}) for "
                                             f"erdos_renyi, got {degree:g}")


def _customer_count(network: NetworkParams) -> int | None:
    """How many customers the graph has, when known before reading any file."""
    if network.kind == "edgelist":
        return None
    if network.kind == "configuration":
        return len(network.degrees or ())
    return network.n


def available_memory_bytes() -> int | None:
    """Memory available to a new run: MemAvailable from /proc/meminfo, else the free physical
    pages; None when neither can be read."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for row in meminfo:
                if row.startswith("MemAvailable:"):
                    return int(row.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


# --- events ----------------------------------------------------------------------------------


def _check_event(raw: Mapping[str, Any], index: int, weeks: int, customers: int | None,
                 base_dir: Callable[[str], Path]) -> Event:
    """One [[events]] table as an `Event`: its kind's keys, types, window within the horizon,
    and the kind's own rules (seed: count or nodes; referral: reward or boost)."""
    prefix = f"events[{index}]"
    if "kind" not in raw:
        raise Invalid(f"{prefix}.kind", "missing required key 'kind'")
    kind = _check_value(raw["kind"], EVENT_FIELDS["kind"], f"{prefix}.kind", Path.cwd())
    required, optional = EVENT_KEYS[kind]
    allowed = sorted(required | optional)
    values: dict[str, Any] = {"kind": kind}
    for key, value in raw.items():
        dotted = f"{prefix}.{key}"
        if key == "kind":
            continue
        if key not in allowed:
            if key in EVENT_FIELDS:
                raise Invalid(dotted, f"key '{key}' is not allowed in a {kind} event "
                                      f"(allowed: {', '.join(allowed)})")
            raise Invalid(dotted, unknown_message("key", key, allowed))
        values[key] = _check_value(value, EVENT_FIELDS[key], dotted, base_dir(dotted))
    for key in sorted(required):
        if values.get(key) is None:
            raise Invalid(f"{prefix}.{key}", f"missing required key '{key}' for a {kind} event")
    _check_window(values, prefix, weeks)
    if kind == "seed":
        _complete_seed(values, prefix, customers)
    if kind == "referral" and values.get("reward") is None and values.get("boost") is None:
        raise Invalid(prefix, "a referral event needs 'reward' or 'boost'")
    return Event(**values)


def _check_window(values: Mapping[str, Any], prefix: str, weeks: int) -> None:
    """An event's start, end or week lies within the horizon, and its end after its start."""
    start, end, week = values.get("start"), values.get("end"), values.get("week")
    if start is not None and start >= weeks:
        raise Invalid(f"{prefix}.start", f"must be less than weeks ({weeks}), got {start}")
    if end is not None:
        if start is not None and end <= start:
            raise Invalid(f"{prefix}.end", f"must be greater than start ({start}), got {end}")
        if end > weeks:
            raise Invalid(f"{prefix}.end", f"must be at most weeks ({weeks}), got {end}")
    if week is not None and week >= weeks:
        raise Invalid(f"{prefix}.week", f"must be less than weeks ({weeks}), got {week}")


def _complete_seed(values: dict[str, Any], prefix: str, customers: int | None) -> None:
    """Check a seed event's count, strategy and nodes against each other and the graph's size
    (`customers`, None for an edge list), filling in the default count (all the nodes listed,
    which are taken in order) or strategy (random)."""
    count, nodes = values.get("count"), values.get("nodes")
    if count is None and nodes is None:
        raise Invalid(prefix, "a seed event needs 'count' or 'nodes'")
    if nodes is None:
        if values.get("strategy") is None:
            values["strategy"] = "random"
        if customers is not None and count > customers:
            raise Invalid(f"{prefix}.count", f"must be at most the number of customers "
                                             f"({customers}), got {count}")
        if (values["strategy"] == "greedy" and customers is not None
                and customers > GREEDY_MAX_NODES):
            raise Invalid(f"{prefix}.strategy", f"greedy runs on graphs of at most "
                                                f"{GREEDY_MAX_NODES:,} customers, not "
                                                f"{customers:,}")
        return
    if values.get("strategy") is not None:
        raise Invalid(f"{prefix}.strategy", "not used when 'nodes' lists the customers")
    if count is None:
        values["count"] = len(nodes)
    elif count > len(nodes):
        raise Invalid(f"{prefix}.count",
                      f"must be at most the number of nodes ({len(nodes)}), got {count}")
    if customers is not None:
        for position, node in enumerate(nodes):
            if isinstance(node, str) or node >= customers:
                raise Invalid(f"{prefix}.nodes[{position}]",
                              f"must be a customer id from 0 to {customers - 1}, "
                              f"got {show_value(node)}")
