"""Clinical-trial matching on MatchMiner's CTML: met / not met / unknown per criterion, with evidence.

Entry points: ``core.trials.api`` (match_patient, criteria_table, what_to_test_next) for one
patient, ``core.trials.bulk`` (match_all, write_trial_matches) for the whole store. Not tested
is unknown, never not met.
"""
