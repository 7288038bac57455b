"""The ingested study Parquet where researchers load it: the real Hugging Face `datasets`
(frames as an Image feature, one row per step) and the real DuckDB (steps joined to episodes),
both offline, in a child process traced for connect() calls."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pyarrow.parquet as pq

from recorder.study import ingest
from tests.support.guards import traced
from tests.support.study import donation

LOAD = textwrap.dedent('''
    import io, json, sys
    import datasets, duckdb

    ds_dir, cache = sys.argv[1], sys.argv[2]
    steps = datasets.load_dataset("parquet", data_files={"train": f"{ds_dir}/steps.parquet"},
                                  split="train", cache_dir=cache)
    episodes = datasets.load_dataset("parquet", data_files={"train": f"{ds_dir}/episodes.parquet"},
                                     split="train", cache_dir=cache)
    with_frame = [r for r in steps if r["frame_png"] is not None]
    img = with_frame[0]["frame_png"]
    con = duckdb.connect()
    joined = con.execute(f"""
        SELECT e.participant_id, e.task, s.step_index, s.action_type, s.pyautogui, s.frame_png.path
        FROM '{ds_dir}/steps.parquet' s JOIN '{ds_dir}/episodes.parquet' e USING (bundle_id)
        ORDER BY s.bundle_id, s.step_index""").fetchall()
    per_episode = con.execute(f"""
        SELECT e.bundle_id, e.n_steps, count(*) FROM '{ds_dir}/episodes.parquet' e
        JOIN '{ds_dir}/steps.parquet' s ON s.bundle_id = e.bundle_id GROUP BY ALL""").fetchall()
    print(json.dumps({
        "feature": type(steps.features["frame_png"]).__name__,
        "rows": steps.num_rows, "episodes": episodes.num_rows,
        "image": [type(img).__name__, img.size[0], img.size[1], with_frame[0]["frame_w"], with_frame[0]["frame_h"]],
        "columns": steps.column_names,
        "joined": [list(r) for r in joined],
        "per_episode": [list(r) for r in per_episode],
    }))
''')


def test_the_study_dataset_loads_in_hf_datasets_and_duckdb_offline(home: Path, user, res, joined,  # noqa: F811
                                                                      tmp_path: Path, monkeypatch) -> None:
    bundles = [donation(home, user, tmp_path, name=f"d{i}.age") for i in range(2)]
    report = ingest.ingest(bundles, ingest.read_identity(res.keys.identity_path), [joined], tmp_path / "ds")
    assert report.accepted == 2
    expected = pq.read_table(tmp_path / "ds" / "steps.parquet")
    script = tmp_path / "load.py"
    script.write_text(LOAD)
    for var in ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE"):
        monkeypatch.setenv(var, "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    proc, connects = traced([sys.executable, str(script), str(tmp_path / "ds"), str(tmp_path / "cache")],
                            tmp_path / "strace.log", capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not [c for c in connects if c.family in ("AF_INET", "AF_INET6")], connects  # not even loopback
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["feature"] == "Image"
    assert out["rows"] == expected.num_rows == report.steps and out["episodes"] == 2
    kind, w, h, fw, fh = out["image"]
    assert kind.endswith("ImageFile") or kind == "Image"
    assert (w, h) == (fw, fh)
    assert out["columns"] == expected.schema.names
    assert len(out["joined"]) == expected.num_rows
    assert {r[1] for r in out["joined"]} == {"send the report"}
    assert all(r[5] is None or r[5].startswith("frames/") for r in out["joined"])
    assert sorted(r[1] for r in out["per_episode"]) == sorted(r[2] for r in out["per_episode"])
