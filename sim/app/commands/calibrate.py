"""`womsim calibrate`: fit scenario keys to observed adoption, print the fit, write the output
folder (the method is `sim.analysis.calibrate`'s)."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from sim.analysis.calibrate import (
    DEFAULT_REFITS,
    OBJECTIVES,
    OUTPUT_FILES,
    CalibrationResult,
    calibrate,
)
from sim.app.commands import FORCE_HELP, add_command, print_input_error
from sim.core.errors import InputError
from sim.present.figures.calibration import write_calibration
from sim.run.folders import check_output_folder
from sim.run.progress import progress_bar
from sim.scenario import Scenario

_DESCRIPTION = ("Fit scenario keys to an adoption CSV by simulation (common random numbers, a "
                "Sobol design then Nelder-Mead), beside the closed-form Bass fit.")


def report(result: CalibrationResult) -> str:
    """The calibration as plain text: fitted values with intervals, and the fit errors."""
    data = result.data
    lines = [f"{result.scenario.name}: {len(result.keys)} key(s) fitted to {data.path} "
             f"({data.times.size} points in {data.unit}s, {data.kind.replace('_', '-')} data, "
             f"population {data.population:,}), {len(result.seeds)} replicates, "
             f"{result.evaluations} evaluations ({result.runs:,} runs), "
             f"{len(result.refits)} refits, {result.seconds:.0f} s", ""]
    interval = "95% (likelihood)" if result.likelihood is not None \
        else f"5-95% ({len(result.refits)} refits)"
    rows = [("key", "fitted", interval, "searched")]
    for fit in result.keys:
        interval = result.intervals[fit.key]
        rows.append((fit.key, f"{result.values[fit.key]:.4g}",
                     f"{interval[0]:.4g} - {interval[1]:.4g}" if interval else "n/a",
                     f"{fit.low:g} - {fit.high:g}"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines += ["  ".join(f"{cell:<{w}}" for cell, w in zip(row, widths, strict=True)).rstrip()
              for row in rows]
    bass, free = result.bass, result.bass_free
    fitted_on = "" if result.train_until is None else \
        f" ({int(result.training.sum())} points up to {data.unit} {result.train_until:g})"
    lines += [
        "", f"fit error{fitted_on}, RMSE in percentage points of the population:",
        f"  model (mean of {len(result.seeds)} runs)  {result.rmse:6.2f}   Monte-Carlo standard "
        f"error of the mean: {result.monte_carlo_error:.2f}",
        f"  Bass, m = 100%            {100 * bass.rmse:6.2f}   p = {bass.p:.4g}, "
        f"q = {bass.q:.4g} per year",
        f"  Bass, m fitted            {100 * free.rmse:6.2f}   p = {free.p:.4g}, "
        f"q = {free.q:.4g} per year, m = {100 * free.m:.1f}%",
    ]
    if result.likelihood is not None:
        model, bass_hazard = result.likelihood
        lines += ["", f"likelihood of the {model.n} customers' adoption times, each given its "
                      f"neighbours' (higher log-likelihood, lower AIC and BIC fit better):"]
        lines += [f"  {name:<24}  log-likelihood {fit.log_likelihood:9.2f}   AIC "
                  f"{fit.aic:9.2f}   BIC {fit.bic:9.2f}   ({fit.k} keys)"
                  for name, fit in (("model", model), ("Bass hazard (mixing 1)", bass_hazard))]
    forecast = result.forecast
    if forecast is not None:
        lines += [
            "", f"forecast of the {forecast['forecast_points']} points after {data.unit} "
                f"{forecast['train_until']:g}, RMSE in percentage points:",
            f"  model                     {forecast['rmse_points']:6.2f}",
            f"  Bass, m = 100%            {forecast['bass_m100_rmse_points']:6.2f}",
            f"  Bass, m fitted            {forecast['bass_m_fitted_rmse_points']:6.2f}",
        ]
    if result.identifiability is not None and result.identifiability.notes:
        lines += ["", "identifiability:"] + [f"  {note}" for note in result.identifiability.notes]
    if result.warnings:
        lines += [""] + [f"warning: {warning}" for warning in result.warnings]
    return "\n".join(lines)


def cmd_calibrate(args: argparse.Namespace) -> int:
    """`womsim calibrate`: fit, print the report, write the output folder."""
    scenario = Scenario.load(args.scenario)
    out = Path(args.out) if args.out else Path("out") / f"{scenario.name}_calibration"
    check_output_folder(out, args.force)
    with progress_bar(None, f"calibrating {scenario.name}", leave=False) as bar:
        result = calibrate(scenario, args.data, args.fit, objective=args.objective,
                           train_until=args.train_until,
                           replications=args.reps,
                           seed=args.seed, refits=args.refits, workers=args.workers,
                           progress=bar.update)
    parts = ["womsim", "calibrate", args.scenario, "--data", args.data]
    for spec in args.fit or ():
        parts += ["--fit", spec]
    for option in ("objective", "train_until", "reps", "seed", "refits", "out"):
        if getattr(args, option) is not None:
            parts += [f"--{option.replace('_', '-')}", str(getattr(args, option))]
    write_calibration(result, out, command=shlex.join(parts))
    print(report(result))
    print(f"\nwrote {out}/ ({', '.join(OUTPUT_FILES)})")
    return 0


def register(commands) -> None:
    """Add the `calibrate` subcommand to the CLI's subparsers."""
    parser = add_command(commands, "calibrate", cmd_calibrate, _DESCRIPTION)
    add_arguments(parser)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of `womsim calibrate`, and its handler."""
    parser.add_argument("scenario", help="scenario file (TOML)")
    parser.add_argument("--data", required=True, metavar="FILE",
                        help="CSV: week|month|year,adopted|adopted_fraction|adopted_percent, "
                             "or id,adopted_week|adopted_month|adopted_year")
    parser.add_argument("--fit", action="append", metavar="KEY[=LOW:HIGH]",
                        help="a key to fit and the range to search, e.g. "
                             "market.imitation=0.05:0.6 (repeatable; default: innovation, "
                             "imitation and market potential, and market mixing on an edge "
                             "list, over wide ranges)")
    parser.add_argument("--objective", choices=OBJECTIVES, default="rmse",
                        help="rmse: the simulated mean curve against the observed one "
                             "(default); likelihood (per-customer data): each customer's "
                             "adoption time by its hazard given its neighbours' adoption")
    parser.add_argument("--train-until", type=float, metavar="T",
                        help="fit the observations up to time T (in the data's unit) and "
                             "forecast the rest, beside Bass trained on the same points")
    parser.add_argument("--reps", type=int, help="replicates per candidate (default: the "
                        "scenario's replications)")
    parser.add_argument("--seed", type=int, help="scenario seed (default: the scenario's)")
    parser.add_argument("--refits", type=int, default=DEFAULT_REFITS,
                        help=f"bootstrap refits for the intervals (default {DEFAULT_REFITS}; "
                             f"0: none)")
    parser.add_argument("--out", help="output folder (default: out/<scenario name>_calibration/)")
    parser.add_argument("--force", action="store_true", help=FORCE_HELP)
    parser.add_argument("--workers", type=int, help="worker processes (default: one per core "
                        "for large jobs)")
    parser.set_defaults(func=cmd_calibrate)


def main(argv: list[str] | None = None) -> int:
    """`python -m sim.app.commands.calibrate ARGS`: the same as `womsim calibrate ARGS`."""
    parser = argparse.ArgumentParser(prog="womsim calibrate", description=_DESCRIPTION)
    add_arguments(parser)
    try:
        return cmd_calibrate(parser.parse_args(sys.argv[1:] if argv is None else argv))
    except InputError as error:
        print_input_error(error)
        return 2


if __name__ == "__main__":
    sys.exit(main())
