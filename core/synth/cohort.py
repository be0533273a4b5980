"""The latent model of one synthetic patient, drawn from ``numpy.random.Generator([seed, index])``.

Every patient has its own generator, so patient *i* is the same whatever the cohort
size, and files can be written in any order. Frequencies follow
``/work/shared/COHORT.md``; where it gives a range, the value used is written next to
the draw (``# COHORT: ...``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from core.synth import catalog
from core.synth.catalog import FAMILY, FEMALE_GIVEN, MALE_GIVEN, SITES

REFERENCE_BASE = date(2026, 11, 25)  # a Wednesday: the upcoming board meeting of seed 0, 3, 6, ...
N_CURRENT_MAX = 15


def reference_date(seed: int) -> date:
    """Date of the upcoming board meeting, fixed by the seed (a Wednesday)."""
    return REFERENCE_BASE + timedelta(days=7 * (seed % 3))


def n_current(n_patients: int) -> int:
    """How many of ``n_patients`` are current cases on the upcoming agenda (about 15)."""
    return min(N_CURRENT_MAX, max(1, round(n_patients * 0.2)))


@dataclass
class LatentPatient:
    """Everything the generator knows about a patient; files show only parts of it."""

    idx: int
    cohort: str                      # historical / current
    site: str
    mrn: str
    given_name: str
    family_name: str
    sex: str                         # female / male
    birth_date: date
    age_years: float                 # at diagnosis
    east_asian: bool
    cancer_type: str                 # lung / breast / colorectal
    oncotree: str
    histology: str
    primary_site: str                # "right upper lobe", "left breast", "sigmoid colon"
    stage: str                       # I / II / III / IV
    stage_detail: str                # IIIA, IVB ...
    tnm: str
    metastatic_sites: tuple[str, ...]
    ecog: int
    smoking: str                     # never / former / current
    pack_years: float
    weight_loss_pct: float
    symptoms: tuple[str, ...]
    comorbidities: tuple[str, ...]
    family_history: tuple[tuple[str, str, int], ...]   # (relative, cancer, age at diagnosis)
    home_medications: tuple[str, ...]
    # tumour biology
    drivers: tuple[str, ...]         # "EGFR p.L858R", "ALK fusion", "ERBB2 amplification"
    passengers: tuple[str, ...]      # catalogue keys
    vus: tuple[tuple[str, int], ...]  # (gene, codon) variants of uncertain significance
    germline_brca: bool
    er_pct: int | None               # None: not applicable (not breast)
    pr_pct: int | None
    her2_ihc: str | None             # 0, 1+, 2+, 3+
    her2_amplified: bool | None
    pdl1_tps: int | None             # % (lung)
    pdl1_tested: bool
    alk_ihc_tested: bool
    mmr_ihc_tested: bool
    msi_high: bool
    tmb: float                       # mut/Mb
    # modalities
    sequenced: bool
    panel: str | None
    genome_build: str
    genomics_format: str             # ann / csq / unannotated / maf / none
    has_imaging: bool
    lesion_size_mm: float
    margin: str                      # smooth / lobulated / spiculated
    heterogeneity: float             # 0..1
    growth_per_month: float          # exponential growth rate of the untreated lesion
    body_part: str
    has_labs: bool
    albumin: float
    ldh: float
    cea: float
    ca15_3: float
    hgb: float
    # discrepancies and quirks
    disc_note_vs_vcf: str | None     # gene the pathology note wrongly calls negative
    disc_report_vs_image: bool       # baseline radiology report says "no measurable mass"
    headerless_notes: bool           # some notes arrive without header (document manifest)
    # dates (filled by outcomes.assign_course)
    diagnosis_date: date
    board_date: date
    aggressiveness: float
    fitness: float
    # outcome (filled by outcomes)
    subgroup: str = ""
    driver_known: bool = False
    targeted: bool = False
    line1: str = ""                  # first treatment (the early-stage plan for stage I-III)
    metastatic_line1: str = ""       # first-line therapy for metastatic disease (at recurrence for stage I-III)
    line2: str = ""
    response_depth: float = 0.0
    lp_terms: dict[str, float] = field(default_factory=dict)
    pfs_months: float = math.nan     # latent, from board date
    os_months: float = math.nan
    followup_months: float = math.nan  # observed window from board date (historical)
    pfs_event: bool = False
    os_event: bool = False

    @property
    def name_dicom(self) -> str:
        return f"{self.family_name.upper()}^{self.given_name.upper()}"

    @property
    def is_current(self) -> bool:
        return self.cohort == "current"

    def has_driver(self, gene: str) -> bool:
        return any(d.split(" ")[0] == gene for d in self.drivers)


def _pick(rng: np.random.Generator, items: list | tuple, p: list[float] | None = None):
    """One item, uniformly or with weights ``p`` (need not sum to 1); one uniform draw, fast."""
    if p is None:
        return items[int(rng.random() * len(items))]
    u = rng.random() * sum(p)
    acc = 0.0
    for item, w in zip(items, p):
        acc += w
        if u < acc:
            return item
    return items[-1]


def _clip(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else hi if x > hi else float(x)


def _mrn(idx: int, seed: int) -> str:
    # a bijection on [0, 60M): unique MRNs without bookkeeping
    return str(30_000_000 + (idx * 7_368_787 + seed * 104_729) % 60_000_000)


def draw_patient(seed: int, idx: int, cohort: str, ref: date) -> LatentPatient:
    """Draw one patient's latent variables (outcomes are drawn by ``core.synth.outcomes``)."""
    rng = np.random.default_rng([seed, idx])
    # COHORT: lung 45%, breast 30%, colorectal 25%
    cancer = _pick(rng, ["lung", "breast", "colorectal"], [0.45, 0.30, 0.25])
    aggr = float(rng.normal())
    fit = float(rng.normal())
    east_asian = bool(rng.random() < 0.08)

    if cancer == "lung":
        sex = "female" if rng.random() < 0.5 else "male"                       # COHORT: ~50/50
        age = float(_clip(rng.normal(70, 8.5), 38, 92))                     # COHORT: median ~70
    elif cancer == "breast":
        sex = "female" if rng.random() < 0.99 else "male"                      # COHORT: ~99% female
        age = float(_clip(rng.normal(62, 12), 27, 92))                      # COHORT: median ~62
    else:
        sex = "male" if rng.random() < 0.55 else "female"                      # COHORT: ~55% male
        age = float(_clip(rng.normal(67, 11.5), 24, 94))                    # COHORT: median ~67

    # smoking
    if cancer == "lung":
        smoking = _pick(rng, ["never", "former", "current"], [0.17, 0.53, 0.30])
    else:
        smoking = _pick(rng, ["never", "former", "current"], [0.55, 0.33, 0.12])
    pack_years = 0.0 if smoking == "never" else float(round(_clip(rng.lognormal(math.log(32), 0.5), 2, 150)))

    g = _lung if cancer == "lung" else _breast if cancer == "breast" else _colorectal
    bio = g(rng, sex=sex, age=age, smoking=smoking, east_asian=east_asian, aggr=aggr)

    # stage and extent
    stage = bio.pop("stage")
    stage_detail, tnm = _tnm(rng, cancer, stage)
    mets = _mets(rng, cancer) if stage == "IV" else ()

    # performance status: fitness, age and stage
    ecog_latent = -fit + 0.03 * (age - 65) + (0.45 if stage == "IV" else 0.0) + 0.25 * aggr
    # cut points give ECOG 0-1 in ~80% (COHORT: ~80%)
    ecog = int(np.searchsorted([-0.35, 1.2, 2.0], ecog_latent + rng.normal(0, 0.45)))
    weight_loss = float(max(0.0, rng.normal(2.0 + 2.5 * max(aggr, 0) + (2.0 if stage == "IV" else 0), 2.5)))
    symptoms = _symptoms(rng, cancer, stage, weight_loss)

    # imaging latent
    size_mu = {"I": 19, "II": 32, "III": 44, "IV": 42}[stage] * (0.85 if cancer == "breast" else 1.15 if cancer == "colorectal" else 1.0)
    size = float(_clip(rng.lognormal(math.log(size_mu) + 0.08 * aggr, 0.28), 7, 110))
    m_lat = 0.9 * aggr + rng.normal(0, 0.8) + {"lung": 0.2, "breast": 0.0, "colorectal": -0.5}[cancer]
    margin = "smooth" if m_lat < -0.6 else "lobulated" if m_lat < 0.45 else "spiculated"
    het = float(_clip(rng.beta(2.2, 2.8) + 0.12 * aggr, 0.02, 0.98))
    doubling = float(_clip(rng.lognormal(math.log(5.0) - 0.35 * aggr, 0.45), 1.0, 40.0))  # months
    growth = math.log(2) / doubling
    body_part = "ABDOMEN" if cancer == "colorectal" else "CHEST"

    # labs latent
    albumin = float(_clip(rng.normal(4.0 + 0.18 * fit - 0.12 * max(aggr, 0) - (0.25 if stage == "IV" else 0), 0.32), 1.8, 5.2))
    ldh = float(_clip(rng.lognormal(math.log(190) + 0.16 * aggr + (0.22 if stage == "IV" else 0) + 0.004 * (size - 30), 0.22), 90, 2500))
    cea_mu = {"lung": 2.5, "breast": 1.8, "colorectal": 4.0}[cancer] * {"I": 0.8, "II": 1.0, "III": 1.6, "IV": 6.0}[stage]
    cea = float(_clip(rng.lognormal(math.log(cea_mu) + 0.25 * aggr, 0.7), 0.3, 3000))
    ca15_3 = float(_clip(rng.lognormal(math.log(18 * (3.5 if stage == "IV" else 1.0)), 0.5), 3, 2000))
    hgb = float(_clip(rng.normal((13.8 if sex == "male" else 12.9) + 0.3 * fit - (0.7 if stage == "IV" else 0)
                                   - (0.6 if cancer == "colorectal" else 0), 1.1), 6.5, 17.5))

    # modalities present (COHORT: sequencing far from all; imaging most)
    p_seq = 0.62 if not (cancer == "breast" and stage in ("I", "II")) else 0.45
    if cancer == "lung" and bio["oncotree"] in ("LUAD", "NSCLC") or stage == "IV":
        p_seq = 0.72
    sequenced = bool(rng.random() < p_seq)
    panel = _pick(rng, ["hotspot_50", "comprehensive_300"], [0.35, 0.65]) if sequenced else None
    build = "GRCh38" if rng.random() < 0.7 else "GRCh37"
    fmt_u = rng.random()
    gfmt = ("none" if not sequenced else "ann" if fmt_u < 0.55 else "csq" if fmt_u < 0.72
            else "unannotated" if fmt_u < 0.87 else "maf")                   # ~15% unannotated VCF
    has_imaging = bool(rng.random() < 0.80)
    has_labs = bool(rng.random() < 0.92)

    drivers: tuple[str, ...] = bio.pop("drivers")
    passengers: tuple[str, ...] = bio.pop("passengers")
    tmb = bio.pop("tmb")
    n_vus = int(min(rng.poisson(max(tmb, 0.5) * 0.8), 30))
    vus = tuple(sorted({(_pick(rng, list(catalog.PASSENGER_GENES)), int(rng.integers(20, 400))) for _ in range(n_vus)}))

    # deliberate discrepancies, ~5% each of the eligible
    egfr_kras = [d for d in drivers if d.split(" ")[0] in ("EGFR", "KRAS") and " p." in d]
    disc_note = egfr_kras[0].split(" ")[0] if (sequenced and egfr_kras and rng.random() < 0.2) else None
    disc_img = bool(has_imaging and rng.random() < 0.05)
    headerless = bool(rng.random() < 0.04)

    sex_given = FEMALE_GIVEN if sex == "female" else MALE_GIVEN
    given = _pick(rng, sex_given)
    family = _pick(rng, FAMILY)
    site = SITES[0] if rng.random() < 0.8 else SITES[1]

    if cohort == "current":
        board = ref
        dx = board - timedelta(days=int(rng.integers(14, 60)))
    else:
        span = int(rng.integers(60, 6 * 365))
        board = ref - timedelta(days=span)
        board -= timedelta(days=(board.weekday() - 2) % 7)  # boards meet on Wednesdays
        dx = board - timedelta(days=int(rng.integers(10, 40)))
    birth = dx - timedelta(days=int(age * 365.25))

    fam = _family_history(rng, cancer, bio.get("germline_brca", False))
    comorb = _comorbidities(rng, age, smoking)
    meds = _home_meds(rng, comorb)

    return LatentPatient(
        idx=idx, cohort=cohort, site=site, mrn=_mrn(idx, seed), given_name=given, family_name=family,
        sex=sex, birth_date=birth, age_years=round(age, 1), east_asian=east_asian, cancer_type=cancer,
        stage=stage, stage_detail=stage_detail, tnm=tnm, metastatic_sites=mets, ecog=ecog, smoking=smoking,
        pack_years=pack_years, weight_loss_pct=round(weight_loss, 1), symptoms=symptoms, comorbidities=comorb,
        family_history=fam, home_medications=meds, drivers=drivers, passengers=passengers, vus=vus, tmb=tmb,
        sequenced=sequenced, panel=panel, genome_build=build, genomics_format=gfmt, has_imaging=has_imaging,
        lesion_size_mm=round(size, 1), margin=margin, heterogeneity=round(het, 3), growth_per_month=round(growth, 4),
        body_part=body_part, has_labs=has_labs, albumin=albumin, ldh=ldh, cea=cea,
        ca15_3=ca15_3, hgb=hgb, disc_note_vs_vcf=disc_note, disc_report_vs_image=disc_img,
        headerless_notes=headerless, diagnosis_date=dx, board_date=board, aggressiveness=aggr, fitness=fit,
        **bio,
    )


