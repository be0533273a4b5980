"""Each match-tree node type on hand-written patients (met / not met / unknown, never guessed)."""
from __future__ import annotations

from datetime import date, datetime

import pytest
from trial_store_builder import AS_OF, StoreBuilder, arm_statuses

MET, NOT, UNK = "met", "not met", "unknown"


def clinical(**kw):
    return [{"clinical": kw}]


def genomic(**kw):
    return [{"genomic": kw}]


# ---- clinical ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def diagnoses() -> StoreBuilder:
    b = StoreBuilder()
    b.patient("idc", oncotree="IDC")
    b.patient("breast_only", oncotree="BREAST")          # less specific than the criterion below
    b.patient("luad", oncotree="Lung Adenocarcinoma")    # a name, not a code
    b.patient("none")                                     # no diagnosis on file
    b.patient("coarse", cancer_type="colorectal")         # only the coarse cancer type
    b.patient("cond").condition("cond", "READ")           # from a FHIR Condition
    b.patient("odd", oncotree="XYZ")                      # outside the bundled subset
    b.patient("two", oncotree="NSCLC").condition("two", "LUAD")  # NSCLC adds nothing to LUAD
    return b


@pytest.mark.parametrize("value,expected", [
    ("Breast", {"idc": MET, "breast_only": MET, "luad": NOT, "none": UNK, "coarse": NOT, "cond": NOT, "odd": UNK,
                "two": NOT}),
    ("Invasive Breast Carcinoma", {"idc": MET, "breast_only": UNK, "luad": NOT, "none": UNK, "coarse": NOT}),
    ("NSCLC", {"luad": MET, "idc": NOT, "two": MET}),
    ("LUSC", {"luad": NOT, "two": NOT}),
    ("Colorectal Adenocarcinoma", {"coarse": MET, "cond": MET, "idc": NOT}),
    ("_SOLID_", {"idc": MET, "luad": MET, "coarse": MET, "none": UNK, "odd": UNK}),
    ("!Colorectal Adenocarcinoma", {"coarse": NOT, "cond": NOT, "idc": MET, "none": UNK, "odd": UNK}),
])
def test_oncotree_descendants(diagnoses: StoreBuilder, value: str, expected: dict[str, str]) -> None:
    got = arm_statuses(diagnoses.con, clinical(oncotree_primary_diagnosis=value))
    assert {k: got[k] for k in expected} == expected


def test_age_exact_bounded_and_missing() -> None:
    b = StoreBuilder()
    b.patient("adult", birth_date=date(1960, 3, 2))          # 64 on 2025-03-01, 65 the day after
    b.patient("teen", birth_date=date(2008, 1, 1))
    b.patient("dx_only", age_dx=60)                            # at least 60, upper bound unknown
    b.patient("dx_dated", age_dx=60, dx_date=date(2020, 1, 1))  # 65 or 66 now
    b.patient("unknown")
    got = arm_statuses(b.con, clinical(age_numerical=">=18"))
    assert got == {"adult": MET, "teen": NOT, "dx_only": MET, "dx_dated": MET, "unknown": UNK}
    got = arm_statuses(b.con, clinical(age_numerical="<65"))
    assert got == {"adult": MET, "teen": MET, "dx_only": UNK, "dx_dated": NOT, "unknown": UNK}
    assert arm_statuses(b.con, clinical(age_numerical="<65"), as_of=date(2025, 3, 2))["adult"] == NOT
    assert arm_statuses(b.con, clinical(age_numerical="==64"))["adult"] == MET


def test_gender() -> None:
    b = StoreBuilder()
    b.patient("f", sex="female").patient("m", sex="M").patient("x")
    assert arm_statuses(b.con, clinical(gender="Female")) == {"f": MET, "m": NOT, "x": UNK}
    assert arm_statuses(b.con, clinical(gender="!Female")) == {"f": NOT, "m": MET, "x": UNK}


def test_receptor_status() -> None:
    b = StoreBuilder()
    b.patient("pos").biomarker("pos", "ER", status="positive")
    b.patient("pct").biomarker("pct", "Estrogen receptor", value_num=40, unit="%")  # a percentage only
    b.patient("neg").biomarker("neg", "ER", value_text="Negative (<1%)")
    b.patient("none")
    b.patient("her2_eq").biomarker("her2_eq", "HER2", value_text="IHC 2+", status="equivocal")
    b.patient("her2_ish").biomarker("her2_ish", "HER2", value_text="IHC 2+, ISH amplified")
    assert arm_statuses(b.con, clinical(er_status="Positive")) == {
        "pos": MET, "pct": MET, "neg": NOT, "none": UNK, "her2_eq": UNK, "her2_ish": UNK}
    her2 = arm_statuses(b.con, clinical(her2_status="Positive"))
    assert her2["her2_eq"] == UNK and her2["her2_ish"] == MET and her2["pos"] == UNK


