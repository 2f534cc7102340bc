"""Sharded and resumed explanation runs: every input exactly once, nothing done twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import write_phantom_images

from xaixray.cli import main
from xaixray.errors import XaixrayError
from xaixray.run import explain_paths, parse_shard
from xaixray.run.shards import SHARDS_FOLDER, is_complete


@pytest.fixture(scope="module")
def xray_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("xrays")
    paths = write_phantom_images(folder, 7, 48, seed=9)
    bad = folder / "case7.png"
    bad.write_bytes(b"not a png")
    return [*paths, bad]


def _cli(*args: str) -> subprocess.Popen:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen([sys.executable, "-m", "xaixray", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_parse_shard():
    assert parse_shard("0/3") == (0, 3) and parse_shard("2/3") == (2, 3)
    for bad in ("3/3", "-1/2", "1", "a/b", "0/0"):
        with pytest.raises(XaixrayError):
            parse_shard(bad)


def test_three_shard_processes_cover_every_input_once(tiny_model_path, tiny_classifier,
                                                      xray_files, tmp_path):
    whole = explain_paths(tiny_classifier, xray_files, tmp_path / "whole", methods=["gradcam"])
    out = tmp_path / "sharded"
    procs = [_cli("explain", str(tiny_model_path), *map(str, xray_files), "--out", str(out),
                  "--methods", "gradcam", "--shard", f"{k}/3") for k in range(3)]
    results = [(p.wait(timeout=300), p.communicate()) for p in procs]
    assert [rc for rc, _ in results].count(1) == 1  # the shard holding the unreadable file
    records = [json.loads((out / SHARDS_FOLDER / f"{k}-of-3.json").read_text())
               for k in range(3)]
    done = [name for r in records for name in r["reports"]]
    assert len(done) == len(set(done))  # no input explained twice
    assert sorted(done) == sorted(p.parent.name for p in whole.reports)  # and none missed
    assert sum(len(r["failures"]) for r in records) == 1
    assert not (out / "index.html").exists()  # shards leave the index to `xaixray index`

    assert main(["index", str(out)]) == 1  # one input could not be explained
    summary = json.loads((out / "summary.json").read_text())
    assert summary["reports"] == 7 and len(summary["failures"]) == 1
    assert "case7.png" in summary["failures"][0]
    index = (out / "index.html").read_text()
    assert all(f"case{i}/report.html" in index for i in range(7))


def _two_copies(source, folder):
    copies = [folder / "a.png", folder / "b.png"]
    for copy in copies:
        copy.write_bytes(source.read_bytes())
    return copies


def _explain_shard(clf, copies, out, k, methods=("gradcam",)):
    return explain_paths(clf, copies, out, methods=list(methods), anonymize=True,
                         faithfulness=False, shard=(k, 2))


def test_identical_images_in_two_anonymized_shards_share_one_report(tiny_classifier,
                                                                   xray_files, tmp_path):
    copies, out = _two_copies(xray_files[0], tmp_path), tmp_path / "out"
    runs = [_explain_shard(tiny_classifier, copies, out, k) for k in range(2)]
    assert [r.failures for r in runs] == [[], []]
    assert [(r.resumed, r.shared) for r in runs] == [(0, 0), (0, 1)]
    assert main(["index", str(out)]) == 0
    folders = [f for f in out.iterdir() if f.is_dir() and f.name != SHARDS_FOLDER]
    assert len(folders) == 1 and is_complete(folders[0])
    records = [json.loads((out / SHARDS_FOLDER / f"{k}-of-2.json").read_text())
               for k in range(2)]
    assert [r["reports"] for r in records] == [[folders[0].name]] * 2


def test_shards_running_at_once_share_the_report_that_lands_first(tiny_classifier, xray_files,
                                                                   tmp_path, monkeypatch):
    import shutil

    from xaixray.run import folder as explanations

    copies, out = _two_copies(xray_files[0], tmp_path), tmp_path / "out"
    _explain_shard(tiny_classifier, copies, out, 0)
    [folder] = [f for f in out.iterdir() if f.is_dir() and f.name != SHARDS_FOLDER]
    away = tmp_path / "elsewhere"
    shutil.move(folder, away)  # shard 1 starts before shard 0's report is there...
    real = explanations.write_report

    def racing(result, target, **kwargs):
        shutil.move(away, target)  # ...and it lands while shard 1 computes
        return real(result, target, **kwargs)

    monkeypatch.setattr(explanations, "write_report", racing)
    run = _explain_shard(tiny_classifier, copies, out, 1)
    assert run.failures == [] and run.shared == 1


def test_anonymized_shards_never_take_a_report_of_another_run(tiny_classifier, xray_files,
                                                              tmp_path):
    copies, out = _two_copies(xray_files[0], tmp_path), tmp_path / "out"
    _explain_shard(tiny_classifier, copies, out, 0, methods=("gradcam",))
    run = _explain_shard(tiny_classifier, copies, out, 1, methods=("gradcam++",))
    assert run.shared == 0 and len(run.failures) == 1
    assert "already exists" in run.failures[0]


def test_a_killed_run_resumes_without_redoing_complete_reports(tiny_model_path, xray_files,
                                                               tmp_path, capsys):
    out = tmp_path / "run"
    images = list(map(str, xray_files[:6]))
    proc = _cli("explain", str(tiny_model_path), *images, "--out", str(out),
                "--methods", "gradcam,lime", "--num-samples", "400")
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if out.is_dir() and sum(is_complete(f) for f in out.iterdir() if f.is_dir()) >= 2:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)  # a crash: no chance to clean up
    proc.wait()
    kept = {f.name: (f / "report.json").stat().st_mtime_ns
            for f in out.iterdir() if f.is_dir() and is_complete(f)}
    assert 2 <= len(kept) < 6, "the run was not interrupted midway"

    assert main(["explain", str(tiny_model_path), *images, "--out", str(out),
                 "--methods", "gradcam,lime", "--num-samples", "400", "--resume"]) == 0
    assert f"{len(kept)} complete report(s) kept" in capsys.readouterr().out
    folders = [f for f in out.iterdir() if f.is_dir()]
    assert len(folders) == 6 and all(is_complete(f) for f in folders)
    for name, mtime in kept.items():  # not redone
        assert (out / name / "report.json").stat().st_mtime_ns == mtime
    assert not list(out.rglob(".xaixray-*"))  # no temporary left behind
    assert (out / "index.html").exists()


def test_resume_never_takes_another_images_report_for_this_ones(tiny_classifier, xray_files,
                                                               tmp_path):
    first, second = tmp_path / "a" / "IM-1.png", tmp_path / "b" / "IM-1.png"
    for target, source in ((first, xray_files[0]), (second, xray_files[1])):
        target.parent.mkdir()
        target.write_bytes(source.read_bytes())
    out = tmp_path / "out"
    explain_paths(tiny_classifier, [second], out, methods=["gradcam"], faithfulness=False)
    before = (out / "IM-1" / "report.json").read_bytes()
    # now `a/IM-1.png` sorts first and gets the folder name IM-1, which holds b's report
    run = explain_paths(tiny_classifier, [first, second], out, methods=["gradcam"],
                        faithfulness=False, resume=True)
    assert len(run.failures) == 1 and "holds the report of another image" in run.failures[0]
    assert (out / "IM-1" / "report.json").read_bytes() == before  # not replaced
    assert (out / "IM-1-2" / "report.json").exists()  # b's report, written anew