# ---- per cancer type -------------------------------------------------------------------------

def _lung(rng: np.random.Generator, *, sex: str, age: float, smoking: str, east_asian: bool, aggr: float) -> dict:
    # COHORT: NSCLC ~85% (adeno 70% / squamous 25% / NOS 5% of it), SCLC ~15%
    h = _pick(rng, ["LUAD", "LUSC", "NSCLC", "SCLC"], [0.595, 0.2125, 0.0425, 0.15])
    if smoking == "never" and h in ("LUSC", "SCLC") and rng.random() < 0.8:
        h = "LUAD"
    histology = {"LUAD": "adenocarcinoma", "LUSC": "squamous cell carcinoma",
                 "NSCLC": "non-small cell carcinoma, not otherwise specified", "SCLC": "small cell carcinoma"}[h]
    stage = _pick(rng, ["I", "II", "III", "IV"], [0.16, 0.12, 0.22, 0.50])   # COHORT: stage IV ~50%
    if h == "SCLC" and rng.random() < 0.3:
        stage = "IV"                                                          # extensive stage is common
    lobe = _pick(rng, ["right upper lobe", "right middle lobe", "right lower lobe", "left upper lobe",
                       "left lower lobe"], [0.32, 0.06, 0.2, 0.27, 0.15])
    drivers: list[str] = []
    passengers: list[str] = []
    if h in ("LUAD", "NSCLC"):
        scale = 1.0 if h == "LUAD" else 0.5
        never = smoking == "never"
        # EGFR ~15% overall (COHORT), enriched in never-smokers, women, East Asian ancestry
        w_egfr = 0.045 + 0.33 * never + 0.04 * (sex == "female") + 0.33 * east_asian
        w_kras = 0.10 if never else 0.36                                      # KRAS ~30% overall, smokers
        w_alk = 0.11 if never else 0.025                                      # ALK ~4%
        table = {"EGFR": w_egfr, "KRAS": w_kras, "ALK": w_alk, "BRAF": 0.02, "MET": 0.03,
                 "RET": 0.015, "ROS1": 0.015, "ERBB2": 0.02}                 # ROS1/RET 1.5% (COHORT 1-2%)
        total = sum(table.values()) * scale
        u = rng.random()
        if u < total:
            gene = _pick(rng, list(table), list(table.values()))
            drivers.append(_lung_driver(rng, gene))
        tp53 = rng.random() < (0.42 if drivers and drivers[0].startswith("EGFR") else 0.5)
        stk11_p = 0.22 if drivers and drivers[0].startswith("KRAS") else 0.05 if drivers else 0.15
        stk11 = rng.random() < stk11_p * (0.5 if never else 1.0)
        keap1 = rng.random() < (0.45 if stk11 else 0.08)
    elif h == "LUSC":
        if rng.random() < 0.03:
            drivers.append(_lung_driver(rng, "KRAS"))
        tp53, stk11, keap1 = rng.random() < 0.8, rng.random() < 0.03, rng.random() < 0.12
        if rng.random() < 0.1:
            passengers.append(_pick(rng, ["PIK3CA p.E545K", "PIK3CA p.H1047R"]))
    else:  # SCLC: TP53 and RB1 loss in nearly all
        tp53, stk11, keap1 = rng.random() < 0.95, False, False
        if rng.random() < 0.9:
            passengers.append("RB1 p.R320*")
    if tp53:
        passengers.append(_pick(rng, ["TP53 p.R175H", "TP53 p.R248Q", "TP53 p.R248W", "TP53 p.R273H",
                                      "TP53 p.R282W", "TP53 p.Y220C"]))
    if stk11:
        passengers.append("STK11 p.Q37*")
    if keap1:
        passengers.append("KEAP1 p.G333C")
    # PD-L1 TPS: <1% ~1/3, 1-49% ~1/3, >=50% ~30% (COHORT); lower with EGFR/ALK
    pcat = _pick(rng, ["neg", "low", "high"], [0.45, 0.37, 0.18] if drivers and drivers[0].split()[0] in ("EGFR", "ALK")
                 else [0.33, 0.36, 0.31])
    tps = 0 if pcat == "neg" else int(rng.integers(1, 50)) if pcat == "low" else int(rng.integers(50, 101))
    if pcat == "high":
        tps = int(min(100, round(tps / 5) * 5))
    msi = bool(rng.random() < 0.005)
    tmb_med = 3.0 if smoking == "never" else 9.0                              # COHORT: smokers median ~8-10
    tmb = round(_clip(rng.lognormal(math.log(tmb_med), 0.6) + (25 if msi else 0), 0.3, 120), 1)
    return dict(oncotree=h, histology=histology, primary_site=lobe, stage=stage, drivers=tuple(drivers),
                passengers=tuple(passengers), tmb=tmb, germline_brca=False, er_pct=None, pr_pct=None,
                her2_ihc=None, her2_amplified=None, pdl1_tps=tps if h != "SCLC" else None,
                pdl1_tested=bool(h != "SCLC" and rng.random() < 0.85), alk_ihc_tested=bool(h == "LUAD" and rng.random() < 0.5),
                mmr_ihc_tested=False, msi_high=msi)


