"""Code tables and text rules of core.fhir.codes / mapping: tables of valid and invalid input."""
import pytest

from core.fhir import codes as K
from core.fhir.mapping import diagnosis_class
from core.fhir.variants import gene_symbol


@pytest.mark.parametrize("display,expected", [
    ("10 ML oxaliplatin 5 MG/ML Injection", "oxaliplatin"),
    ("Leucovorin 100 MG Injection", "leucovorin"),
    ("24 HR metoprolol succinate 100 MG Extended Release Oral Tablet [Toprol]", "metoprolol succinate"),
    ("leuprolide Injetable Product", "leuprolide"),
    ("abemaciclib Oral Product", "abemaciclib"),
    ("pembrolizumab 25 MG/ML Injectable Solution [Keytruda]", "pembrolizumab"),
    ("Keytruda", "pembrolizumab"),
    ("Lasix 40mg", "furosemide"),
    ("osimertinib 80 MG Oral Tablet", "osimertinib"),
])
def test_generic_drug_name(display, expected):
    assert K.generic_drug_name(display) == expected


@pytest.mark.parametrize("text,expected", [
    ("3C", "IIIC"), ("4", "IV"), ("IV", "IV"), ("Stage IIIC", "IIIC"), ("2A", "IIA"), ("0", "0"),
    ("Stage 2", "II"), ("cT3", None), ("", None), (None, None), ("5", None),
])
def test_normalise_stage(text, expected):
    assert K.normalise_stage(text) == expected


@pytest.mark.parametrize("stage", ["0", "IA", "IIB", "IIIC", "IV"])
def test_stage_code_round_trips(stage):
    assert K.normalise_stage(K.stage_code(stage)) == stage


@pytest.mark.parametrize("hgvsp,expected", [
    ("NP_000233.1:p.(Leu858Arg)", "p.L858R"), ("p.Glu746_Ala750del", "p.E746_A750del"),
    ("p.Arg213Ter", "p.R213*"), ("p.V600E", "p.V600E"), ("His1047Arg", "p.H1047R"),
])
def test_protein_short(hgvsp, expected):
    assert K.protein_short(hgvsp) == expected


@pytest.mark.parametrize("accession,expected", [
    ("NC_000007.13", ("7", "GRCh37")), ("NC_000007.14", ("7", "GRCh38")), ("NC_000023.11", ("X", "GRCh38")),
    ("NC_000007.99", ("7", None)), ("NM_005228.4", ("", None)),
])
def test_build_from_refseq(accession, expected):
    assert K.build_from_refseq(accession) == expected


@pytest.mark.parametrize("coding,expected", [
    ({"system": K.SNOMED, "code": "109838007", "display": "Overlapping malignant neoplasm of colon"}, ("colorectal", "COAD", True)),
    ({"system": K.SNOMED, "code": "408643008"}, ("breast", "IDC", True)),
    ({"system": K.SNOMED, "code": "254632001"}, ("lung", "SCLC", True)),
    ({"system": K.ICD10, "code": "C34.11"}, ("lung", "LUNG", True)),
    ({"system": K.ICD10, "code": "C20"}, ("colorectal", "READ", True)),
    ({"system": K.ICD10, "code": "C61"}, ("other", None, True)),
    ({"system": K.SNOMED, "code": "1", "display": "Adenocarcinoma of upper lobe of lung"}, ("lung", "LUAD", True)),
    ({"system": K.SNOMED, "code": "2", "display": "Malignant melanoma of skin"}, ("other", None, True)),
    ({"system": K.SNOMED, "code": "68496003", "display": "Polyp of colon"}, ("other", None, False)),
    ({"system": K.SNOMED, "code": "55822004", "display": "Hyperlipidemia"}, ("other", None, False)),
])
def test_diagnosis_class(coding, expected):
    assert diagnosis_class({"coding": [coding]}) == expected


@pytest.mark.parametrize("cc,expected", [
    ({"coding": [{"system": "http://www.genenames.org/geneId", "code": "HGNC:3467", "display": "estrogen receptor 1"}]}, "ESR1"),
    ({"coding": [{"system": "http://www.genenames.org/geneId", "code": "HGNC:99999", "display": "EGFR"}]}, "EGFR"),
    ({"text": "phosphatidylinositol-4,5-bisphosphate 3-kinase catalytic subunit alpha"}, "PIK3CA"),
    ({"coding": [{"code": "HGNC:99999", "display": "some long gene name"}]}, None),
])
def test_gene_symbol(cc, expected):
    assert gene_symbol(cc) == expected
