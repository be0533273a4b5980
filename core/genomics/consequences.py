"""Sequence Ontology consequences: severity order, MAF Variant_Classification, legacy SnpEff names.

Follows vcf2maf (``GetEffectPriority``, ``GetBiotypePriority``, ``GetVariantClassification``)
so a VCF annotated here and a MAF written by vcf2maf agree.
"""
from __future__ import annotations

from functools import lru_cache

# Lower is more severe (vcf2maf GetEffectPriority).
EFFECT_PRIORITY: dict[str, int] = {
    "transcript_ablation": 1, "exon_loss_variant": 1, "splice_donor_variant": 2, "splice_acceptor_variant": 2,
    "stop_gained": 3, "frameshift_variant": 3, "stop_lost": 3, "start_lost": 4, "initiator_codon_variant": 4,
    "disruptive_inframe_insertion": 5, "disruptive_inframe_deletion": 5, "conservative_inframe_insertion": 5,
    "conservative_inframe_deletion": 5, "inframe_insertion": 5, "inframe_deletion": 5, "protein_altering_variant": 5,
    "missense_variant": 6, "conservative_missense_variant": 6, "rare_amino_acid_variant": 6,
    "transcript_amplification": 7, "gene_fusion": 7, "bidirectional_gene_fusion": 7, "splice_region_variant": 8,
    "splice_donor_5th_base_variant": 8, "splice_donor_region_variant": 8, "splice_polypyrimidine_tract_variant": 8,
    "start_retained_variant": 9, "stop_retained_variant": 9, "synonymous_variant": 9,
    "incomplete_terminal_codon_variant": 10, "coding_sequence_variant": 11, "mature_miRNA_variant": 11,
    "exon_variant": 11, "5_prime_UTR_variant": 12, "3_prime_UTR_variant": 12,
    "5_prime_UTR_premature_start_codon_gain_variant": 12, "non_coding_transcript_exon_variant": 13,
    "non_coding_exon_variant": 13, "non_coding_transcript_variant": 13, "nc_transcript_variant": 13,
    "intron_variant": 14, "conserved_intron_variant": 14, "intragenic_variant": 14, "INTRAGENIC": 14,
    "NMD_transcript_variant": 15, "upstream_gene_variant": 16, "downstream_gene_variant": 16,
    "TFBS_ablation": 17, "TFBS_amplification": 17, "TF_binding_site_variant": 17,
    "regulatory_region_ablation": 17, "regulatory_region_amplification": 17, "regulatory_region_variant": 18,
    "regulatory_region": 18, "feature_elongation": 18, "feature_truncation": 18,
    "intergenic_variant": 19, "intergenic_region": 19, "conserved_intergenic_variant": 19,
}
UNKNOWN_PRIORITY = 20


def effect_priority(consequences: list[str] | tuple[str, ...]) -> int:
    """Priority of the most severe of several SO terms (``a&b`` lists)."""
    return min((EFFECT_PRIORITY.get(c, UNKNOWN_PRIORITY) for c in consequences), default=UNKNOWN_PRIORITY + 1)


_BIOTYPE_GROUPS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (1, ("protein_coding",)),
    (2, ("LRG_gene", "IG_C_gene", "IG_D_gene", "IG_J_gene", "IG_LV_gene", "IG_V_gene", "TR_C_gene", "TR_D_gene",
         "TR_J_gene", "TR_V_gene")),
    (3, ("miRNA", "snRNA", "snoRNA", "ribozyme", "tRNA", "sRNA", "scaRNA", "rRNA", "lincRNA", "lncRNA",
         "bidirectional_promoter_lncRNA")),
    (4, ("known_ncrna", "vaultRNA", "macro_lncRNA", "Mt_tRNA", "Mt_rRNA")),
    (5, ("antisense", "antisense_RNA", "sense_intronic", "sense_overlapping", "3prime_overlapping_ncRNA", "misc_RNA",
         "non_coding")),
    (6, ("regulatory_region", "disrupted_domain", "processed_transcript", "TEC")),
    (7, ("TF_binding_site", "CTCF_binding_site", "promoter_flanking_region", "enhancer", "promoter",
         "open_chromatin_region", "retained_intron", "nonsense_mediated_decay", "non_stop_decay", "ambiguous_orf")),
)
BIOTYPE_PRIORITY: dict[str, int] = {b: p for p, names in _BIOTYPE_GROUPS for b in names}


@lru_cache(maxsize=512)
def biotype_priority(biotype: str | None) -> int:
    """Lower is preferred: protein_coding first, pseudogenes (8) and unknown (9) last."""
    if not biotype:
        return 9
    if biotype in BIOTYPE_PRIORITY:
        return BIOTYPE_PRIORITY[biotype]
    return 8 if "pseudogene" in biotype else 9


NON_PROTEIN_ALTERING = frozenset({"Silent", "Intron", "3'UTR", "5'UTR", "3'Flank", "5'Flank", "IGR", "RNA",
                                  "Splice_Region", "Targeted_Region", "Unknown"})
TRUNCATING = frozenset({"Nonsense_Mutation", "Frame_Shift_Del", "Frame_Shift_Ins", "Splice_Site", "Nonstop_Mutation"})


