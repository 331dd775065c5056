locals {
  functions = toset(["processor", "reporter"])
}

resource "aws_ecr_repository" "function" {
  for_each = local.functions
  # checkov:skip=CKV_AWS_136: images hold code and no visitor data; AES256 (SSE-S3) encrypts them at rest without adding the Lambda image pull to the data key's policy.

  name                 = "${var.name_prefix}-${each.key}"
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "AES256"
  }
}

resource "aws_ecr_lifecycle_policy" "function" {
  for_each = aws_ecr_repository.function

  repository = each.value.name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Keep the last ${var.ecr_images_to_keep} images (rollback targets)"
      selection = {
        tagStatus   = "any"
        countType   = "imageCountMoreThan"
        countNumber = var.ecr_images_to_keep
      }
      action = { type = "expire" }
    }]
  })
}
