"""posecheck on rendered people with known hip angles, against issue 10's targets.

Run: ``python benchmarks/bench_rendered.py [--set DIR] [--posecheck EXE] [--out DIR]``.

Uses the render kit (``../shared/render`` beside the repository, ``$POSECHECK_RENDER_KIT`` or
``--kit DIR``): for every case of a rendered set (default: the kit's ``dev/``; a set is a
folder of ``<case>.mp4`` + ``<case>.truth.json.gz``) it runs the kit's ``run_posecheck.py``
(``posecheck analyse <case>.mp4 --no-video --no-store --jobs 1``, plus ``--stretch
deep-glute`` where the truth names it) and the kit's ``score.py``, each as a subprocess, then
prints, per case and side, the scorer's figures and, pooled by camera view, the targets of
issue 10 with PASS / FAIL. Nothing of the kit is imported. When the kit is absent it says so
and exits 0.

Figures (degrees; error = measured - truth; rotation + = internal rotation):

* per case and side: coverage (share of frames with true knee flexion >= 45 deg that have a
  value), MAE and bias of the neutral-corrected rotation, slope (least-squares gain of
  measured on truth over frames with |truth| >= 5 deg), peak IR / ER error (summary peaks
  minus true peaks), still leg: max |error| (= the crosstalk when its truth is 0; with a
  pelvic hike or a world-locked leg the truth is not 0), deep glute: adduction MAE.
* views: the camera's yaw off the working knee's front, from the truth: front / high
  (|yaw| <= 10), side (10 < |yaw| <= 30; the targets' "20-30 deg"), wide (|yaw| > 30;
  "40 deg"). Pooled MAE = frame-weighted mean over the group's rotation cases; peak errors,
  slopes, coverage, still leg and holds: the worst case of the group.
* holds: |posecheck's total hold time - the truth's| per stretch (the scorer applies
  posecheck's hold rule to the true angle), and the start and end of each hold: the truth's
  holds come from posecheck's own hold tracker (``posecheck.holds.HoldTracker``, the
  stretch's threshold and hysteresis) run on the true angle of the working leg; each is paired
  with the measured hold that overlaps it most. A true hold with no measured one, or a
  measured hold overlapping no true one, counts as an error of its whole duration.

``--scores FILE`` prints the tables from an existing scorer JSON (no posecheck run);
``--skip-run`` scores the results already in ``--out``. ``--strict`` exits 1 when a target
fails.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
# ../shared/render beside the repository; a git worktree one level deeper (wt/<name>) too
KIT_CANDIDATES = (REPO.parent / "shared" / "render", REPO.parent.parent / "shared" / "render")


def default_kit() -> Path:
    """$POSECHECK_RENDER_KIT, else the first of KIT_CANDIDATES that exists (else the first)."""
    env = os.environ.get("POSECHECK_RENDER_KIT")
    if env:
        return Path(env)
    return next((p for p in KIT_CANDIDATES if (p / "score.py").is_file()), KIT_CANDIDATES[0])

FRONT, SIDE, WIDE = "front/high (<=10 deg)", "side (20-30 deg)", "wide (40 deg)"
GROUPS = (FRONT, SIDE, WIDE)


def view_group(yaw_deg: float) -> str:
    """The targets' view class of a camera ``yaw_deg`` degrees off the knee's front."""
    a = abs(yaw_deg)
    if a <= 10.0 + 1e-9:
        return FRONT
    if a <= 30.0 + 1e-9:
        return SIDE
    return WIDE


@dataclass(frozen=True)
class Target:
    """One row of issue 10's targets: ``value`` (None = not measurable) against a bound."""

    group: str
    metric: str
    bound: str
    value: float | None
    ok: bool | None  # None: nothing to check in this set
    note: str = ""


def _num(x: object) -> float | None:
    if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x):
        return float(x)
    return None


def _fmt(x: object, nd: int = 1) -> str:
    v = _num(x)
    return "--" if v is None else f"{v:.{nd}f}"


def _worst(vals: Iterable[tuple[float | None, str]]) -> tuple[float | None, str]:
    """The largest |value| of (value, label) pairs and its label ("" when none)."""
    got = [(abs(v), lab) for v, lab in vals if v is not None]
    return max(got) if got else (None, "")


def is_glute(case: Mapping) -> bool:
    """Whether a scored case is a deep-glute case (scored on adduction, not rotation)."""
    return bool(case.get("deep_glute")) or case.get("posecheck_stretch") == "deep-glute"


