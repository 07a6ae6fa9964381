# The key of every Auto-Dev SecureString parameter (and of the image repository): alias/auto-dev.
resource "aws_kms_key" "this" {
  description             = "Auto-Dev: SSM parameters under /auto-dev and the ECR repository"
  enable_key_rotation     = true
  deletion_window_in_days = 30
}

resource "aws_kms_alias" "this" {
  name          = "alias/${local.name}"
  target_key_id = aws_kms_key.this.key_id
}

# DATABASE_URL of every process. Created with a placeholder Auto-Dev refuses loudly ("DATABASE_URL must start with
# postgres://"); set the real value with aws ssm put-parameter --overwrite (docs/OPERATIONS.md). Terraform never
# reads it back or overwrites it.
resource "aws_ssm_parameter" "database_url" {
  name        = "/auto-dev/database-url"
  description = "Auto-Dev: postgres://USER:PASSWORD@HOST:5432/DB"
  type        = "SecureString"
  key_id      = aws_kms_key.this.arn
  value       = "unset: aws ssm put-parameter --name /auto-dev/database-url --type SecureString --overwrite --value postgres://..."

  lifecycle {
    ignore_changes = [value]
  }
}

# The token of each forge in var.forges (GITLAB_TOKEN / GITHUB_TOKEN in the tasks; the `ssm` secret provider reads
# the same parameter as `github/token` for GitHub releases). Created with a placeholder the forge refuses (401, and
# Auto-Dev names the variable to set); set the real token with aws ssm put-parameter --overwrite (docs/OPERATIONS.md
# "Credentials"). Terraform never reads it back or overwrites it.
resource "aws_ssm_parameter" "forge_token" {
  for_each    = var.forges
  name        = "/auto-dev/${each.key}/token"
  description = "Auto-Dev: the ${each.key} token (agents, dashboard, webhook, scheduler)"
  type        = "SecureString"
  key_id      = aws_kms_key.this.arn
  value       = "unset: aws ssm put-parameter --name /auto-dev/${each.key}/token --type SecureString --overwrite --value ..."

  lifecycle {
    ignore_changes = [value]
  }
}

# The forge webhooks' shared secrets, one per forge in var.forges: generated here; copy one into the forge's webhook
# settings (aws ssm get-parameter --with-decryption). A rotated value set by hand is kept.
resource "random_password" "webhook" {
  for_each = var.forges
  length   = 40
  special  = false
}

resource "aws_ssm_parameter" "webhook_secret" {
  for_each    = random_password.webhook
  name        = "/auto-dev/${each.key}-webhook-secret"
  description = "Auto-Dev: the ${each.key} webhook secret"
  type        = "SecureString"
  key_id      = aws_kms_key.this.arn
  value       = each.value.result

  lifecycle {
    ignore_changes = [value]
  }
}