def test_latest_result_wins() -> None:
    b = StoreBuilder()
    b.patient("p")
    b.biomarker("p", "ER", status="negative", observed_at=datetime(2023, 1, 1))
    b.biomarker("p", "ER", status="positive", observed_at=datetime(2024, 6, 1))
    assert arm_statuses(b.con, clinical(er_status="Positive"))["p"] == MET


@pytest.mark.parametrize("expr,expected", [
    (">=10", {"low": NOT, "high": MET, "forty": MET, "none": UNK}),
    (">15", {"low": NOT, "high": MET, "forty": MET}),
    ("<=40", {"low": MET, "high": MET, "forty": MET}),
    ("<40", {"low": MET, "forty": NOT}),
    ("==40", {"low": NOT, "forty": MET}),
])
def test_tmb_numerical(expr: str, expected: dict[str, str]) -> None:
    b = StoreBuilder()
    b.patient("low").biomarker("low", "TMB", value_num=4.2, unit="mut/Mb")
    b.patient("high").biomarker("high", "Tumor mutational burden", value_num=22)
    b.patient("forty").biomarker("forty", "TMB", value_num=40)
    b.patient("none")
    got = arm_statuses(b.con, clinical(tmb_numerical=expr))
    assert {k: got[k] for k in expected} == expected


def test_negated_note_mentions_are_not_results() -> None:
    b = StoreBuilder()
    b.patient("p").note_event("p", "biomarker", "ER", negated=True)       # "ER not performed"
    b.note_event("p", "ecog", "ECOG", value_num=1)
    b.patient("q").note_event("q", "biomarker", "ER", value_text="negative")
    assert arm_statuses(b.con, clinical(er_status="Negative")) == {"p": UNK, "q": MET}
    assert arm_statuses(b.con, clinical(ecog_numerical="<=1")) == {"p": MET, "q": UNK}


def test_pdl1_and_ecog_extensions() -> None:
    b = StoreBuilder()
    b.patient("hi").biomarker("hi", "PD-L1 TPS", value_num=60, unit="%")
    b.patient("text").biomarker("text", "PD-L1", value_text="TPS 55%")
    b.patient("lo").biomarker("lo", "PD-L1 TPS", value_num=20)
    b.patient("cps").biomarker("cps", "PD-L1 CPS", value_num=80)  # a CPS is not a TPS
    b.patient("none")
    assert arm_statuses(b.con, clinical(pdl1_tps_numerical=">=50")) == {
        "hi": MET, "text": MET, "lo": NOT, "cps": UNK, "none": UNK}
    b.biomarker("hi", "ECOG", value_num=1)
    b.biomarker("lo", "ECOG performance status", value_text="ECOG 2")
    got = arm_statuses(b.con, clinical(ecog_numerical="<=1"))
    assert (got["hi"], got["lo"], got["none"]) == (MET, NOT, UNK)


def test_mmr_ms_status_and_signatures() -> None:
    b = StoreBuilder()
    b.patient("msih").biomarker("msih", "MSI", value_text="MSI-H", status="positive")
    b.patient("mss").biomarker("mss", "MSI", value_text="MSS", status="negative")
    b.patient("dmmr").biomarker("dmmr", "MMR IHC", value_text="loss of MLH1/PMS2")
    b.patient("none")
    expected = {"msih": MET, "mss": NOT, "dmmr": MET, "none": UNK}
    assert arm_statuses(b.con, genomic(hugo_symbol="None", mmr_status="MMR-Deficient")) == expected
    assert arm_statuses(b.con, genomic(ms_status="MSI-H")) == expected
    assert arm_statuses(b.con, genomic(ms_status="MSS")) == {"msih": NOT, "mss": MET, "dmmr": NOT, "none": UNK}
    b.patient("ihc_all")
    for prot in ("MLH1", "MSH2", "MSH6", "PMS2"):
        b.note_event("ihc_all", "biomarker", prot, value_text="intact")   # all four retained: proficient
    b.patient("ihc_loss").note_event("ihc_loss", "biomarker", "MLH1", value_text="loss")
    b.note_event("ihc_loss", "biomarker", "PMS2", value_text="lost")
    b.patient("ihc_partial").note_event("ihc_partial", "biomarker", "MSH6", value_text="intact")
    b.patient("not_assessed").note_event("not_assessed", "biomarker", "MSI", negated=True)  # "does not assess MSI"
    got = arm_statuses(b.con, genomic(mmr_status="MMR-Proficient"))
    assert (got["ihc_all"], got["ihc_loss"], got["ihc_partial"], got["not_assessed"]) == (MET, NOT, UNK, UNK)
    b.biomarker("mss", "tobacco_signature", value_text="Yes")
    b.biomarker("msih", "Tobacco signature", value_text="No")
    got = arm_statuses(b.con, genomic(hugo_symbol="None", tobacco_signature="Yes"))
    assert {k: got[k] for k in expected} == {"msih": NOT, "mss": MET, "dmmr": UNK, "none": UNK}