def _peak_err(side: Mapping, key: str) -> float | None:
    p = side.get(key) or {}
    if (_num(p.get("truth_deg")) or 0.0) < 5.0:
        return None
    return _num(p.get("error_deg"))


def _has_setup_message(summary: object, word: str = "camera") -> bool:
    """Whether any text in a summary.json mentions ``word`` (a setup message naming the
    camera); used only where posecheck shows ``--`` instead of a value."""
    if isinstance(summary, str):
        return word in summary.lower()
    if isinstance(summary, Mapping):  # not the input's path or the model's name
        return any(_has_setup_message(v, word) for k, v in summary.items()
                   if k not in ("input", "model", "content_sha256"))
    if isinstance(summary, list):
        return any(_has_setup_message(v, word) for v in summary)
    return False


def case_rows(cases: Sequence[Mapping], yaws: Mapping[str, float]) -> list[list[str]]:
    """Per case and side: the table's rows (strings)."""
    rows = []
    for c in cases:
        name = c["case"]
        yaw = yaws.get(name)
        for side_name in ("left", "right"):
            s = c["sides"][side_name]
            still = s.get("role") == "still"
            add = ""
            dg = c.get("deep_glute") or {}
            if dg and dg.get("side") == side_name:
                add = _fmt((dg.get("all_frames") or {}).get("mae_deg"))
            rows.append([
                name, "--" if yaw is None else f"{yaw:+.0f}", side_name[0].upper(),
                "still" if still else "W", _fmt(s.get("coverage"), 2), _fmt(s.get("mae_deg")),
                _fmt(s.get("bias_deg")), _fmt(s.get("gain"), 2),
                _fmt(_peak_err(s, "peak_ir")), _fmt(_peak_err(s, "peak_er")),
                _fmt(s.get("max_abs_error_deg")) if still else "",
                _fmt(s.get("crosstalk_max_abs_deg")) if still else "", add,
            ])
    return rows


CASE_HEADER = ["case", "yaw", "side", "role", "cov", "MAE", "bias", "slope", "peakIR err",
               "peakER err", "still max|err|", "still max|meas|", "add MAE"]


# stretch id -> (truth key, direction): value in the stretch's direction = direction * truth
STRETCH_TRUTH = {"internal-rotation": ("rotation_deg", 1.0),
                 "external-rotation": ("rotation_deg", -1.0),
                 "deep-glute": ("hip_abduction_deg", -1.0)}


def true_holds(times: Sequence[float], values: Sequence[float], threshold_deg: float,
               hysteresis_deg: float) -> list[tuple[float, float]]:
    """posecheck's hold rule on a true series (seconds; degrees in the stretch's direction):
    the (start_s, end_s) of every hold ``posecheck.holds.HoldTracker`` finds."""
    from posecheck.holds import HoldTracker
    tr = HoldTracker(threshold_deg, hysteresis_deg=hysteresis_deg)
    for t, v in zip(times, values, strict=True):
        tr.update(float(t), float(v))
    tr.finish(float(times[-1]) if len(times) else 0.0)
    return [(h.start_s, h.end_s) for h in tr.holds]


def hold_timing(truth: Mapping, summary: Mapping) -> list[tuple[str, float | None, float | None]]:
    """Per true or measured hold of the working leg: (label, start error, end error) in
    seconds (measured - truth). A hold found on one side only has the error of its whole
    duration on both ends (+ for a measured hold the truth lacks, - for a missed one)."""
    from posecheck.stretches import load_catalogue
    cat = load_catalogue()
    side = truth["working_leg"]
    t = np.array([f["t"] for f in truth["frames"]], dtype=float)
    out: list[tuple[str, float | None, float | None]] = []
    for sid, entry in (summary.get("by_stretch") or {}).items():
        if sid not in STRETCH_TRUTH or sid not in cat:
            continue
        key, sign = STRETCH_TRUTH[sid]
        v = sign * np.array([f["truth"][side][key] for f in truth["frames"]], dtype=float)
        want = true_holds(t, v, float(entry["threshold_deg"]), cat[sid].hysteresis_deg)
        got = [(float(h["start_s"]), float(h["end_s"]))
               for h in (entry.get("sides", {}).get(side, {}).get("holds") or [])]
        used: set[int] = set()
        for a, b in want:
            ov = [max(0.0, min(b, d) - max(a, c)) for c, d in got]
            j = int(np.argmax(ov)) if ov else -1
            if j < 0 or ov[j] <= 0:
                out.append((f"{sid} missed {a:.1f}-{b:.1f} s", -(b - a), -(b - a)))
                continue
            used.add(j)
            out.append((f"{sid} {a:.1f}-{b:.1f} s", got[j][0] - a, got[j][1] - b))
        for j, (c, d) in enumerate(got):
            if j not in used:
                out.append((f"{sid} extra {c:.1f}-{d:.1f} s", d - c, d - c))
    return out


