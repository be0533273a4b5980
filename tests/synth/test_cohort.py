"""The latent cohort: realistic frequencies, designed missingness, outcome calibration (no files written)."""
from __future__ import annotations

import statistics

import pytest

from core.synth import cohort, outcomes
from core.synth.cohort import LatentPatient

N = 2000


@pytest.fixture(scope="module")
def patients() -> list[LatentPatient]:
    return cohort.draw_cohort(N, 7)


def share(pop: list[LatentPatient], pred) -> float:
    return sum(1 for p in pop if pred(p)) / len(pop)


def test_cancer_types_and_demographics(patients):
    assert share(patients, lambda p: p.cancer_type == "lung") == pytest.approx(0.45, abs=0.04)
    assert share(patients, lambda p: p.cancer_type == "breast") == pytest.approx(0.30, abs=0.04)
    assert share(patients, lambda p: p.cancer_type == "colorectal") == pytest.approx(0.25, abs=0.04)
    breast = [p for p in patients if p.cancer_type == "breast"]
    assert share(breast, lambda p: p.sex == "female") > 0.97
    lung = [p for p in patients if p.cancer_type == "lung"]
    assert statistics.median(p.age_years for p in lung) == pytest.approx(70, abs=2.5)
    assert share(lung, lambda p: p.stage == "IV") == pytest.approx(0.5, abs=0.07)
    assert share(patients, lambda p: p.ecog <= 1) == pytest.approx(0.8, abs=0.06)


def test_lung_drivers(patients):
    luad = [p for p in patients if p.oncotree == "LUAD"]
    assert share(luad, lambda p: p.has_driver("EGFR")) == pytest.approx(0.15, abs=0.05)
    assert share(luad, lambda p: p.has_driver("KRAS")) == pytest.approx(0.30, abs=0.06)
    assert share(luad, lambda p: "KRAS p.G12C" in p.drivers) == pytest.approx(0.12, abs=0.04)
    assert share(luad, lambda p: p.has_driver("ALK")) == pytest.approx(0.04, abs=0.025)
    # drivers are mutually exclusive in lung adenocarcinoma
    assert all(len(p.drivers) <= 1 for p in luad)
    never = [p for p in luad if p.smoking == "never"]
    smokers = [p for p in luad if p.smoking != "never"]
    assert share(never, lambda p: p.has_driver("EGFR")) > 2 * share(smokers, lambda p: p.has_driver("EGFR"))
    nsclc = [p for p in patients if p.cancer_type == "lung" and p.oncotree != "SCLC"]
    assert share(nsclc, lambda p: (p.pdl1_tps or 0) >= 50) == pytest.approx(0.30, abs=0.06)


def test_breast_and_colorectal_biology(patients):
    breast = [p for p in patients if p.cancer_type == "breast"]
    assert share(breast, lambda p: (p.er_pct or 0) > 0 and not p.her2_amplified) == pytest.approx(0.70, abs=0.06)
    assert share(breast, lambda p: bool(p.her2_amplified)) == pytest.approx(0.17, abs=0.05)
    hr = [p for p in breast if (p.er_pct or 0) > 0 and not p.her2_amplified]
    assert share(hr, lambda p: p.has_driver("PIK3CA")) == pytest.approx(0.40, abs=0.07)
    crc = [p for p in patients if p.cancer_type == "colorectal"]
    assert share(crc, lambda p: p.has_driver("KRAS")) == pytest.approx(0.42, abs=0.07)
    assert share(crc, lambda p: p.has_driver("BRAF")) == pytest.approx(0.09, abs=0.04)
    assert share(crc, lambda p: any(x.startswith("APC") for x in p.passengers)) == pytest.approx(0.75, abs=0.08)
    msi = [p for p in crc if p.msi_high]
    assert statistics.median(p.tmb for p in msi) > 10
    assert statistics.median(p.tmb for p in crc if not p.msi_high) < 6


def test_modalities_present_at_designed_rates(patients):
    assert share(patients, lambda p: p.sequenced) == pytest.approx(0.62, abs=0.05)
    assert share(patients, lambda p: p.has_imaging) == pytest.approx(0.80, abs=0.04)
    assert share(patients, lambda p: p.has_labs) == pytest.approx(0.92, abs=0.04)
    seq = [p for p in patients if p.sequenced]
    assert share(seq, lambda p: p.genomics_format == "unannotated") == pytest.approx(0.15, abs=0.04)
    assert share(seq, lambda p: p.panel == "hotspot_50") == pytest.approx(0.35, abs=0.06)
    assert not any(p.sequenced for p in patients if p.genomics_format == "none")