# ---- genomic -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def genomics() -> StoreBuilder:
    b = StoreBuilder()
    panel = ["EGFR", "KRAS", "BRAF", "ALK", "ERBB2", "TP53", "MET", "NPM1", "PIK3CA"]
    b.patient("l858r"); b.panel("l858r", panel); b.variant("l858r", "EGFR", "p.Leu858Arg", exon=21, level="1")
    b.patient("ex19"); b.panel("ex19", panel)
    b.variant("ex19", "EGFR", "p.E746_A750del", exon=19, classification="In_Frame_Del")
    b.patient("v600k"); b.panel("v600k", panel); b.variant("v600k", "BRAF", "p.V600K")
    b.patient("v600del"); b.panel("v600del", panel); b.variant("v600del", "BRAF", "p.V600_K601delinsE",
                                                                 classification="In_Frame_Del")
    b.patient("silent"); b.panel("silent", panel); b.variant("silent", "KRAS", "p.G12=", classification="Silent")
    b.patient("amp"); b.panel("amp", panel)
    b.variant("amp", "ERBB2", None, category="Copy Number Variation", classification=None, cnv="Amplification")
    b.patient("gain"); b.panel("gain", panel)
    b.variant("gain", "ERBB2", None, category="CNV", classification=None, cnv="Gain")
    b.patient("del"); b.panel("del", panel)   # a <DEL> without copy number: zygosity unknown
    b.variant("del", "PIK3CA", None, category="CNV", classification=None, cnv="Deletion")
    b.patient("homdel"); b.panel("homdel", panel)
    b.variant("homdel", "PIK3CA", None, category="CNV", classification=None, cnv="Homozygous deletion")
    b.patient("alk"); b.panel("alk", panel)   # kinase stored as the gene, partner EML4
    b.variant("alk", "ALK", None, category="Structural Variation", classification="Fusion", partner="EML4")
    b.patient("npm1"); b.panel("npm1", panel)
    b.variant("npm1", "NPM1", None, category="Structural Variation", classification="Fusion")  # intergenic
    b.patient("wt"); b.panel("wt", panel)     # tested, nothing found
    b.patient("small"); b.panel("small", ["TP53"])   # sequenced, but EGFR & co. not on the panel
    b.patient("noseq")                                 # never sequenced
    b.patient("nopanel"); b.variant("nopanel", "KRAS", "p.G12D")   # variant without a panel list
    return b


def statuses(b: StoreBuilder, **kw) -> dict[str, str]:
    return arm_statuses(b.con, genomic(**kw))


def test_protein_change_exact_and_three_letter(genomics: StoreBuilder) -> None:
    got = statuses(genomics, hugo_symbol="EGFR", variant_category="Mutation", protein_change="p.L858R")
    assert got["l858r"] == MET and got["ex19"] == NOT and got["wt"] == NOT
    assert got["small"] == UNK and got["noseq"] == UNK  # not tested is unknown, never not met


def test_exon_and_classification(genomics: StoreBuilder) -> None:
    got = statuses(genomics, hugo_symbol="EGFR", variant_category="Mutation", exon=19,
                   variant_classification="In_Frame_Del")
    assert (got["ex19"], got["l858r"], got["small"]) == (MET, NOT, UNK)


def test_wildcard_protein_change(genomics: StoreBuilder) -> None:
    got = statuses(genomics, hugo_symbol="BRAF", variant_category="Mutation", wildcard_protein_change="p.V600")
    assert (got["v600k"], got["v600del"], got["wt"], got["small"]) == (MET, NOT, NOT, UNK)


def test_gene_level_mutation_ignores_silent_calls(genomics: StoreBuilder) -> None:
    got = statuses(genomics, hugo_symbol="KRAS", variant_category="Mutation")
    assert (got["silent"], got["nopanel"], got["wt"], got["noseq"]) == (NOT, MET, NOT, UNK)