def targets(cases: Sequence[Mapping], yaws: Mapping[str, float],
            summaries: Mapping[str, object] | None = None,
            truths: Mapping[str, Mapping] | None = None) -> list[Target]:
    """Issue 10's targets, pooled by view group. ``summaries``: case -> summary.json (for
    the setup message of the wide view and the holds' start and end); missing is treated as
    no message. ``truths``: case -> truth file (for the holds' start and end; without it,
    that row is not printed)."""
    summaries = summaries or {}
    truths = truths or {}
    out: list[Target] = []
    by_group: dict[str, list[Mapping]] = {g: [] for g in GROUPS}
    for c in cases:
        by_group[view_group(yaws.get(c["case"], 0.0))].append(c)

    limits = {FRONT: (2.5, 3.0, (0.9, 1.1)), SIDE: (4.0, 5.0, (0.85, 1.15))}
    for g in GROUPS:
        rot = [c for c in by_group[g] if not is_glute(c)]
        work = [c["sides"][c["working_leg"]] for c in rot]
        if not by_group[g]:
            continue
        # pooled per-frame MAE of the working leg
        n = sum(int(s.get("n") or 0) for s in work if _num(s.get("mae_deg")) is not None)
        mae = (sum(s["mae_deg"] * s["n"] for s in work if _num(s.get("mae_deg")) is not None)
               / n) if n else None
        cov = [(_num(s.get("coverage")) or 0.0) for s in work]
        if g in limits:
            lim_mae, lim_peak, (lo, hi) = limits[g]
            if rot:
                out.append(Target(g, "per-frame MAE (pooled)", f"<= {lim_mae}", mae,
                                  mae is not None and mae <= lim_mae))
                peaks = [(_peak_err(c["sides"][c["working_leg"]], k), f"{c['case']} {k[-2:]}")
                         for c in rot for k in ("peak_ir", "peak_er")]
                pk, where = _worst(peaks)
                out.append(Target(g, "peak IR/ER |error| (worst)", f"<= {lim_peak}", pk,
                                  None if pk is None else pk <= lim_peak, where))
                gains = [_num(s.get("gain")) for s in work]
                got = [x for x in gains if x is not None]
                bad = sorted((x for x in got if not lo <= x <= hi), key=lambda x: -abs(x - 1))
                span = f"{min(got):.2f}..{max(got):.2f}" if got else "--"
                out.append(Target(g, "slope (every case)", f"{lo}-{hi}",
                                  (bad[0] if bad else (got[0] if got else None)),
                                  (not bad and len(got) == len(gains)) if gains else None,
                                  f"range {span}" + ("" if len(got) == len(gains)
                                                     else "; a case has no slope")))
                cmin = min(cov) if cov else None
                out.append(Target(g, "coverage (worst case)", ">= 0.95", cmin,
                                  None if cmin is None else cmin >= 0.95))
        else:  # wide: MAE <= 6 on the values shown, or `--` with a setup message
            if rot:
                msg = all(_has_setup_message(summaries.get(c["case"])) for c in rot
                          if (_num(c["sides"][c["working_leg"]].get("coverage")) or 0) < 0.95)
                ok = (mae is None or mae <= 6.0) and msg
                note = "" if msg else "missing values without a setup message naming the camera"
                if mae is None:
                    note = "no values (--)" + ("; setup message found" if msg else "")
                cmin = min(cov) if cov else None
                if cmin is not None:
                    note = "; ".join(x for x in (note, f"worst coverage {cmin:.2f}") if x)
                out.append(Target(g, "per-frame MAE (pooled), or --", "<= 6 or -- + message",
                                  mae, ok, note))
        # still leg (all views): max |measured - truth| (truth 0 unless hiked/world-locked)
        sm, where = _worst((_num(c["sides"][c["still_leg"]].get("max_abs_error_deg")), c["case"])
                           for c in by_group[g])
        out.append(Target(g, "still leg max |error|", "<= 5", sm,
                          None if sm is None else sm <= 5.0, where))
        # deep glute adduction
        if any(c.get("deep_glute") for c in by_group[g]):
            am, where = _worst((_num((c["deep_glute"].get("all_frames") or {}).get("mae_deg")),
                                c["case"]) for c in by_group[g] if c.get("deep_glute"))
            out.append(Target(g, "deep-glute adduction MAE (worst)", "<= 4", am,
                              am is not None and am <= 4.0, where))
        # holds: duration of each stretch's holds on the working leg (views <= 30 deg)
        if g != WIDE:
            errs = []
            for c in by_group[g]:
                for sid, h in (c["sides"][c["working_leg"]].get("holds") or {}).items():
                    m, t = _num(h.get("measured_hold_s")), _num(h.get("truth_hold_s"))
                    if (t or 0) > 0 or (m or 0) > 0:
                        errs.append((None if m is None or t is None else m - t,
                                     f"{c['case']} {sid}"))
            if errs:
                he, where = _worst(errs)
                out.append(Target(g, "hold duration |error| (worst)", "<= 0.5 s", he,
                                  he is not None and he <= 0.5, where))
            ends = [(e, f"{c['case']} {lab} {which}")
                    for c in by_group[g]
                    if c["case"] in truths and isinstance(summaries.get(c["case"]), Mapping)
                    for lab, e0, e1 in hold_timing(truths[c["case"]], summaries[c["case"]])
                    for e, which in ((e0, "start"), (e1, "end"))]
            if ends:
                ee, where = _worst(ends)
                out.append(Target(g, "hold start/end |error| (worst)", "<= 0.5 s", ee,
                                  ee is not None and ee <= 0.5, where))
    return out


