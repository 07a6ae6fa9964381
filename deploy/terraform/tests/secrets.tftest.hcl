# `terraform init && terraform test` (Terraform 1.7+; no AWS account: the aws provider is mocked, nothing is created):
# the credentials each task definition gets and the SSM parameters the execution role may read, as Terraform itself
# computes them, for both forges and for one; a deployment naming no forge, or agent_secrets shadowing a forge token,
# is refused. The suite's own check of the same (without terraform) is test/deploy/terraform-secrets.ts.
mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_vpc" {
    defaults = { cidr_block = "10.0.0.0/16" }
  }
  mock_resource "aws_lb" {
    defaults = { arn = "arn:aws:mock:us-east-1:123456789012:aws_lb/mock" }
  }
  mock_resource "aws_lb_target_group" {
    defaults = { arn = "arn:aws:mock:us-east-1:123456789012:aws_lb_target_group/mock" }
  }
  mock_resource "aws_lb_listener" {
    defaults = { arn = "arn:aws:mock:us-east-1:123456789012:aws_lb_listener/mock" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:mock:us-east-1:123456789012:aws_iam_role/mock" }
  }
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:mock:us-east-1:123456789012:aws_kms_key/mock" }
  }
  mock_resource "aws_ecr_repository" {
    defaults = { arn = "arn:aws:mock:us-east-1:123456789012:aws_ecr_repository/mock" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:mock:us-east-1:123456789012:aws_cloudwatch_log_group/mock" }
  }
  mock_resource "aws_ssm_parameter" {
    defaults = { arn = "arn:aws:mock:us-east-1:123456789012:aws_ssm_parameter/mock" }
  }
  mock_resource "aws_ecs_task_definition" {
    defaults = { arn = "arn:aws:mock:us-east-1:123456789012:aws_ecs_task_definition/mock" }
  }
  mock_resource "aws_ecs_cluster" {
    defaults = { arn = "arn:aws:mock:us-east-1:123456789012:aws_ecs_cluster/mock" }
  }
  mock_resource "aws_ecs_service" {
    defaults = { arn = "arn:aws:mock:us-east-1:123456789012:aws_ecs_service/mock" }
  }
  mock_resource "aws_security_group" {
    defaults = { arn = "arn:aws:mock:us-east-1:123456789012:aws_security_group/mock" }
  }
  mock_resource "aws_cloudwatch_metric_alarm" {
    defaults = { arn = "arn:aws:mock:us-east-1:123456789012:aws_cloudwatch_metric_alarm/mock" }
  }
  mock_resource "aws_cloudwatch_log_metric_filter" {
    defaults = { arn = "arn:aws:mock:us-east-1:123456789012:aws_cloudwatch_log_metric_filter/mock" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

variables {
  vpc_id             = "vpc-1"
  private_subnet_ids = ["subnet-a", "subnet-b"]
  image_tag          = "abc123"
}

run "both_forges" {
  command = apply

  assert {
    condition = jsonencode({
      for key, task in aws_ecs_task_definition.this : key => sort([for s in jsondecode(task.container_definitions)[0].secrets : s.name])
      }) == jsonencode({
      dashboard  = ["DATABASE_URL", "GITHUB_TOKEN", "GITLAB_TOKEN"]
      webhook    = ["AUTODEV_GITHUB_WEBHOOK_SECRET", "AUTODEV_GITLAB_WEBHOOK_SECRET", "DATABASE_URL", "GITHUB_TOKEN", "GITLAB_TOKEN"]
      scheduler  = ["DATABASE_URL", "GITHUB_TOKEN", "GITLAB_TOKEN"]
      pm         = ["ANTHROPIC_API_KEY", "DATABASE_URL", "GITHUB_TOKEN", "GITLAB_TOKEN"]
      architect  = ["ANTHROPIC_API_KEY", "DATABASE_URL", "GITHUB_TOKEN", "GITLAB_TOKEN"]
      builder    = ["ANTHROPIC_API_KEY", "DATABASE_URL", "GITHUB_TOKEN", "GITLAB_TOKEN"]
      reviewer   = ["ANTHROPIC_API_KEY", "DATABASE_URL", "GITHUB_TOKEN", "GITLAB_TOKEN"]
      tester     = ["ANTHROPIC_API_KEY", "DATABASE_URL", "GITHUB_TOKEN", "GITLAB_TOKEN"]
      security   = ["ANTHROPIC_API_KEY", "DATABASE_URL", "GITHUB_TOKEN", "GITLAB_TOKEN"]
      devops     = ["ANTHROPIC_API_KEY", "DATABASE_URL", "GITHUB_TOKEN", "GITLAB_TOKEN"]
      bug_finder = ["ANTHROPIC_API_KEY", "DATABASE_URL", "GITHUB_TOKEN", "GITLAB_TOKEN"]
      migrate    = ["DATABASE_URL"]
    })
    error_message = "secrets per task: ${jsonencode({ for key, task in aws_ecs_task_definition.this : key => [for s in jsondecode(task.container_definitions)[0].secrets : s.name] })}"
  }

  assert {
    condition = jsonencode(sort([for s in data.aws_iam_policy_document.execution.statement : s.resources if s.sid == "InjectedParameters"][0])) == jsonencode(sort([
      "arn:aws:ssm:us-east-1:123456789012:parameter/auto-dev/anthropic/api_key",
      "arn:aws:ssm:us-east-1:123456789012:parameter/auto-dev/database-url",
      "arn:aws:ssm:us-east-1:123456789012:parameter/auto-dev/github-webhook-secret",
      "arn:aws:ssm:us-east-1:123456789012:parameter/auto-dev/github/token",
      "arn:aws:ssm:us-east-1:123456789012:parameter/auto-dev/gitlab-webhook-secret",
      "arn:aws:ssm:us-east-1:123456789012:parameter/auto-dev/gitlab/token",
    ]))
    error_message = "execution role SSM resources: ${jsonencode([for s in data.aws_iam_policy_document.execution.statement : s.resources if s.sid == "InjectedParameters"])}"
  }

  assert {
    condition     = jsonencode(sort(keys(aws_ssm_parameter.forge_token))) == jsonencode(["github", "gitlab"]) && aws_ssm_parameter.forge_token["gitlab"].name == "/auto-dev/gitlab/token"
    error_message = "forge token parameters"
  }
}

run "gitlab_only" {
  command = apply

  variables {
    forges = ["gitlab"]
  }

  assert {
    condition = jsonencode({
      for key in ["dashboard", "webhook", "scheduler", "builder", "migrate"] : key => sort([for s in jsondecode(aws_ecs_task_definition.this[key].container_definitions)[0].secrets : s.name])
      }) == jsonencode({
      dashboard = ["DATABASE_URL", "GITLAB_TOKEN"]
      webhook   = ["AUTODEV_GITLAB_WEBHOOK_SECRET", "DATABASE_URL", "GITLAB_TOKEN"]
      scheduler = ["DATABASE_URL", "GITLAB_TOKEN"]
      builder   = ["ANTHROPIC_API_KEY", "DATABASE_URL", "GITLAB_TOKEN"]
      migrate   = ["DATABASE_URL"]
    })
    error_message = "gitlab only: ${jsonencode({ for key, task in aws_ecs_task_definition.this : key => [for s in jsondecode(task.container_definitions)[0].secrets : s.name] })}"
  }

  assert {
    condition     = jsonencode(keys(aws_ssm_parameter.forge_token)) == jsonencode(["gitlab"]) && jsonencode(keys(aws_ssm_parameter.webhook_secret)) == jsonencode(["gitlab"])
    error_message = "gitlab only: parameters"
  }
}

run "no_forge_is_refused" {
  command = plan

  variables {
    forges = []
  }

  expect_failures = [var.forges]
}

run "agent_secrets_cannot_shadow_a_token" {
  command = plan

  variables {
    agent_secrets = { GITLAB_TOKEN = "mine/token" }
  }

  expect_failures = [var.agent_secrets]
}
