"""Which method to trust: the audit's ranking rule and its one-line recommendation."""

from __future__ import annotations

import json

from xaixray.cli import main
from xaixray.metrics import rank_methods, recommendation


def summary(deletion, insertion, rho=None, pointing=None):
    return {"deletion_better": deletion, "insertion_better": insertion,
            "randomization_spearman": rho, "pointing_game": pointing}


def test_randomisation_is_a_gate_then_the_mean_share_ranks():
    ranking = rank_methods({
        "lime": summary(0.6, 0.7, rho=0.1),            # mean 0.65
        "shap": summary(1.0, 1.0, rho=0.8),            # best shares, but survives randomisation
        "gradcam": summary(0.9, 0.8, rho=-0.05, pointing=1.0),  # mean 0.9
        "occlusion": summary(0.4, 0.3),                # no better than random
    })
    assert [r["method"] for r in ranking] == ["gradcam", "lime", "occlusion", "shap"]
    assert [r["rank"] for r in ranking] == [1, 2, 3, 4]
    assert ranking[0]["score"] == 0.9 and ranking[0]["recommended"]
    assert ranking[-1]["randomization"] == "fails" and not ranking[-1]["recommended"]
    assert not ranking[2]["recommended"]
    line = recommendation(ranking)
    assert line.startswith("For this model, trust gradcam first (deletion 0.90, insertion 0.80,"
                           " pointing game 1.00)")
    assert "shap fails the randomisation check" in line
    assert "occlusion is no better than random" in line


def test_the_recommendation_names_the_best_recommended_method_not_the_top_score():
    ranking = rank_methods({"occlusion": summary(0.4, 1.0, pointing=1.0),  # mean 0.8, one curve
                            "gradcam": summary(0.6, 0.6)})
    assert [r["method"] for r in ranking] == ["occlusion", "gradcam"]
    line = recommendation(ranking)
    assert line.startswith("For this model, trust gradcam first")
    assert "occlusion is no better than random" in line


def test_ties_keep_the_order_asked_and_no_winner_is_said_plainly():
    ranking = rank_methods({"b": summary(0.5, 0.5), "a": summary(0.5, 0.5)})
    assert [r["method"] for r in ranking] == ["b", "a"]
    weak = rank_methods({"a": summary(0.2, 0.9), "b": summary(0.1, 0.1, rho=0.5)})
    assert [r["method"] for r in weak] == ["a", "b"]
    line = recommendation(weak)
    assert line.startswith("No method beats random on deletion and insertion for most images")
    assert "b fails the randomisation check" in line


def test_the_audit_shows_the_ranking_and_the_recommendation(tiny_model_path, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["audit", str(tiny_model_path), "--phantoms", "6", "--methods", "gradcam,lime",
                 "--num-samples", "40", "--randomization-n", "1", "--randomization-steps", "2",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    audit = json.loads((out / "audit.json").read_text())
    assert [r["method"] for r in audit["ranking"]] == [
        r["method"] for r in rank_methods(audit["methods"])]
    assert audit["recommendation"] == recommendation(audit["ranking"])
    assert "## Which method to trust" in printed and audit["recommendation"] in printed
    assert audit["recommendation"] in (out / "audit.html").read_text()
    assert "| rank | method |" in (out / "audit.md").read_text()


def test_audit_with_road_removal_records_it(tiny_model_path, tmp_path, capsys):
    out = tmp_path / "road"
    assert main(["audit", str(tiny_model_path), "--phantoms", "2", "--methods", "gradcam",
                 "--randomization-n", "0", "--removal", "road", "--out", str(out)]) == 0
    assert json.loads((out / "audit.json").read_text())["params"]["removal"] == "road"


def test_each_report_says_which_of_its_maps_passed():
    from xaixray.metrics.summary import passed_line
    from xaixray.reports.html import _faithfulness_section

    faith = {"settings": {"score": "logit", "grid": 16, "steps": 25, "n_random": 3},
             "methods": {"gradcam": {"faithful": True}, "lime": {"faithful": True},
                         "shap": {"faithful": False}}}
    line = passed_line(faith)
    assert line == ("Passed (better than random on deletion and insertion): Grad-CAM, LIME; "
                    "not passed: SHAP.")
    assert line in _faithfulness_section(faith, None)
    none = {"methods": {"shap": {"faithful": False}}}
    assert passed_line(none) == "No map of this image beats random on both deletion and insertion."
    assert passed_line({"methods": {}}) is None