def table(header: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
    """A plain-text table: the first ``left`` columns and the last one left-aligned, the
    others right-aligned."""
    w = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(r: Sequence[str]) -> str:
        return "  ".join(str(x).ljust(w[i]) if i < left or i == len(w) - 1
                         else str(x).rjust(w[i]) for i, x in enumerate(r)).rstrip()

    return "\n".join([line(header), line(["-" * x for x in w]), *(line(r) for r in rows)])


def report(scores: Mapping, yaws: Mapping[str, float],
           summaries: Mapping[str, object] | None = None,
           truths: Mapping[str, Mapping] | None = None) -> tuple[str, list[Target]]:
    """The printed report of one scored set and its targets."""
    cases = scores["cases"]
    tg = targets(cases, yaws, summaries, truths)
    # one more decimal than the bound, so a value shown on the bound is on its right side
    rows = [[t.group, t.metric, t.bound, _fmt(t.value, 3 if "cov" in t.metric or
                                               "slope" in t.metric else 2),
             {True: "PASS", False: "FAIL", None: "n/a"}[t.ok], t.note] for t in tg]
    counts = {g: sum(1 for c in cases if view_group(yaws.get(c["case"], 0.0)) == g)
              for g in GROUPS}
    unknown = [c["case"] for c in cases if c["case"] not in yaws]
    parts = [
        "Per case and side (degrees; W = working leg):",
        table(CASE_HEADER, case_rows(cases, yaws)),
        "",
        "Cases per view: " + ", ".join(f"{g}: {n}" for g, n in counts.items())
        + (f" (camera unknown, counted as front: {', '.join(unknown)})" if unknown else ""),
        "Targets (issue 10):",
        table(["view", "metric", "target", "measured", "result", "note"], rows, left=2),
        "",
        f"targets met: {sum(1 for t in tg if t.ok)} of {sum(1 for t in tg if t.ok is not None)}",
    ]
    return "\n".join(parts), tg


def read_json(path: Path) -> object:
    """A JSON or gzip JSON file."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as fh:
        return json.load(fh)


def set_truths(set_dir: Path) -> dict[str, Mapping]:
    """Case name -> truth file of a rendered set."""
    out = {}
    for p in sorted(set_dir.glob("*.truth.json.gz")) + sorted(set_dir.glob("*.truth.json")):
        tr = read_json(p)
        out[tr["case"]] = tr
    return out


def set_yaws(truths: Mapping[str, Mapping]) -> dict[str, float]:
    """Case name -> camera yaw (deg) from the truth files of a rendered set."""
    return {c: float((tr.get("camera") or {}).get("yaw_deg") or 0.0) for c, tr in truths.items()}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    kit = default_kit()
    ap.add_argument("--kit", type=Path, default=kit,
                    help=f"render kit folder (default: $POSECHECK_RENDER_KIT or {kit})")
    ap.add_argument("--set", type=Path, default=None, dest="set_dir",
                    help="rendered set: folder of <case>.mp4 + <case>.truth.json.gz "
                         "(default: KIT/dev)")
    ap.add_argument("--posecheck", default=shutil.which("posecheck") or "posecheck",
                    help="posecheck executable (default: the one on PATH)")
    ap.add_argument("--out", type=Path, default=None,
                    help="folder for results (default: a temporary folder, removed after)")
    ap.add_argument("--case", default="", help="comma-separated case names (default: all)")
    ap.add_argument("--skip-run", action="store_true",
                    help="do not run posecheck; score the results already in --out")
    ap.add_argument("--scores", type=Path, default=None,
                    help="print the tables of this scorer JSON (no run, no scoring)")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    a = ap.parse_args(argv)

    set_dir = a.set_dir or a.kit / "dev"
    if a.scores is not None:
        try:
            scores = read_json(a.scores)
        except (OSError, ValueError) as e:
            print(f"bench_rendered: cannot read {a.scores}: {e}", file=sys.stderr)
            return 2
        text, tg = report(scores, set_yaws(set_truths(set_dir)) if set_dir.is_dir() else {})
        print(text)
        return 1 if a.strict and any(t.ok is False for t in tg) else 0

    run_py, score_py = a.kit / "run_posecheck.py", a.kit / "score.py"
    if not (run_py.is_file() and score_py.is_file()):
        print(f"bench_rendered: render kit not found at {a.kit} (run_posecheck.py, score.py); "
              "nothing to measure")
        return 0
    if not set_dir.is_dir() or not any(set_dir.glob("*.truth.json*")):
        if a.set_dir is None:
            print(f"bench_rendered: no rendered set at {set_dir}; nothing to measure")
            return 0
        print(f"bench_rendered: {set_dir} holds no <case>.truth.json.gz files", file=sys.stderr)
        return 2
    if a.skip_run and a.out is None:
        print("bench_rendered: --skip-run needs --out (the folder of earlier results)",
              file=sys.stderr)
        return 2

    tmp = None
    out = a.out
    if out is None:
        tmp = tempfile.TemporaryDirectory(prefix="bench_rendered-")
        out = Path(tmp.name)
    try:
        return _run(a, set_dir, out, run_py, score_py)
    finally:
        if tmp is not None:
            tmp.cleanup()


def _run(a: argparse.Namespace, set_dir: Path, out: Path, run_py: Path, score_py: Path) -> int:
    results = out / "results"
    results.mkdir(parents=True, exist_ok=True)
    print(f"set: {set_dir}\nposecheck: {a.posecheck}\nresults: {results}", flush=True)
    if not a.skip_run:
        cmd = [sys.executable, str(run_py), str(set_dir), "--out", str(results),
               "--posecheck", a.posecheck]
        if a.case:
            cmd += ["--case", a.case]
        r = subprocess.run(cmd)
        if r.returncode != 0:
            print("bench_rendered: posecheck failed on some case (see above); scoring the rest")
    truths = [set_dir]
    if a.case:
        want = set(a.case.split(","))
        truths = [p for p in sorted(set_dir.glob("*.truth.json*"))
                  if p.name.split(".truth.json")[0] in want]
    scores_path = out / "scores.json"
    r = subprocess.run([sys.executable, str(score_py), *map(str, truths), "--results",
                        str(results), "--json", str(scores_path), "--md", str(out / "scores.md")],
                       stdout=subprocess.DEVNULL)
    if r.returncode != 0 or not scores_path.is_file():
        print(f"bench_rendered: the scorer failed (exit {r.returncode})", file=sys.stderr)
        return 1
    scores = read_json(scores_path)
    summaries = {}
    for c in scores["cases"]:
        sp = results / c["case"] / "summary.json"
        if sp.is_file():
            summaries[c["case"]] = read_json(sp)
    truths = set_truths(set_dir)
    text, tg = report(scores, set_yaws(truths), summaries, truths)
    print(text)
    if a.out is not None:
        print(f"scorer output: {scores_path} ({out / 'scores.md'})")
    return 1 if a.strict and any(t.ok is False for t in tg) else 0


if __name__ == "__main__":
    sys.exit(main())
