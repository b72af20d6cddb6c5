"""``strongroom init --storage ocfl-s3``: a node whose storage root is a bucket is made from the command line alone
(over real HTTP to moto's S3 server), and a bucket that is missing leaves no half-made home behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from store_support import REGION, S3Server

from strongroom.settings import load_settings
from tests_support import cli


def test_init_makes_a_node_whose_storage_root_is_a_bucket(
    s3_server: S3Server, tmp_path: Path, sample_dir: Path
) -> None:
    bucket = s3_server.bucket()
    home = tmp_path / "home"
    sr = cli(home)
    made = sr(
        "init", "--storage", "ocfl-s3", "--s3-bucket", bucket, "--s3-endpoint", s3_server.endpoint,
        "--s3-prefix", "nodes/accra", "--s3-region", REGION,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert f"s3://{bucket}/nodes/accra" in made.stdout
    settings = load_settings(home)
    assert settings.storage_backend == "ocfl-s3"
    assert (settings.s3.bucket, settings.s3.prefix, settings.s3.endpoint) == (
        bucket,
        "nodes/accra",
        s3_server.endpoint,
    )
    assert not (home / "ocfl").exists()  # nothing stored on the local disk

    deposited = sr("deposit", str(sample_dir / "ghana-journal-of-agricultural-science-2023-bag"))
    assert deposited.returncode == 0, deposited.stderr
    keys = [o["Key"] for o in s3_server.client().list_objects_v2(Bucket=bucket)["Contents"]]
    assert "nodes/accra/0=ocfl_1.1" in keys
    assert any(k.startswith("nodes/accra/") and k.endswith("/v1/inventory.json") for k in keys)
    audited = sr("audit", "--json")
    assert audited.returncode == 0, audited.stderr
    report = json.loads(audited.stdout)
    assert report["intact"] is True and report["counts"]["ok"] == report["files"] > 0


def test_a_missing_bucket_is_named_and_leaves_no_half_made_home(s3_server: S3Server, tmp_path: Path) -> None:
    home = tmp_path / "home"
    sr = cli(home)
    failed = sr("init", "--storage", "ocfl-s3", "--s3-bucket", "no-such-bucket", "--s3-endpoint", s3_server.endpoint)
    assert failed.returncode != 0
    assert "no-such-bucket" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert not home.exists()  # so the same command, fixed, can simply be run again

    bucket = s3_server.bucket()
    again = sr("init", "--storage", "ocfl-s3", "--s3-bucket", bucket, "--s3-endpoint", s3_server.endpoint)
    assert again.returncode == 0, again.stderr


@pytest.mark.parametrize("option", [("--s3-bucket", "b-1"), ("--s3-prefix", "x"), ("--s3-endpoint", "http://h:1")])
def test_s3_options_without_a_bucket_backend_are_refused(tmp_path: Path, option: tuple[str, str]) -> None:
    home = tmp_path / "home"
    refused = cli(home)("init", *option)
    assert refused.returncode == 2
    assert "--storage ocfl-s3" in refused.stderr
    assert not home.exists()