def _lung_driver(rng: np.random.Generator, gene: str) -> str:
    if gene == "EGFR":  # COHORT: exon 19 del ~45%, L858R ~40%
        return _pick(rng, ["EGFR p.E746_A750del", "EGFR p.L858R", "EGFR p.L861Q"], [0.45, 0.40, 0.15])
    if gene == "KRAS":  # COHORT: G12C ~40% of KRAS
        return _pick(rng, ["KRAS p.G12C", "KRAS p.G12V", "KRAS p.G12D", "KRAS p.G12A", "KRAS p.G13D", "KRAS p.Q61H"],
                     [0.40, 0.20, 0.16, 0.10, 0.06, 0.08])
    return {"ALK": "ALK fusion", "BRAF": "BRAF p.V600E", "MET": "MET p.X1010_splice", "RET": "RET fusion",
            "ROS1": "ROS1 fusion", "ERBB2": "ERBB2 p.S310F"}[gene]


def _breast(rng: np.random.Generator, *, sex: str, age: float, smoking: str, east_asian: bool, aggr: float) -> dict:
    h = _pick(rng, ["IDC", "ILC", "BRCA"], [0.8, 0.12, 0.08])
    histology = {"IDC": "invasive ductal carcinoma", "ILC": "invasive lobular carcinoma",
                 "BRCA": "invasive carcinoma of no special type with mixed features"}[h]
    stage = _pick(rng, ["I", "II", "III", "IV"], [0.38, 0.38, 0.18, 0.06])   # COHORT: stage IV ~6%
    side = _pick(rng, ["left breast", "right breast"])
    # COHORT: HR+/HER2- ~70%, HER2+ 17% (picked within 15-20%), TNBC 13% (picked within 10-15%)
    sub = _pick(rng, ["hr", "her2", "tn"], [0.70, 0.17, 0.13])
    if h == "ILC" and sub == "tn":
        sub = "hr"
    if sub == "hr" or (sub == "her2" and rng.random() < 0.55):
        er = int(_clip(round(rng.normal(85, 12) / 5) * 5, 10, 100))
        pr = int(_clip(round(rng.normal(60, 30) / 5) * 5, 0, 100)) if rng.random() < 0.82 else 0
    else:
        er, pr = 0, 0
    if sub == "her2":
        her2_ihc, amp = ("3+", True) if rng.random() < 0.85 else ("2+", True)
    else:
        her2_ihc = _pick(rng, ["0", "1+", "2+"], [0.4, 0.35, 0.25])
        amp = False
    germline = bool(rng.random() < (0.15 if sub == "tn" else 0.035))        # ~5% overall, 15% of TNBC
    drivers: list[str] = []
    passengers: list[str] = []
    if germline:
        drivers.append(_pick(rng, ["BRCA1 p.E23Vfs*17", "BRCA1 p.Q1756Pfs*74"]) if (sub == "tn" or rng.random() < 0.4)
                       else "BRCA2 p.S1982Rfs*22")
    p_pik = {"hr": 0.40, "her2": 0.25, "tn": 0.10}[sub]                        # COHORT: PIK3CA ~40% of HR+/HER2-
    if rng.random() < p_pik:
        drivers.append(_pick(rng, ["PIK3CA p.H1047R", "PIK3CA p.E545K", "PIK3CA p.E542K"], [0.5, 0.32, 0.18]))
    if er > 0 and rng.random() < (0.25 if stage == "IV" else 0.02):          # ESR1: metastatic after AI
        drivers.append(_pick(rng, ["ESR1 p.D538G", "ESR1 p.Y537S"]))
    if amp:
        drivers.append("ERBB2 amplification")
    if rng.random() < {"hr": 0.2, "her2": 0.7, "tn": 0.8}[sub]:
        passengers.append(_pick(rng, ["TP53 p.R175H", "TP53 p.R248Q", "TP53 p.R273H", "TP53 p.Y220C"]))
    if h == "ILC" and rng.random() < 0.9:
        passengers.append("CDH1 p.Q23*")
    tmb = round(_clip(rng.lognormal(math.log(2.5), 0.5), 0.3, 40), 1)  # COHORT: ~2-3
    return dict(oncotree=h, histology=histology, primary_site=side, stage=stage, drivers=tuple(drivers),
                passengers=tuple(passengers), tmb=tmb, germline_brca=germline, er_pct=er, pr_pct=pr,
                her2_ihc=her2_ihc, her2_amplified=amp, pdl1_tps=None, pdl1_tested=False, alk_ihc_tested=False,
                mmr_ihc_tested=False, msi_high=False)


