variables {
  bucket_name            = "ml-artifacts-prod"
  gc_prefixes            = ["checkpoints/", "experiments/"]
  registry_table_arn     = "arn:aws:dynamodb:eu-west-1:123456789012:table/model-registry"
  trusted_principal_arns = ["arn:aws:iam::123456789012:role/ml-platform-ci"]
}

run "runner_deletes_only_under_gc_prefixes" {
  command = plan

  assert {
    condition = one([for s in jsondecode(output.runner_policy_json).Statement : s if s.Sid == "DeleteAndTagOnlyUnderGcPrefixes"]).Resource == [
      "arn:aws:s3:::ml-artifacts-prod/checkpoints/*", "arn:aws:s3:::ml-artifacts-prod/experiments/*",
    ]
    error_message = "deletes are allowed only under the prefixes"
  }
  assert {
    condition     = one([for s in jsondecode(output.runner_policy_json).Statement : s if s.Sid == "NeverDeleteOutsideGcPrefixes"]).Effect == "Deny"
    error_message = "an explicit deny covers deletes outside the prefixes"
  }
  assert {
    condition     = one([for s in jsondecode(output.runner_policy_json).Statement : s if s.Sid == "ListOnlyGcPrefixes"]).Condition.StringLike["s3:prefix"] == ["checkpoints/*", "experiments/*", ".artifact-gc/*"]
    error_message = "listing is restricted with the s3:prefix condition"
  }
  assert {
    condition     = alltrue([for s in jsondecode(output.runner_policy_json).Statement : s.Resource != "*" && s.Resource != "arn:aws:s3:::ml-artifacts-prod/*" if s.Effect == "Allow"])
    error_message = "no allow statement grants the whole bucket's objects or everything"
  }
}

run "gc_state_is_readable_by_both_and_writable_by_the_runner_only" {
  command = plan

  assert {
    condition     = one([for s in jsondecode(output.runner_policy_json).Statement : s if s.Sid == "WriteGcState"]).Resource == "arn:aws:s3:::ml-artifacts-prod/.artifact-gc/*"
    error_message = "the runner writes the lease and history under the control prefix"
  }
  assert {
    condition     = length([for s in jsondecode(output.planner_policy_json).Statement : s if s.Sid == "WriteGcState"]) == 0
    error_message = "the planner does not write"
  }
  assert {
    condition     = one([for s in jsondecode(output.planner_policy_json).Statement : s if s.Sid == "ReadGcState"]).Action == ["s3:GetObject"]
    error_message = "the planner reads the registry history"
  }
}

run "planner_cannot_write_or_delete" {
  command = plan

  assert {
    condition     = length(flatten([for s in jsondecode(output.planner_policy_json).Statement : [for a in flatten([s.Action]) : a if can(regex("^s3:(Delete|Put)", a))] if s.Effect == "Allow"])) == 0
    error_message = "the planner is allowed no S3 write or delete"
  }
  assert {
    condition     = contains(one([for s in jsondecode(output.planner_policy_json).Statement : s if s.Sid == "PlannerNeverWrites"]).Action, "s3:DeleteObject")
    error_message = "and is explicitly denied deletes"
  }
}

run "both_roles_are_denied_bucket_and_registry_changes" {
  command = plan

  assert {
    condition = alltrue([for doc in [output.runner_policy_json, output.planner_policy_json] : (
      contains(one([for s in jsondecode(doc).Statement : s if s.Sid == "NeverTouchTheBucketItself"]).Action, "s3:PutLifecycleConfiguration") &&
      contains(one([for s in jsondecode(doc).Statement : s if s.Sid == "NeverWriteTheRegistry"]).Action, "dynamodb:PutItem")
    )])
    error_message = "explicit denies on the bucket's settings and the registry"
  }
  assert {
    condition     = one([for s in jsondecode(output.runner_policy_json).Statement : s if s.Sid == "ReadRegistry"]).Action == ["dynamodb:Scan", "dynamodb:Query", "dynamodb:DescribeTable"]
    error_message = "the registry is read with Scan, Query and DescribeTable only"
  }
}

