"""The synthetic cohort: latent patients, their clinical course and the real files they leave behind.

cohort.py (latent model, COHORT.md frequencies) -> outcomes.py (treatment, hazard with signal from every
modality) -> course.py (dated studies, visits, treatment lines) -> writers (notes_writer, genomics_writer,
fhir_out, imaging, labs in patient_files) -> build.py (`python -m core build-demo`: write, ingest like real
data, seed the board, POST_BUILD_STEPS, truth tables). calibrate.py refits the outcome constants.
"""
