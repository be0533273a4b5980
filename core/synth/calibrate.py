"""How the constants of ``core.synth.outcomes`` were fitted (run again after changing the hazard model).

    .venv/bin/python -c "from core.synth.calibrate import fit; print(fit(100_000, 0))"

Step 1 centres each modality's log-hazard term on its mean over stage IV patients;
step 2 scales each subgroup's Weibull so stage IV medians match COHORT.md.
"""
from __future__ import annotations

import statistics
from collections import defaultdict

from core.synth import outcomes
from core.synth.cohort import draw_cohort


def fit(n: int = 100_000, seed: int = 0) -> tuple[dict[str, dict[str, float]], dict[str, tuple[float, float]]]:
    """(TERM_CENTRE, CALIBRATION) fitted on ``n`` latent patients; restores the module constants afterwards."""
    saved = ({k: dict(v) for k, v in outcomes.TERM_CENTRE.items()}, dict(outcomes.CALIBRATION))
    try:
        for terms in outcomes.TERM_CENTRE.values():
            for m in terms:
                terms[m] = 0.0
        outcomes.CALIBRATION.clear()
        raw: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        for p in draw_cohort(n, seed):
            if p.stage == "IV":
                for m, v in p.lp_terms.items():
                    raw[p.cancer_type][m].append(v)
        centre = {c: {m: round(statistics.fmean(v), 4) for m, v in terms.items()} for c, terms in raw.items()}
        for c, terms in centre.items():
            outcomes.TERM_CENTRE[c].update(terms)
        times: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for p in draw_cohort(n, seed):
            if p.stage == "IV":
                times[p.subgroup].append((p.pfs_months, p.os_months))
        calibration = {}
        for label, v in sorted(times.items()):
            sg = outcomes.SUBGROUPS[label]
            calibration[label] = (round(sg.pfs_months / statistics.median(t[0] for t in v), 3),
                                  round(sg.os_months / statistics.median(t[1] for t in v), 3))
        return centre, calibration
    finally:
        outcomes.TERM_CENTRE.clear()
        outcomes.TERM_CENTRE.update(saved[0])
        outcomes.CALIBRATION.clear()
        outcomes.CALIBRATION.update(saved[1])
