locals {
  bucket_arn     = "arn:${var.partition}:s3:::${var.bucket_name}"
  prefix_objects = [for p in var.gc_prefixes : "${local.bucket_arn}/${p}*"]
  # the GC also lists its own ledgers under the control prefix
  prefix_patterns = concat([for p in var.gc_prefixes : "${p}*"], ["${var.control_prefix}*"])
  # artifact-gc's own state (apply lease, registry history): never a GC candidate, never deleted
  control_objects = "${local.bucket_arn}/${var.control_prefix}*"

  # Reads both roles need: list (only under the prefixes), read objects and tags, read bucket settings,
  # read the registry.
  read_statements = concat([
    {
      Sid       = "ListOnlyGcPrefixes"
      Effect    = "Allow"
      Action    = ["s3:ListBucket", "s3:ListBucketVersions"]
      Resource  = local.bucket_arn
      Condition = { StringLike = { "s3:prefix" = local.prefix_patterns } }
    },
    {
      Sid      = "ReadBucketSettings"
      Effect   = "Allow"
      Action   = ["s3:GetBucketVersioning", "s3:GetLifecycleConfiguration", "s3:GetBucketLocation"]
      Resource = local.bucket_arn
    },
    {
      # GetObject also authorises HeadObject and conditional (ETag) deletes.
      Sid      = "ReadObjectsUnderGcPrefixes"
      Effect   = "Allow"
      Action   = ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging", "s3:GetObjectVersionTagging"]
      Resource = local.prefix_objects
    },
    {
      Sid      = "ReadGcState"
      Effect   = "Allow"
      Action   = ["s3:GetObject"]
      Resource = local.control_objects
    },
    {
      Sid      = "ReadRegistry"
      Effect   = "Allow"
      Action   = ["dynamodb:Scan", "dynamodb:Query", "dynamodb:DescribeTable"]
      Resource = var.registry_table_arn
    },
    ], length(var.kms_key_arns) > 0 ? [{
      Sid      = "DecryptArtifactsAndRegistry"
      Effect   = "Allow"
      Action   = ["kms:Decrypt", "kms:DescribeKey"]
      Resource = var.kms_key_arns
      }] : [], var.sagemaker_read ? [{
      # SageMaker's List actions support no resource-level permissions: read-only actions on "*".
      Sid    = "ReadSageMakerRegistry"
      Effect = "Allow"
      Action = [
        "sagemaker:ListModelPackageGroups",
        "sagemaker:ListModelPackages",
        "sagemaker:DescribeModelPackage",
        "sagemaker:ListModels",
        "sagemaker:DescribeModel",
      ]
      Resource = "*"
      }] : [], var.inventory_read == null ? [] : [{
      Sid       = "ListInventoryDeliveries"
      Effect    = "Allow"
      Action    = ["s3:ListBucket"]
      Resource  = var.inventory_read.bucket_arn
      Condition = { StringLike = { "s3:prefix" = ["${var.inventory_read.prefix}*"] } }
      }], var.inventory_read == null ? [] : [{
      Sid      = "ReadInventoryDeliveries"
      Effect   = "Allow"
      Action   = ["s3:GetObject"]
      Resource = "${var.inventory_read.bucket_arn}/${var.inventory_read.prefix}*"
  }])

  # Denies that hold whatever else is attached to the role.
  guard_statements = [
    {
      Sid      = "NeverTouchTheBucketItself"
      Effect   = "Deny"
      Action   = ["s3:DeleteBucket", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutLifecycleConfiguration", "s3:PutBucketVersioning"]
      Resource = local.bucket_arn
    },
    {
      Sid    = "NeverWriteTheRegistry"
      Effect = "Deny"
      Action = [
        "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem",
        "dynamodb:PartiQLInsert", "dynamodb:PartiQLUpdate", "dynamodb:PartiQLDelete",
        "dynamodb:DeleteTable", "dynamodb:UpdateTable",
      ]
      Resource = var.registry_table_arn
    },
  ]

  runner_policy = {
    Version = "2012-10-17"
    Statement = concat(local.read_statements, [
      {
        Sid    = "DeleteAndTagOnlyUnderGcPrefixes"
        Effect = "Allow"
        Action = [
          "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObjectTagging", "s3:PutObjectVersionTagging",
          "s3:DeleteObjectTagging", "s3:DeleteObjectVersionTagging",
        ]
        Resource = local.prefix_objects
      },
      {
        # The apply lease and the registry history are written with conditional PutObject; never deleted.
        Sid      = "WriteGcState"
        Effect   = "Allow"
        Action   = ["s3:PutObject"]
        Resource = local.control_objects
      },
      {
        Sid    = "NeverDeleteOutsideGcPrefixes"
        Effect = "Deny"
        Action = [
          "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObjectTagging", "s3:PutObjectVersionTagging",
          "s3:DeleteObjectTagging", "s3:DeleteObjectVersionTagging",
        ]
        NotResource = local.prefix_objects
      },
    ], local.guard_statements)
  }

  # plan --engine spark as a cluster job: the planner writes plan folders elsewhere, never in the bucket
  spark_output_objects = var.spark_planner == null ? null : "${var.spark_planner.output_bucket_arn}/${var.spark_planner.output_prefix}*"
  spark_statements = concat(var.spark_planner == null ? [] : [{
    Sid       = "ListPlanOutput"
    Effect    = "Allow"
    Action    = ["s3:ListBucket"]
    Resource  = var.spark_planner.output_bucket_arn
    Condition = { StringLike = { "s3:prefix" = ["${var.spark_planner.output_prefix}*"] } }
    }], var.spark_planner == null ? [] : [{
    Sid      = "WritePlanOutput"
    Effect   = "Allow"
    Action   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    Resource = local.spark_output_objects
  }])

  planner_policy = {
    Version = "2012-10-17"
    Statement = concat(local.read_statements, local.spark_statements, [
      {
        Sid    = "PlannerNeverWrites"
        Effect = "Deny"
        Action = [
          "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObject", "s3:PutObjectTagging",
          "s3:PutObjectVersionTagging", "s3:DeleteObjectTagging", "s3:DeleteObjectVersionTagging",
        ]
        Resource = "${local.bucket_arn}/*"
      },
    ], local.guard_statements)
  }

  # the planner alone may also be assumed by the Spark job services (EMR Serverless, Glue)
  planner_trust_policy = {
    Version = "2012-10-17"
    Statement = concat(local.trust_policy.Statement,
      var.spark_planner == null || try(length(var.spark_planner.trusted_services), 0) == 0 ? [] : [{
        Sid       = "SparkJobServices"
        Effect    = "Allow"
        Action    = "sts:AssumeRole"
        Principal = { Service = var.spark_planner.trusted_services }
        # confused-deputy guard: only jobs of this account (the registry table's) may pass the role
        Condition = { StringEquals = { "aws:SourceAccount" = split(":", var.registry_table_arn)[4] } }
    }])
  }

  trust_policy = {
    Version = "2012-10-17"
    Statement = concat(
      length(var.trusted_principal_arns) > 0 ? [{
        Sid       = "TrustedPrincipals"
        Effect    = "Allow"
        Action    = "sts:AssumeRole"
        Principal = { AWS = var.trusted_principal_arns }
      }] : [],
      var.github_oidc != null ? [{
        Sid       = "GitHubActionsOidc"
        Effect    = "Allow"
        Action    = "sts:AssumeRoleWithWebIdentity"
        Principal = { Federated = var.github_oidc.provider_arn }
        Condition = {
          StringEquals = { "token.actions.githubusercontent.com:aud" = "sts.amazonaws.com" }
          StringLike   = { "token.actions.githubusercontent.com:sub" = var.github_oidc.subjects }
        }
      }] : [],
    )
  }
}
