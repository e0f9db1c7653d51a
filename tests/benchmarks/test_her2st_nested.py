import pandas as pd

from omib_st.benchmarks.her2st.nested import reference_sets, select


def test_reference_sets_fit_each_patient_pair_once():
    runs = reference_sets(["A1", "B1", "C1", "C2"])
    assert (("B1", "C1", "C2"), ("A1",)) in runs  # outer fold of A1
    assert (("C1", "C2"), ("A1", "B1")) in runs  # inner folds A1 | B1 and B1 | A1
    assert len(runs) == 3 + 3  # one per patient, one per pair of patients
    assert all(not set(refs) & set(targets) for refs, targets in runs)


def _row(refs, target, smoothing, rule, auc, f1):
    return {"seed": 0, "references": refs, "target": target, "smoothing": smoothing,
            "threshold_rule": rule, "auc": auc, "f1_own": f1}  # fmt: skip


def test_selection_uses_the_inner_folds_only():
    """Outer A1: the choice is made on B1 and C1 scored by models trained without A1's patient
    (and without the inner target's); A1's own numbers never enter it."""
    rows = []
    for smoothing, inner_auc, outer_auc in ((0.0, 0.9, 0.5), (0.5, 0.6, 0.99)):
        for rule, f1 in (("q0.95", 0.4), ("mixture", 0.7)):
            rows += [_row("C1", "B1", smoothing, rule, inner_auc, f1),
                     _row("B1", "C1", smoothing, rule, inner_auc, f1),
                     _row("B1+C1", "A1", smoothing, rule, outer_auc, f1),
                     # a model that saw A1 scoring B1 must not count for outer A1
                     _row("A1+C1", "B1", smoothing, rule, 1 - inner_auc, f1)]  # fmt: skip
    chosen = select(pd.DataFrame(rows), ["A1", "B1", "C1"]).set_index("target")
    assert chosen.loc["A1", "smoothing"] == 0.0 and chosen.loc["A1", "auc"] == 0.5
    assert chosen.loc["A1", "threshold_rule"] == "mixture"
    assert chosen.loc["A1", "inner_auc"] == 0.9