def _colorectal(rng: np.random.Generator, *, sex: str, age: float, smoking: str, east_asian: bool, aggr: float) -> dict:
    h = _pick(rng, ["COAD", "READ"], [0.72, 0.28])
    stage = _pick(rng, ["I", "II", "III", "IV"], [0.18, 0.28, 0.34, 0.20])   # COHORT: stage IV ~20%
    if h == "COAD":
        right = rng.random() < 0.38
        site = _pick(rng, ["cecum", "ascending colon", "hepatic flexure"]) if right else \
            _pick(rng, ["descending colon", "sigmoid colon", "transverse colon"], [0.3, 0.55, 0.15])
    else:
        right, site = False, "rectum"
    histology = "adenocarcinoma" if rng.random() < 0.9 else "mucinous adenocarcinoma"
    # COHORT: MSI-H ~15% of stage II-III (picked 15%), ~4% of metastatic (picked 4%); right-sided, older, women
    p_msi = 0.04 if stage == "IV" else 0.15
    p_msi *= (2.0 if right else 0.55) * (1.2 if sex == "female" else 0.85) * (1.3 if age > 70 else 0.9)
    msi = bool(rng.random() < min(p_msi, 0.6))
    drivers: list[str] = []
    passengers: list[str] = []
    # COHORT: BRAF V600E ~9% (picked within 8-10), often MSI-H; KRAS ~42% (picked within 40-45%); NRAS ~4%
    p_braf = 0.45 if msi else (0.09 if right else 0.03)
    u = rng.random()
    if u < p_braf:
        drivers.append("BRAF p.V600E")
    elif u < p_braf + (0.25 if msi else 0.47):
        drivers.append(_pick(rng, ["KRAS p.G12D", "KRAS p.G12V", "KRAS p.G13D", "KRAS p.G12C", "KRAS p.G12A", "KRAS p.Q61H"],
                             [0.36, 0.25, 0.18, 0.085, 0.07, 0.055]))              # G12C ~3.5% overall
    elif u < p_braf + (0.25 if msi else 0.47) + 0.045:
        drivers.append("NRAS p.Q61K")
    elif rng.random() < 0.07:                                                  # ERBB2 amp ~4% of RAS wild-type
        drivers.append("ERBB2 amplification")
    if rng.random() < 0.17:                                                    # PIK3CA ~17%
        drivers.append(_pick(rng, ["PIK3CA p.E545K", "PIK3CA p.H1047R", "PIK3CA p.E542K"], [0.45, 0.35, 0.2]))
    if rng.random() < (0.35 if msi else 0.80):                                 # APC ~75%
        passengers.append(_pick(rng, ["APC p.R1450*", "APC p.R876*", "APC p.R1114*", "APC p.Q1367*"]))
    if rng.random() < (0.3 if msi else 0.63):                                  # TP53 ~60%
        passengers.append(_pick(rng, ["TP53 p.R175H", "TP53 p.R248W", "TP53 p.R273H", "TP53 p.R282W"]))
    if rng.random() < 0.12:
        passengers.append("SMAD4 p.R361H")
    if rng.random() < (0.25 if msi else 0.08):
        passengers.append("FBXW7 p.R465C")
    tmb = round(_clip(rng.lognormal(math.log(38 if msi else 4.0), 0.45 if msi else 0.5), 0.3, 150), 1)
    if msi:
        tmb = max(tmb, 12.0)
    return dict(oncotree=h, histology=histology, primary_site=site, stage=stage, drivers=tuple(drivers),
                passengers=tuple(passengers), tmb=tmb, germline_brca=False, er_pct=None, pr_pct=None,
                her2_ihc=None, her2_amplified=None, pdl1_tps=None, pdl1_tested=False, alk_ihc_tested=False,
                mmr_ihc_tested=bool(rng.random() < 0.85), msi_high=msi)