def test_cnv_calls(genomics: StoreBuilder) -> None:
    got = statuses(genomics, hugo_symbol="ERBB2", variant_category="Copy Number Variation",
                   cnv_call="High Amplification")
    assert (got["amp"], got["gain"], got["wt"], got["small"]) == (MET, NOT, NOT, UNK)
    got = statuses(genomics, hugo_symbol="ERBB2", variant_category="Copy Number Variation")
    assert (got["amp"], got["gain"]) == (MET, MET)
    got = statuses(genomics, hugo_symbol="PIK3CA", variant_category="Copy Number Variation",
                   cnv_call="Homozygous Deletion")
    assert (got["homdel"], got["del"], got["wt"]) == (MET, UNK, NOT)


def test_structural_variants_both_orientations(genomics: StoreBuilder) -> None:
    got = statuses(genomics, hugo_symbol="EML4", variant_category="Structural Variation",
                   fusion_partner_hugo_symbol="ALK")
    assert got["alk"] == MET and got["wt"] == UNK  # EML4 is on no panel: unknown, not "no fusion"
    got = statuses(genomics, hugo_symbol="ALK", variant_category="Structural Variation")
    assert (got["alk"], got["wt"], got["small"]) == (MET, NOT, UNK)
    got = statuses(genomics, hugo_symbol="NPM1", variant_category="Structural Variation",
                   fusion_partner_hugo_symbol="intergenic")
    assert (got["npm1"], got["alk"]) == (MET, NOT)
    got = statuses(genomics, hugo_symbol="any_gene", variant_category="Structural Variation",
                   fusion_partner_hugo_symbol="any_gene")
    assert (got["alk"], got["npm1"], got["wt"], got["noseq"]) == (MET, NOT, NOT, UNK)


def test_wildtype(genomics: StoreBuilder) -> None:
    got = statuses(genomics, hugo_symbol="KRAS", wildtype=True)
    assert (got["wt"], got["nopanel"], got["silent"], got["small"], got["noseq"]) == (MET, NOT, MET, UNK, UNK)
    got = statuses(genomics, hugo_symbol="KRAS", wildtype=False)
    assert (got["wt"], got["nopanel"]) == (NOT, MET)


def test_negation_never_turns_unknown_into_met(genomics: StoreBuilder) -> None:
    got = statuses(genomics, hugo_symbol="EGFR", variant_category="!Mutation")
    assert (got["l858r"], got["wt"], got["small"], got["noseq"]) == (NOT, MET, UNK, UNK)


def test_reported_negative_gene_counts_as_tested() -> None:
    b = StoreBuilder()
    b.patient("p")
    from core.ingest.base import insert_rows
    insert_rows(b.con, "biomarkers", [{
        "biomarker_id": "b1", "name": "EGFR mutation", "status": "negative", "patient_id": "p",
        "modality": "genomics", "source_uri": "test://fhir.json", "source_sha256": "0" * 64,
        "locator": "Observation/x", "extractor": "t", "extractor_version": "0", "ingested_at": datetime(2025, 1, 1),
        "ingest_run_id": "r"}])
    assert arm_statuses(b.con, genomic(hugo_symbol="EGFR", variant_category="Mutation"))["p"] == NOT


# ---- and / or (Kleene) ----------------------------------------------------------------------

def test_three_valued_and_or() -> None:
    b = StoreBuilder()
    b.patient("p", sex="female", oncotree="IDC")   # ER never measured -> unknown
    f_met = {"clinical": {"gender": "Female"}}
    f_not = {"clinical": {"gender": "Male"}}
    f_unk = {"clinical": {"er_status": "Positive"}}
    cases = [
        ({"and": [f_met, f_unk]}, UNK), ({"and": [f_not, f_unk]}, NOT), ({"and": [f_met, f_met]}, MET),
        ({"or": [f_not, f_unk]}, UNK), ({"or": [f_met, f_unk]}, MET), ({"or": [f_not, f_not]}, NOT),
        ({"and": [f_met, {"or": [f_not, f_unk]}]}, UNK),
        ({"and": [{"clinical": {"er_status": "!Positive"}}, f_met]}, UNK),  # NOT unknown is unknown
    ]
    for node, expected in cases:
        assert arm_statuses(b.con, [node])["p"] == expected, node


def test_as_of_defaults_to_today() -> None:
    b = StoreBuilder()
    b.patient("p", birth_date=date(2000, 1, 1))
    assert arm_statuses(b.con, clinical(age_numerical=">=25"), as_of=date.today())["p"] == MET
    assert AS_OF == date(2025, 3, 1)
