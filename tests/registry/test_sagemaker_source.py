"""The SageMaker Model Registry and models as a registry source, on moto: versioned and unversioned
packages, every approval status, ModelDataSource prefixes, deployed models; a failing call refuses."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from artifact_gc.collect.planner import PlanOptions, raise_if_refused, run_plan
from artifact_gc.config import GcConfig
from artifact_gc.errors import RegistryError
from artifact_gc.registry.sagemaker import SageMakerSource

from conftest import BUCKET, REGION, World

ROLE = "arn:aws:iam::123456789012:role/sagemaker"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/serve:1"


def container(**fields) -> dict:
    return {"Image": IMAGE, **fields}


def specification(*containers: dict) -> dict:
    return {
        "Containers": list(containers),
        "SupportedContentTypes": ["text/csv"],
        "SupportedResponseMIMETypes": ["text/csv"],
    }


def register_everything(sm) -> None:
    sm.create_model_package_group(ModelPackageGroupName="fraud")
    for version, status in (("v1", "Approved"), ("v2", "Rejected"), ("v3", "PendingManualApproval")):
        sm.create_model_package(
            ModelPackageGroupName="fraud",
            ModelApprovalStatus=status,
            InferenceSpecification=specification(
                container(ModelDataUrl=f"s3://{BUCKET}/models/fraud/{version}/model.tar.gz")
            ),
        )
    sm.create_model_package(  # unversioned: invisible to a plain ListModelPackages
        ModelPackageName="legacy",
        InferenceSpecification=specification(
            container(
                ModelDataSource={
                    "S3DataSource": {
                        "S3Uri": f"s3://{BUCKET}/models/legacy/",
                        "S3DataType": "S3Prefix",
                        "CompressionType": "None",
                    }
                }
            )
        ),
    )
    sm.create_model(
        ModelName="serving",
        PrimaryContainer=container(ModelDataUrl=f"s3://{BUCKET}/models/deployed/model.tar.gz"),
        ExecutionRoleArn=ROLE,
    )


def test_every_package_and_model_protects(world: World, tmp_path: Path) -> None:
    sm = boto3.client("sagemaker", region_name=REGION)
    register_everything(sm)
    for key in (
        "models/fraud/v1/model.tar.gz",
        "models/fraud/v2/model.tar.gz",
        "models/fraud/v3/model.tar.gz",
        "models/legacy/weights/part-0.bin",
        "models/deployed/model.tar.gz",
        "models/forgotten/model.tar.gz",
    ):
        world.put(key)
    out = tmp_path / "plan.jsonl"
    result = run_plan(
        GcConfig(bucket=BUCKET, prefixes=("models/",), sagemaker=True),
        PlanOptions(out=out, max_delete_fraction=1.0),
        world.clients(),
        world.now,
    )
    raise_if_refused(result)
    keys = [json.loads(line)["key"] for line in out.read_text().splitlines()[1:]]
    assert keys == ["models/forgotten/model.tar.gz"]
    assert result.header["registry"]["sources"] == [{"type": "sagemaker"}]
    assert result.header["registry"]["references_by_source"]["sagemaker"] == 5


def test_a_failing_call_refuses(world: World) -> None:
    sm = boto3.client("sagemaker", region_name=REGION)
    register_everything(sm)

    def throttled(**_: object) -> None:
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow"}}, "ListModels")

    sm.meta.events.register("before-call.sagemaker.ListModels", throttled)
    source = SageMakerSource(sm)
    with pytest.raises(RegistryError, match="could not be read completely: ThrottlingException"):
        list(source.references())


def test_apply_rereads_sagemaker(world: World, tmp_path: Path) -> None:
    from datetime import datetime, timezone

    from artifact_gc.collect.apply import ApplyOptions, execute_apply, prepare_apply

    sm = boto3.client("sagemaker", region_name=REGION)
    register_everything(sm)
    world.put("models/fraud/v1/model.tar.gz")
    world.put("models/new/model.tar.gz")
    world.put("models/old/model.tar.gz")
    out = tmp_path / "plan.jsonl"
    raise_if_refused(
        run_plan(
            GcConfig(bucket=BUCKET, prefixes=("models/",), sagemaker=True),
            PlanOptions(out=out, max_delete_fraction=1.0),
            world.clients(),
            world.now,
        )
    )
    sm.create_model(  # deployed between plan and apply
        ModelName="late", PrimaryContainer=container(ModelDataUrl=f"s3://{BUCKET}/models/new/model.tar.gz"),
        ExecutionRoleArn=ROLE,
    )  # fmt: skip
    options = ApplyOptions(audit_path=tmp_path / "audit.jsonl", max_delete_fraction=1.0)
    prepared = prepare_apply(out, GcConfig(), options, world.clients(), datetime.now(timezone.utc))
    execute_apply(prepared, world.clients(), options, sleep=lambda s: None)
    assert world.listed_keys() == {"models/fraud/v1/model.tar.gz", "models/new/model.tar.gz"}