run "trust_github_oidc_subjects" {
  command = plan

  variables {
    trusted_principal_arns = []
    github_oidc = {
      provider_arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
      subjects     = ["repo:acme/ml-infra:ref:refs/heads/main"]
    }
  }

  assert {
    condition = jsondecode(output.trust_policy_json).Statement == [{
      Sid       = "GitHubActionsOidc"
      Effect    = "Allow"
      Action    = "sts:AssumeRoleWithWebIdentity"
      Principal = { Federated = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com" }
      Condition = {
        StringEquals = { "token.actions.githubusercontent.com:aud" = "sts.amazonaws.com" }
        StringLike   = { "token.actions.githubusercontent.com:sub" = ["repo:acme/ml-infra:ref:refs/heads/main"] }
      }
    }]
    error_message = "OIDC trust is limited to the audience and the given subjects"
  }
}

run "kms_keys_add_decrypt" {
  command = plan

  variables {
    kms_key_arns = ["arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"]
  }

  assert {
    condition     = one([for s in jsondecode(output.planner_policy_json).Statement : s if s.Sid == "DecryptArtifactsAndRegistry"]).Action == ["kms:Decrypt", "kms:DescribeKey"]
    error_message = "SSE-KMS needs kms:Decrypt"
  }
}

run "refuses_whole_bucket_or_wildcard_prefixes" {
  command = plan
  variables {
    gc_prefixes = ["checkpoints/", ""]
  }
  expect_failures = [var.gc_prefixes]
}

run "refuses_wildcard_prefix" {
  command = plan
  variables {
    gc_prefixes = ["*"]
  }
  expect_failures = [var.gc_prefixes]
}

run "refuses_wildcard_principals" {
  command = plan
  variables {
    trusted_principal_arns = ["*"]
  }
  expect_failures = [var.trusted_principal_arns]
}

run "refuses_wildcard_github_subjects" {
  command = plan
  variables {
    github_oidc = { provider_arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com", subjects = ["repo:acme/*"] }
  }
  expect_failures = [var.github_oidc]
}

run "refuses_roles_nobody_can_assume" {
  command = plan
  variables {
    trusted_principal_arns = []
  }
  expect_failures = [output.trust_policy_json]
}

run "sagemaker_read_is_off_by_default_and_read_only_when_on" {
  command = plan

  assert {
    condition     = length([for s in jsondecode(output.planner_policy_json).Statement : s if s.Sid == "ReadSageMakerRegistry"]) == 0
    error_message = "no SageMaker access unless asked for"
  }
}

run "sagemaker_read_when_enabled" {
  command = plan

  variables {
    sagemaker_read = true
  }

  assert {
    condition = alltrue([
      for a in one([for s in jsondecode(output.runner_policy_json).Statement : s if s.Sid == "ReadSageMakerRegistry"]).Action :
      startswith(a, "sagemaker:List") || startswith(a, "sagemaker:Describe")
    ])
    error_message = "the SageMaker statement only lists and describes"
  }
  assert {
    condition     = length([for s in jsondecode(output.planner_policy_json).Statement : s if s.Sid == "ReadSageMakerRegistry"]) == 1
    error_message = "the planner reads the SageMaker registry too"
  }
}

run "inventory_read_is_read_only_and_limited_to_the_deliveries" {
  command = plan

  variables {
    inventory_read = { bucket_arn = "arn:aws:s3:::inventory-dest", prefix = "inventory/ml-artifacts/" }
  }

  assert {
    condition     = one([for s in jsondecode(output.planner_policy_json).Statement : s if s.Sid == "ReadInventoryDeliveries"]).Resource == "arn:aws:s3:::inventory-dest/inventory/ml-artifacts/*"
    error_message = "the planner reads only the inventory deliveries"
  }
  assert {
    condition     = one([for s in jsondecode(output.planner_policy_json).Statement : s if s.Sid == "ReadInventoryDeliveries"]).Action == ["s3:GetObject"]
    error_message = "inventory access is GetObject only"
  }
  assert {
    condition     = one([for s in jsondecode(output.planner_policy_json).Statement : s if s.Sid == "ListInventoryDeliveries"]).Condition.StringLike["s3:prefix"] == ["inventory/ml-artifacts/*"]
    error_message = "listing the destination is limited to the deliveries"
  }
}

run "no_inventory_access_unless_asked_for" {
  command = plan

  assert {
    condition     = length([for s in jsondecode(output.planner_policy_json).Statement : s if startswith(s.Sid, "ReadInventory") || startswith(s.Sid, "ListInventory")]) == 0
    error_message = "no inventory access by default"
  }
}

run "inventory_read_refuses_a_wildcard_prefix" {
  command = plan

  variables {
    inventory_read = { bucket_arn = "arn:aws:s3:::inventory-dest", prefix = "*" }
  }
  expect_failures = [var.inventory_read]
}

run "spark_planner_writes_plans_elsewhere_and_only_the_planner_trusts_job_services" {
  command = plan

  variables {
    spark_planner = {
      output_bucket_arn = "arn:aws:s3:::ml-platform-jobs"
      output_prefix     = "artifact-gc/plans/"
      trusted_services  = ["emr-serverless.amazonaws.com", "glue.amazonaws.com"]
    }
  }

  assert {
    condition     = one([for s in jsondecode(output.planner_policy_json).Statement : s if s.Sid == "WritePlanOutput"]).Resource == "arn:aws:s3:::ml-platform-jobs/artifact-gc/plans/*"
    error_message = "the planner writes only under the plan output prefix"
  }
  assert {
    condition     = one([for s in jsondecode(output.planner_policy_json).Statement : s if s.Sid == "ListPlanOutput"]).Condition.StringLike["s3:prefix"] == ["artifact-gc/plans/*"]
    error_message = "listing the plan bucket is limited to the output prefix"
  }
  assert {
    condition     = one([for s in jsondecode(output.planner_policy_json).Statement : s if s.Sid == "PlannerNeverWrites"]).Resource == "arn:aws:s3:::ml-artifacts-prod/*"
    error_message = "the planner still never writes in the artifact bucket"
  }
  assert {
    condition     = length([for s in jsondecode(output.runner_policy_json).Statement : s if s.Sid == "WritePlanOutput"]) == 0
    error_message = "the runner gets no plan output access"
  }
  assert {
    condition     = one([for s in jsondecode(output.planner_trust_policy_json).Statement : s if s.Sid == "SparkJobServices"]).Principal.Service == ["emr-serverless.amazonaws.com", "glue.amazonaws.com"]
    error_message = "the planner trusts the job services"
  }
  assert {
    condition     = one([for s in jsondecode(output.planner_trust_policy_json).Statement : s if s.Sid == "SparkJobServices"]).Condition.StringEquals["aws:SourceAccount"] == "123456789012"
    error_message = "only this account's jobs may assume the planner"
  }
  assert {
    condition     = length([for s in jsondecode(output.trust_policy_json).Statement : s if s.Sid == "SparkJobServices"]) == 0
    error_message = "the runner's trust never includes the job services"
  }
}

run "no_spark_access_unless_asked_for" {
  command = plan

  assert {
    condition     = length([for s in jsondecode(output.planner_policy_json).Statement : s if contains(["WritePlanOutput", "ListPlanOutput"], s.Sid)]) == 0 && output.planner_trust_policy_json == output.trust_policy_json
    error_message = "no plan output access and the same trust by default"
  }
}

run "spark_planner_refuses_the_artifact_bucket_as_output" {
  command = plan

  variables {
    spark_planner = { output_bucket_arn = "arn:aws:s3:::ml-artifacts-prod", output_prefix = "plans/" }
  }
  expect_failures = [output.planner_policy_json]
}

run "spark_planner_refuses_a_wildcard_or_root_prefix_and_non_service_principals" {
  command = plan

  variables {
    spark_planner = { output_bucket_arn = "arn:aws:s3:::ml-platform-jobs", output_prefix = "/", trusted_services = ["*"] }
  }
  expect_failures = [var.spark_planner]
}