def test_discrepancies_at_about_five_percent(patients):
    seq = [p for p in patients if p.sequenced]
    imaged = [p for p in patients if p.has_imaging]
    assert share(seq, lambda p: p.disc_note_vs_vcf is not None) == pytest.approx(0.05, abs=0.03)
    assert share(imaged, lambda p: p.disc_report_vs_image) == pytest.approx(0.05, abs=0.025)
    # a note-vs-VCF discrepancy is only designed where the VCF really has the variant
    for p in seq:
        if p.disc_note_vs_vcf:
            assert p.has_driver(p.disc_note_vs_vcf)


def test_current_cases_and_showcase(patients):
    current = [p for p in patients if p.is_current]
    assert len(current) == cohort.n_current(N) == 15
    assert all(p.board_date == cohort.reference_date(7) for p in current)
    assert all(p.board_date < cohort.reference_date(7) for p in patients if not p.is_current)
    assert all(p.diagnosis_date < p.board_date for p in patients)
    show = patients[0]
    assert (show.cancer_type, show.drivers, show.disc_note_vs_vcf, show.pdl1_tested) == \
        ("lung", ("EGFR p.L858R",), "EGFR", False)


def test_same_patient_whatever_the_cohort_size():
    small = cohort.draw_cohort(40, 3)
    large = cohort.draw_cohort(60, 3)
    # patients past the current cases of both cohorts are drawn identically
    assert small[20] == large[20]


def test_outcome_hazard_carries_signal_from_every_modality(patients):
    hist = [p for p in patients if not p.is_current]
    for modality in ("imaging", "notes", "genomics", "clinical", "labs"):
        values = [p.lp_terms[modality] for p in hist]
        assert statistics.pstdev(values) > 0.05, modality
    # higher total hazard -> shorter survival, within a subgroup
    group = [p for p in hist if p.subgroup == "lung_chemo" and p.stage == "IV"]
    lp = sorted(group, key=lambda p: sum(p.lp_terms.values()))
    third = len(lp) // 3
    assert statistics.median(p.os_months for p in lp[:third]) > 1.5 * statistics.median(p.os_months for p in lp[-third:])


def test_stage_iv_medians_follow_cohort_md(patients):
    for label, tol in (("lung_chemo", 0.35), ("lung_pdl1high_pembrolizumab", 0.45), ("crc_chemo", 0.45)):
        group = [p for p in patients if p.subgroup == label and p.stage == "IV"]
        sg = outcomes.SUBGROUPS[label]
        assert statistics.median(p.pfs_months for p in group) == pytest.approx(sg.pfs_months, rel=tol), label
        assert statistics.median(p.os_months for p in group) == pytest.approx(sg.os_months, rel=tol), label


def test_targeted_therapy_needs_a_known_driver(patients):
    for p in patients:
        if p.subgroup == "lung_egfr_osimertinib":
            assert p.has_driver("EGFR") and p.driver_known
        if p.cancer_type == "lung" and p.has_driver("EGFR") and not p.sequenced:
            assert p.subgroup != "lung_egfr_osimertinib"


def _features(p: LatentPatient) -> dict[str, list[float]]:
    """What each modality lets a model see (observable features, not the latent hazard terms)."""
    import math

    return {
        "imaging": [math.log(p.lesion_size_mm), p.margin == "spiculated", p.margin == "smooth", p.heterogeneity,
                    p.growth_per_month],
        "notes": [p.ecog, p.weight_loss_pct > 5, len(p.symptoms)],
        "genomics": [any(x.startswith("TP53") for x in p.passengers), any(x.startswith("STK11") for x in p.passengers),
                     p.targeted, p.has_driver("BRAF") and p.cancer_type == "colorectal"],
        "clinical": [p.age_years, p.stage == "IV", p.stage == "III", p.stage == "II", p.cancer_type == "lung",
                     p.cancer_type == "breast"],
        "labs": [p.albumin, math.log(p.ldh), math.log(p.cea)],
    }


def test_all_modalities_beat_any_single_one(patients):
    np = pytest.importorskip("numpy")
    from sksurv.linear_model import CoxPHSurvivalAnalysis
    from sksurv.metrics import concordance_index_censored

    hist = [p for p in patients if not p.is_current]
    feats = [_features(p) for p in hist]
    y = np.array([(p.os_event, max(min(p.os_months, p.followup_months), 0.01)) for p in hist],
                 dtype=[("e", bool), ("t", float)])
    train = np.arange(len(hist)) % 3 != 0

    def c_index(mods: list[str]) -> float:
        x = np.array([[float(v) for m in mods for v in f[m]] for f in feats])
        x = (x - x[train].mean(0)) / (x[train].std(0) + 1e-9)
        model = CoxPHSurvivalAnalysis(alpha=0.1).fit(x[train], y[train])
        test = ~train
        return concordance_index_censored(y[test]["e"], y[test]["t"], model.predict(x[test]))[0]

    single = {m: c_index([m]) for m in ("imaging", "notes", "genomics", "clinical", "labs")}
    assert all(c > 0.6 for c in single.values()), single  # every modality carries signal
    assert c_index(list(single)) > max(single.values()) + 0.02, single