def _tnm(rng: np.random.Generator, cancer: str, stage: str) -> tuple[str, str]:
    if cancer == "colorectal":
        opts = {"I": [("I", "pT2 N0 M0"), ("I", "pT1 N0 M0")],
                "II": [("IIA", "pT3 N0 M0"), ("IIB", "pT4a N0 M0")],
                "III": [("IIIA", "pT2 N1a M0"), ("IIIB", "pT3 N1b M0"), ("IIIC", "pT4a N2a M0")],
                "IV": [("IVA", "cT3 N1 M1a"), ("IVB", "cT4a N2 M1b"), ("IVC", "cT3 N2 M1c")]}[stage]
    elif cancer == "breast":
        opts = {"I": [("IA", "pT1c N0 M0"), ("IB", "pT1b N1mi M0")],
                "II": [("IIA", "pT2 N0 M0"), ("IIB", "pT2 N1a M0")],
                "III": [("IIIA", "pT3 N1 M0"), ("IIIB", "cT4b N1 M0"), ("IIIC", "pT2 N3a M0")],
                "IV": [("IV", "cT2 N1 M1")]}[stage]
    else:
        opts = {"I": [("IA2", "cT1b N0 M0"), ("IB", "cT2a N0 M0")],
                "II": [("IIA", "cT2b N0 M0"), ("IIB", "cT3 N0 M0")],
                "III": [("IIIA", "cT2a N2 M0"), ("IIIB", "cT3 N2 M0"), ("IIIC", "cT4 N3 M0")],
                "IV": [("IVA", "cT2b N2 M1a"), ("IVA", "cT3 N1 M1b"), ("IVB", "cT4 N3 M1c")]}[stage]
    return _pick(rng, opts)


