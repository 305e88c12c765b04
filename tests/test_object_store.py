"""Inputs on an object store (issue 25): ``audit s3://bucket/prefix`` reads what fsspec opens and
writes what the audit of the same files on disk writes.  The store is moto's S3 server on
127.0.0.1 (a real S3 protocol over HTTP; no network), read through s3fs and universal-pathlib."""

from __future__ import annotations

import filecmp
import json
import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

from emergence_lens.pipelines.audit import write_audit
from emergence_lens.scoring import Rescored
from emergence_lens.cli import app
from emergence_lens.engine import AuditOptions, plan_partitions, run_audit_partitions
from emergence_lens.sources import load_sources
from emergence_lens.sources.load import complete_bundle
from emergence_lens.sources.location import (
    LocationError,
    as_location,
    is_remote,
    stat_key,
)

DATA = Path(__file__).parent / "data"
BUCKET = "runs"
FOLDERS = ("lmeval_wild", "sources", "inspect")
TEXT = ("audit.csv", "verdicts.csv", "rescored_curves.csv", "predictions.csv", "issues.csv", "inputs.csv",
        "unresolved.csv", "models.csv", "curves.csv", "summary.md")
cli = CliRunner()


@pytest.fixture(scope="module")
def s3():
    """An S3 endpoint on 127.0.0.1 holding the test folders under s3://runs/<folder>; the AWS_*
    environment points at it (as a user's credentials would), and the options dict says the same."""
    import s3fs
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    options = {"endpoint_url": f"http://{host}:{port}", "key": "test", "secret": "test"}
    with pytest.MonkeyPatch.context() as mp:
        for k, v in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
                     "AWS_ENDPOINT_URL": options["endpoint_url"]}.items():
            mp.setenv(k, v)
        fs = s3fs.S3FileSystem(**options, skip_instance_cache=True)
        fs.mkdir(BUCKET)
        for name in FOLDERS:
            fs.put(str(DATA / name), f"{BUCKET}/{name}", recursive=True)
        yield options
    server.stop()


def _text(path: Path, root: str) -> str:
    return path.read_text(encoding="utf-8").replace(root, "<ROOT>")


def _differ(local: Path, local_root: str, remote: Path, remote_root: str) -> list[str]:
    """Output files that differ once each run's input root is written <ROOT> (figures: byte for byte)."""
    bad = [f for f in TEXT if (local / f).exists() != (remote / f).exists()
           or ((local / f).exists() and _text(local / f, local_root) != _text(remote / f, remote_root))]
    bad += [p.name for p in local.glob("*.png") if not filecmp.cmp(p, remote / p.name, shallow=False)]
    return bad


@pytest.mark.parametrize("name", FOLDERS)
def test_audit_of_an_s3_prefix_equals_the_audit_of_the_same_files_on_disk(s3, name, tmp_path):
    extra = ["--models", str(DATA / "inspect" / "models.csv")] if name == "inspect" else []
    local, remote = tmp_path / "local", tmp_path / "s3"
    r = cli.invoke(app, ["audit", str(DATA / name), "--out", str(local), "--n-boot", "200", *extra])
    assert r.exit_code == 0, r.output
    r = cli.invoke(app, ["audit", f"s3://{BUCKET}/{name}", "--out", str(remote), "--n-boot", "200", *extra])
    assert r.exit_code == 0, r.output
    assert _differ(local, str(DATA / name), remote, f"s3://{BUCKET}/{name}") == []
    inputs = (remote / "inputs.csv").read_text()
    assert f"s3://{BUCKET}/{name}/" in inputs and str(DATA) not in inputs  # files named by their URLs
    # run.json: every object with its size and SHA-256, equal to the files' on disk
    runs = [json.loads((d / "run.json").read_text())["inputs"] for d in (local, remote)]
    by_name = [{i["path"].replace(root, ""): (i["bytes"], i["sha256"]) for i in run if i["path"].startswith(root)}
               for run, root in zip(runs, (str(DATA / name), f"s3://{BUCKET}/{name}"), strict=True)]
    assert by_name[0] == by_name[1] and len(by_name[0]) == sum(f.is_file() for f in (DATA / name).rglob("*"))


def test_partitions_read_from_s3_by_worker_processes_with_the_options_of_the_url(s3, tmp_path):
    """Each worker opens the objects itself: the locations, with their filesystem options (endpoint,
    keys), are pickled to the worker processes."""
    from upath import UPath

    root = UPath(f"s3://{BUCKET}/lmeval_wild", **s3)
    bundle = load_sources([root], defer_samples=True)
    parts = plan_partitions(bundle.deferred.jobs)
    assert len(parts) >= 2 and all(is_remote(j.file.path) for p in parts for j in p.jobs)
    results = run_audit_partitions(parts, AuditOptions(n_boot=200), workers=2, serial_bytes=0)
    assert all(o.sha256 for r in results for o in r.outcomes)  # hashed where read, on the workers
    done = complete_bundle(bundle, {o.path: o for r in results for o in r.outcomes},
                           [i for r in results for i in r.across])
    write_audit(done, tmp_path / "s3", n_boot=200, rescored_parts=Rescored.concat([r.rescored for r in results if r.rescored]))
    write_audit(load_sources([DATA / "lmeval_wild"]), tmp_path / "local", n_boot=200)
    assert _differ(tmp_path / "local", str(DATA / "lmeval_wild"), tmp_path / "s3", str(root)) == []


def test_dask_engine_reads_s3_and_equals_the_default_engine(s3, tmp_path):
    url = f"s3://{BUCKET}/lmeval_wild"
    for engine in ("local", "dask"):
        r = cli.invoke(app, ["audit", url, "--out", str(tmp_path / engine), "--n-boot", "200", "--engine", engine,
                             "--workers", "2"])
        assert r.exit_code == 0, r.output
    assert _differ(tmp_path / "local", url, tmp_path / "dask", url) == []


def test_a_missing_object_and_a_url_no_filesystem_opens_are_reported_and_the_rest_audited(s3, tmp_path):
    r = cli.invoke(app, ["audit", f"s3://{BUCKET}/nothing-here", "nosuchfs://bucket/runs", str(DATA / "lmeval"),
                         "--out", str(tmp_path), "--n-boot", "100"])
    assert r.exit_code == 0, r.output
    issues = (tmp_path / "issues.csv").read_text()
    assert f"s3://{BUCKET}/nothing-here,,,path does not exist" in issues
    assert "nosuchfs://bucket/runs,,,cannot open nosuchfs:// URLs here" in issues
    inputs = (tmp_path / "inputs.csv").read_text()
    assert "nosuchfs://bucket/runs,,0,0,0,skipped: no filesystem for this URL" in inputs
    assert "ladder-01" in inputs and len((tmp_path / "audit.csv").read_text().splitlines()) > 1


def test_locations():
    assert as_location("runs/x.jsonl") == Path("runs/x.jsonl")
    assert as_location("file:///tmp/a%20b/x.json") == Path("/tmp/a b/x.json")
    p = as_location("memory://bucket/x.jsonl")
    assert is_remote(p) and str(p) == "memory://bucket/x.jsonl" and p.name == "x.jsonl"
    p.write_bytes(b"{}\n")
    assert stat_key(p)[0] == 3
    with pytest.raises(LocationError, match="nosuchfs"):
        as_location("nosuchfs://x/y")
