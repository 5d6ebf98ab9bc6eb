"""The full emotional model (not the Bass special case) calibrated to the shipped data: the US
refrigerator and colour-TV series and the CKM physicians' network. For each data set:

1. the default calibration (innovation, imitation and market potential; market mixing too on
   the physicians' real ties), beside the two closed-form Bass fits of the same points;
2. the same fitted on the first half of the observations, forecasting the second half, beside
   Bass trained on the same points;
3. a probe of what the data cannot identify: the default keys plus the FMOT conversion and the
   propensity to share (`journey.conversion`, `sharing.base`), with the identifiability report.

    python experiments/full_model_calibration.py [--only refrigerator,colour_tv,ckm]

Writes each calibration's folder under out/full_model/ and prints the figures docs/calibration.md
quotes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.analysis.calibrate import CalibrationResult, calibrate, default_fit
from sim.present.figures.calibration import write_calibration
from sim.scenario import Scenario

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "data"
OUT = HERE.parent / "out" / "full_model"
STUDIES = {
    "refrigerator": ("refrigerator_full.toml", "refrigerator_us.csv"),
    "colour_tv": ("colour_tv_full.toml", "colour_tv_us.csv"),
    "ckm": ("ckm_full.toml", "ckm_adoption.csv"),
}
PROBE_KEYS = ("journey.conversion", "sharing.base")


def describe(name: str, result: CalibrationResult) -> str:
    """The lines docs/calibration.md quotes for one calibration."""
    bass = min(result.bass.rmse, result.bass_free.rmse) * 100.0
    parts = []
    for key, value in result.values.items():
        interval = result.intervals[key]
        parts.append(f"{key} {value:.4g}" + (f" ({interval[0]:.4g}-{interval[1]:.4g})"
                                             if interval else ""))
    values = ", ".join(parts)
    lines = [f"{name}: {values}",
             f"  RMSE {result.rmse:.2f} points (Monte-Carlo error {result.monte_carlo_error:.2f}); "
             f"better Bass fit {bass:.2f}; ratio {result.rmse / bass:.2f}; "
             f"{result.evaluations} evaluations, {result.runs:,} runs, {result.seconds:.0f} s"]
    if result.forecast is not None:
        forecast = result.forecast
        lines.append(f"  forecast after {forecast['time_unit']} {forecast['train_until']:g} "
                     f"({forecast['forecast_points']} points): model "
                     f"{forecast['rmse_points']:.2f}, Bass {forecast['bass_rmse_points']:.2f} "
                     f"(m = 100%: {forecast['bass_m100_rmse_points']:.2f}, m fitted: "
                     f"{forecast['bass_m_fitted_rmse_points']:.2f})")
    notes = list(result.warnings)
    if result.identifiability is not None:
        notes += result.identifiability.notes
    lines += [f"  - {note}" for note in notes]
    return "\n".join(lines)


def study(name: str) -> None:
    """The three calibrations of one data set, written and printed."""
    scenario_file, data_file = STUDIES[name]
    scenario = Scenario.load(HERE / scenario_file)
    data = DATA / data_file
    fit = calibrate(scenario, data)
    write_calibration(fit, OUT / f"{name}_fit")
    print(describe(f"{name}, default fit", fit), flush=True)
    times = fit.data.times
    half = float(times[len(times) // 2 - 1])
    cut = calibrate(scenario, data, train_until=half)
    write_calibration(cut, OUT / f"{name}_forecast")
    print(describe(f"{name}, fitted up to {fit.data.unit} {half:g}", cut), flush=True)
    keys = [k.key for k in default_fit(scenario)] + list(PROBE_KEYS)
    probe = calibrate(scenario, data, keys, refits=0)
    write_calibration(probe, OUT / f"{name}_probe")
    print(describe(f"{name}, probe with {', '.join(PROBE_KEYS)}", probe), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(STUDIES),
                        help=f"comma-separated studies ({', '.join(STUDIES)})")
    for name in parser.parse_args().only.split(","):
        study(name.strip())


if __name__ == "__main__":
    main()