def _mets(rng: np.random.Generator, cancer: str) -> tuple[str, ...]:
    pool = {"lung": ["bone", "brain", "liver", "adrenal gland", "contralateral lung", "pleura"],
            "breast": ["bone", "liver", "lung", "lymph nodes"],
            "colorectal": ["liver", "lung", "peritoneum"]}[cancer]
    k = int(rng.integers(1, 3))
    return tuple(sorted(set(_pick(rng, pool) for _ in range(k))))


def _symptoms(rng: np.random.Generator, cancer: str, stage: str, weight_loss: float) -> tuple[str, ...]:
    pool = {"lung": ["cough", "dyspnea on exertion", "hemoptysis", "chest wall pain", "fatigue"],
            "breast": ["palpable mass", "breast pain", "fatigue", "back pain"],
            "colorectal": ["rectal bleeding", "change in bowel habits", "abdominal pain", "fatigue"]}[cancer]
    n = int(rng.integers(0, 2)) + (1 if stage in ("III", "IV") else 0)
    out = {_pick(rng, pool) for _ in range(n)}
    if weight_loss > 5:
        out.add("unintentional weight loss")
    return tuple(sorted(out))


def _family_history(rng: np.random.Generator, cancer: str, germline: bool) -> tuple[tuple[str, str, int], ...]:
    out = []
    if rng.random() < 0.35 or germline:
        rel = _pick(rng, ["mother", "father", "sister", "brother", "maternal aunt", "paternal grandmother"])
        can = _pick(rng, ["breast cancer", "ovarian cancer"]) if germline else \
            _pick(rng, ["breast cancer", "colon cancer", "prostate cancer", "lung cancer", "pancreatic cancer"])
        out.append((rel, can, int(rng.integers(42, 82))))
    if rng.random() < 0.12:
        out.append((_pick(rng, ["father", "uncle", "grandfather"]), "colon cancer", int(rng.integers(50, 85))))
    return tuple(out)


