"""SageMaker Model Registry and SageMaker models (EDGE): every artifact a package or a model points to.

Every model package is read, versioned (in a group) and unversioned alike, whatever its approval status:
``ListModelPackages`` returns only unversioned packages unless asked for ``Both`` (a classic trap), so the
groups are also walked one by one. A package protects each container's ``ModelDataUrl`` and
``ModelDataSource.S3DataSource.S3Uri`` (an ``S3Prefix`` protects the prefix), in its inference
specification and in every additional one. SageMaker models (what deployed endpoints load) protect their
primary container and containers the same way. Any failed call refuses the run: a partial read would make
unread artifacts look like garbage.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from artifact_gc.aws import aws_message
from artifact_gc.errors import RegistryError
from artifact_gc.registry.base import Reference


def _container_locations(container: Any) -> Iterator[str]:
    if not isinstance(container, dict):
        return
    if container.get("ModelDataUrl"):
        yield container["ModelDataUrl"]
    source = (container.get("ModelDataSource") or {}).get("S3DataSource") or {}
    if source.get("S3Uri"):
        yield source["S3Uri"]


def _specification_locations(specification: Any) -> Iterator[str]:
    for container in (specification or {}).get("Containers") or []:
        yield from _container_locations(container)


@dataclass
class SageMakerSource:
    client: Any
    packages_read: int = field(default=0, init=False)
    models_read: int = field(default=0, init=False)

    @property
    def name(self) -> str:
        return "sagemaker"

    def spec(self) -> dict[str, Any]:
        return {"type": "sagemaker"}

    def references(self) -> Iterator[Reference]:
        try:
            yield from self._packages()
            yield from self._models()
        except (ClientError, BotoCoreError) as exc:
            raise RegistryError(
                f"the SageMaker registry could not be read completely: {aws_message(exc)}"
            ) from exc

    def _package_arns(self) -> Iterator[str]:
        seen: set[str] = set()
        listings = [{"ModelPackageType": "Both"}]
        for page in self.client.get_paginator("list_model_package_groups").paginate():
            listings += [
                {"ModelPackageGroupName": g["ModelPackageGroupName"]}
                for g in page.get("ModelPackageGroupSummaryList", [])
            ]
        for arguments in listings:
            for page in self.client.get_paginator("list_model_packages").paginate(**arguments):
                for summary in page.get("ModelPackageSummaryList", []):
                    arn = summary["ModelPackageArn"]
                    if arn not in seen:
                        seen.add(arn)
                        yield arn

    def _packages(self) -> Iterator[Reference]:
        for arn in self._package_arns():
            package = self.client.describe_model_package(ModelPackageName=arn)
            self.packages_read += 1
            status = package.get("ModelApprovalStatus", "unversioned")
            origin = f"sagemaker model package {arn} ({status})"
            for location in _specification_locations(package.get("InferenceSpecification")):
                yield Reference(location, origin)
            for extra in package.get("AdditionalInferenceSpecifications") or []:
                for location in _specification_locations(extra):
                    yield Reference(location, f"{origin} additional specification {extra.get('Name', '?')}")

    def _models(self) -> Iterator[Reference]:
        for page in self.client.get_paginator("list_models").paginate():
            for summary in page.get("Models", []):
                model = self.client.describe_model(ModelName=summary["ModelName"])
                self.models_read += 1
                origin = f"sagemaker model {summary['ModelName']}"
                for container in [model.get("PrimaryContainer"), *(model.get("Containers") or [])]:
                    for location in _container_locations(container):
                        yield Reference(location, origin)