def maf_classification(consequence: str | None, variant_type: str, inframe: bool) -> str:
    """MAF Variant_Classification for the most severe SO term (vcf2maf GetVariantClassification)."""
    e = consequence or ""
    if e in ("splice_acceptor_variant", "splice_donor_variant", "transcript_ablation", "exon_loss_variant"):
        return "Splice_Site"
    if e == "stop_gained":
        return "Nonsense_Mutation"
    if (e == "frameshift_variant" or (e == "protein_altering_variant" and not inframe)) and variant_type == "DEL":
        return "Frame_Shift_Del"
    if (e == "frameshift_variant" or (e == "protein_altering_variant" and not inframe)) and variant_type == "INS":
        return "Frame_Shift_Ins"
    if e == "stop_lost":
        return "Nonstop_Mutation"
    if e in ("initiator_codon_variant", "start_lost"):
        return "Translation_Start_Site"
    if e in ("inframe_insertion", "disruptive_inframe_insertion", "conservative_inframe_insertion") or (
            e == "protein_altering_variant" and inframe and variant_type == "INS"):
        return "In_Frame_Ins"
    if e in ("inframe_deletion", "disruptive_inframe_deletion", "conservative_inframe_deletion") or (
            e == "protein_altering_variant" and inframe and variant_type == "DEL"):
        return "In_Frame_Del"
    if e in ("missense_variant", "coding_sequence_variant", "conservative_missense_variant",
             "rare_amino_acid_variant", "protein_altering_variant"):
        return "Missense_Mutation"
    if e in ("transcript_amplification", "intron_variant", "conserved_intron_variant", "INTRAGENIC",
             "intragenic_variant"):
        return "Intron"
    if e.startswith("splice_"):
        return "Splice_Region"
    if e in ("incomplete_terminal_codon_variant", "synonymous_variant", "stop_retained_variant",
             "start_retained_variant", "NMD_transcript_variant"):
        return "Silent"
    if e in ("mature_miRNA_variant", "exon_variant", "non_coding_exon_variant", "non_coding_transcript_exon_variant",
             "non_coding_transcript_variant", "nc_transcript_variant"):
        return "RNA"
    if e in ("5_prime_UTR_variant", "5_prime_UTR_premature_start_codon_gain_variant"):
        return "5'UTR"
    if e == "3_prime_UTR_variant":
        return "3'UTR"
    if e in ("TF_binding_site_variant", "regulatory_region_variant", "regulatory_region", "intergenic_variant",
             "intergenic_region", "conserved_intergenic_variant"):
        return "IGR"
    if e == "upstream_gene_variant":
        return "5'Flank"
    if e == "downstream_gene_variant":
        return "3'Flank"
    if e in ("TFBS_ablation", "TFBS_amplification", "regulatory_region_ablation", "regulatory_region_amplification",
             "feature_elongation", "feature_truncation"):
        return "Targeted_Region"
    return "Unknown"


# Legacy SnpEff (EFF, SnpEff <= 4.0) effect names -> SO terms.
EFF_TO_SO: dict[str, str] = {
    "NON_SYNONYMOUS_CODING": "missense_variant", "NON_SYNONYMOUS_STOP": "stop_retained_variant",
    "SYNONYMOUS_CODING": "synonymous_variant", "SYNONYMOUS_STOP": "stop_retained_variant",
    "SYNONYMOUS_START": "start_retained_variant", "NON_SYNONYMOUS_START": "initiator_codon_variant",
    "STOP_GAINED": "stop_gained", "STOP_LOST": "stop_lost", "START_LOST": "start_lost",
    "START_GAINED": "5_prime_UTR_premature_start_codon_gain_variant",
    "FRAME_SHIFT": "frameshift_variant", "CODON_DELETION": "inframe_deletion", "CODON_INSERTION": "inframe_insertion",
    "CODON_CHANGE": "coding_sequence_variant",
    "CODON_CHANGE_PLUS_CODON_DELETION": "disruptive_inframe_deletion",
    "CODON_CHANGE_PLUS_CODON_INSERTION": "disruptive_inframe_insertion",
    "SPLICE_SITE_ACCEPTOR": "splice_acceptor_variant", "SPLICE_SITE_DONOR": "splice_donor_variant",
    "SPLICE_SITE_REGION": "splice_region_variant", "SPLICE_SITE_BRANCH": "intron_variant",
    "SPLICE_SITE_BRANCH_U12": "intron_variant",
    "UTR_5_PRIME": "5_prime_UTR_variant", "UTR_3_PRIME": "3_prime_UTR_variant",
    "UTR_5_DELETED": "5_prime_UTR_variant", "UTR_3_DELETED": "3_prime_UTR_variant",
    "UPSTREAM": "upstream_gene_variant", "DOWNSTREAM": "downstream_gene_variant",
    "INTRON": "intron_variant", "INTRON_CONSERVED": "conserved_intron_variant",
    "INTERGENIC": "intergenic_region", "INTERGENIC_CONSERVED": "conserved_intergenic_variant",
    "EXON": "non_coding_transcript_exon_variant", "EXON_DELETED": "exon_loss_variant",
    "CDS": "coding_sequence_variant", "GENE": "gene_variant", "TRANSCRIPT": "transcript_variant",
    "RARE_AMINO_ACID": "rare_amino_acid_variant", "REGULATION": "regulatory_region_variant",
    "MOTIF": "TF_binding_site_variant", "MICRO_RNA": "mature_miRNA_variant",
    "CHROMOSOME_LARGE_DELETION": "chromosome_number_variation",
}


def eff_to_so(effect: str) -> str:
    """A legacy EFF effect name as an SO term (already-SO names pass through)."""
    return EFF_TO_SO.get(effect.strip().upper(), effect.strip())