COMORBIDITIES = ("hypertension", "type 2 diabetes mellitus", "hyperlipidemia", "COPD", "coronary artery disease",
                 "hypothyroidism", "chronic kidney disease stage 3", "atrial fibrillation", "osteoarthritis")
HOME_MEDS = {"hypertension": "lisinopril 10 mg daily", "type 2 diabetes mellitus": "metformin 1000 mg twice daily",
             "hyperlipidemia": "atorvastatin 40 mg nightly", "COPD": "tiotropium inhaler daily",
             "coronary artery disease": "aspirin 81 mg daily", "hypothyroidism": "levothyroxine 75 mcg daily",
             "atrial fibrillation": "apixaban 5 mg twice daily", "osteoarthritis": "acetaminophen 500 mg as needed",
             "chronic kidney disease stage 3": "amlodipine 5 mg daily"}


def _comorbidities(rng: np.random.Generator, age: float, smoking: str) -> tuple[str, ...]:
    out = set()
    for c in COMORBIDITIES:
        p = 0.05 + 0.004 * max(age - 50, 0)
        if c == "COPD" and smoking != "never":
            p += 0.25
        if c == "hypertension":
            p += 0.25
        if rng.random() < p:
            out.add(c)
    return tuple(sorted(out))


def _home_meds(rng: np.random.Generator, comorb: tuple[str, ...]) -> tuple[str, ...]:
    meds = [HOME_MEDS[c] for c in comorb if c in HOME_MEDS]
    if rng.random() < 0.3:
        meds.append("omeprazole 20 mg daily")
    return tuple(meds)


