variable "region" {
  description = "AWS region to deploy into (SES must be available there)."
  type        = string
}

variable "name_prefix" {
  description = "Prefix of every resource name. The default matches the names in infra/resources.toml."
  type        = string
  default     = "cv-analytics"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,38}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-40 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "sender_email" {
  description = "Address the weekly report is sent from; becomes a SES email identity that must be verified."
  type        = string
  sensitive   = true

  validation {
    condition     = can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.sender_email))
    error_message = "sender_email must be an email address."
  }
}

variable "recipient_email" {
  description = "Address the weekly report is sent to."
  type        = string
  sensitive   = true

  validation {
    condition     = can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.recipient_email))
    error_message = "recipient_email must be an email address."
  }
}

variable "ses_sandbox" {
  description = "True while the account's SES is in the sandbox: the recipient then becomes a SES identity too (it must be verified) and the reporter may send to it."
  type        = bool
  default     = true
}

variable "processor_image_tag" {
  description = "Tag of the processor image in its ECR repository (the short git commit pushed by scripts/push_images.py)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.processor_image_tag))
    error_message = "processor_image_tag must be a valid image tag."
  }
}

variable "reporter_image_tag" {
  description = "Tag of the reporter image in its ECR repository."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.reporter_image_tag))
    error_message = "reporter_image_tag must be a valid image tag."
  }
}

variable "lambda_architecture" {
  description = "Instruction set of both images: x86_64 for images built for linux/amd64, arm64 for linux/arm64."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.lambda_architecture)
    error_message = "lambda_architecture must be x86_64 or arm64."
  }
}

variable "alarm_email" {
  description = "Address subscribed to the alarm topic (the subscription must be confirmed from the email AWS sends)."
  type        = string

  validation {
    condition     = can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alarm_email))
    error_message = "alarm_email must be an email address."
  }
}

variable "log_level" {
  description = "LOG_LEVEL of both functions."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING or ERROR."
  }
}

variable "log_retention_days" {
  description = "Retention of the functions' log groups. The default keeps logs no longer than the analytics records they describe (90 days)."
  type        = number
  default     = 90

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  }
}

variable "ecr_images_to_keep" {
  description = "Images kept per ECR repository; older ones expire. Keep enough to roll back to."
  type        = number
  default     = 10

  validation {
    condition     = var.ecr_images_to_keep >= 2
    error_message = "ecr_images_to_keep must be at least 2, or there is nothing to roll back to."
  }
}

variable "processor_max_concurrency" {
  description = "Most concurrent processor invocations the SQS event source starts (2-1000)."
  type        = number
  default     = 2

  validation {
    condition     = var.processor_max_concurrency >= 2 && var.processor_max_concurrency <= 1000
    error_message = "processor_max_concurrency must be between 2 and 1000 (the event source mapping's limits)."
  }
}

variable "processor_reserved_concurrency" {
  description = "Reserved concurrency of the processor: -1 for none, 0 to stop processing (messages wait on the queue), otherwise at least processor_max_concurrency."
  type        = number
  default     = -1

  validation {
    condition     = var.processor_reserved_concurrency >= -1
    error_message = "processor_reserved_concurrency must be -1 (unreserved) or a non-negative number."
  }
}

variable "reporter_reserved_concurrency" {
  description = "Reserved concurrency of the reporter: -1 for none, 0 to stop reports."
  type        = number
  default     = -1

  validation {
    condition     = var.reporter_reserved_concurrency >= -1
    error_message = "reporter_reserved_concurrency must be -1 (unreserved) or a non-negative number."
  }
}

variable "tracing_mode" {
  description = "X-Ray tracing of both functions: Active samples and records invocations, PassThrough only forwards upstream trace headers."
  type        = string
  default     = "Active"

  validation {
    condition     = contains(["Active", "PassThrough"], var.tracing_mode)
    error_message = "tracing_mode must be Active or PassThrough."
  }
}

variable "queue_age_alarm_seconds" {
  description = "Alarm when the oldest message on the main queue is older than this. Three processor attempts take up to 3 x the visibility timeout (540 s), so stay above that."
  type        = number
  default     = 900
}

variable "table_deletion_protection" {
  description = "Protect the DynamoDB tables from deletion (turn off before a deliberate terraform destroy)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}

variable "monthly_budget_usd" {
  description = "Monthly AWS cost (USD) the budget alerts on: at 80% of it spent, and when the month is forecast to exceed it. `cv-analytics cost` estimates the bill."
  type        = number
  default     = 10

  validation {
    condition     = var.monthly_budget_usd > 0
    error_message = "monthly_budget_usd must be a positive amount."
  }
}

variable "budget_alert_email" {
  description = "Address AWS Budgets emails when the monthly budget is nearly or forecast to be exceeded."
  type        = string

  validation {
    condition     = can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.budget_alert_email))
    error_message = "budget_alert_email must be an email address."
  }
}