def draw_cohort(n: int, seed: int, *, progress=None) -> list[LatentPatient]:
    """Draw ``n`` patients with outcomes; the first ``n_current(n)`` are current board cases."""
    from core.synth.outcomes import assign_outcome

    ref = reference_date(seed)
    k = n_current(n)
    it = range(n) if progress is None else progress(range(n))
    out = []
    for i in it:
        p = draw_patient(seed, i, "current" if i < k else "historical", ref)
        if i == 0:
            _make_showcase(p)
        elif i == 1 and p.has_imaging:
            p.disc_report_vs_image = True
        assign_outcome(p, seed, ref)
        out.append(p)
    return out


def _make_showcase(p: LatentPatient) -> None:
    """Patient 0 is the DESIGN.md story: 64-year-old former smoker, right upper lobe mass, EGFR L858R,
    a pathology note that says "EGFR negative (IHC)", no PD-L1 on file."""
    p.cancer_type, p.oncotree, p.histology = "lung", "LUAD", "adenocarcinoma"
    p.primary_site, p.stage, p.stage_detail, p.tnm = "right upper lobe", "IV", "IVA", "cT2b N2 M1b"
    p.metastatic_sites = ("bone",)
    p.age_years, p.smoking, p.pack_years, p.ecog = 64.0, "former", 25.0, 1
    p.birth_date = p.diagnosis_date - timedelta(days=int(64.4 * 365.25))
    p.drivers, p.passengers = ("EGFR p.L858R",), ("TP53 p.R273H",)
    p.sequenced, p.panel, p.genomics_format, p.genome_build = True, "comprehensive_300", "ann", "GRCh38"
    p.has_imaging, p.body_part, p.margin, p.lesion_size_mm = True, "CHEST", "spiculated", 38.0
    p.pdl1_tested, p.pdl1_tps, p.alk_ihc_tested = False, 20, True
    p.disc_note_vs_vcf, p.disc_report_vs_image, p.headerless_notes = "EGFR", False, False
    p.er_pct = p.pr_pct = None
    p.her2_ihc, p.her2_amplified, p.germline_brca, p.msi_high, p.tmb = None, None, False, False, 4.1
    p.symptoms = ("cough", "dyspnea on exertion")
