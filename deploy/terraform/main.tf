data "aws_caller_identity" "current" {}

data "aws_vpc" "this" {
  id = var.vpc_id
}

locals {
  name = "auto-dev"

  # The eight agent roles (src/domain/roles.ts), each its own service: `autodev serve agent:ROLE`.
  roles = ["pm", "architect", "builder", "reviewer", "tester", "security", "devops", "bug_finder"]

  # The port on which the scheduler and agent processes answer /health and /ready (`serve ... --health-port`). Only
  # the container's own health check reads it, so the security groups do not open it.
  health_port = "8090"

  # Every ECS service, keyed by its short name: service auto-dev-<key>, task family auto-dev-<key>, log stream
  # prefix <key>. healthcheck: the URL deploy/healthcheck.mjs checks in the container (AUTODEV_HEALTHCHECK). The
  # dashboard and webhook containers are checked for liveness (/health: the process and its database answer; ECS
  # replaces the task otherwise); whether they take traffic is the load balancer's check of /ready
  # (var.health_check_path). The scheduler and agent processes have no load balancer: their container check is /ready
  # (the database answers, the schema is this build's, the scheduler or agent loop runs).
  platform_services = {
    dashboard = {
      command     = ["serve", "dashboard", "--host", "0.0.0.0", "--port", "8080"]
      port        = 8080
      healthcheck = "http://127.0.0.1:8080/health"
      cpu         = var.service_cpu
      memory      = var.service_memory
      storage_gib = null
      agent       = false
    }
    webhook = {
      command     = ["serve", "webhook", "--host", "0.0.0.0", "--port", "8081"]
      port        = 8081
      healthcheck = "http://127.0.0.1:8081/health"
      cpu         = var.service_cpu
      memory      = var.service_memory
      storage_gib = null
      agent       = false
    }
    scheduler = {
      command     = ["serve", "scheduler", "--host", "0.0.0.0", "--health-port", local.health_port]
      port        = null
      healthcheck = "http://127.0.0.1:${local.health_port}/ready"
      cpu         = var.service_cpu
      memory      = var.service_memory
      storage_gib = null
      agent       = false
    }
  }

  agent_services = {
    for role in local.roles : role => {
      command     = ["serve", "agent:${role}", "--host", "0.0.0.0", "--health-port", local.health_port]
      port        = null
      healthcheck = "http://127.0.0.1:${local.health_port}/ready"
      cpu         = var.agent_cpu
      memory      = var.agent_memory
      storage_gib = var.agent_ephemeral_storage_gib
      agent       = true
    }
  }

  services = merge(local.platform_services, local.agent_services)

  # The one-off migration task (`autodev db migrate`), run before a new image's services roll (docs/OPERATIONS.md).
  migrate_task = {
    command     = ["db", "migrate"]
    port        = null
    healthcheck = null
    cpu         = var.service_cpu
    memory      = var.service_memory
    storage_gib = null
    agent       = false
  }

  # The services behind the load balancer: the dashboard takes every path, the webhook service /webhooks/*.
  load_balanced = {
    dashboard = { port = 8080, priority = null, paths = null }
    webhook   = { port = 8081, priority = 10, paths = ["/webhooks/*"] }
  }

  image = "${aws_ecr_repository.this.repository_url}:${var.image_tag}"

  vpc_cidr_blocks = [data.aws_vpc.this.cidr_block]
  ingress_cidrs   = length(var.allowed_cidr_blocks) > 0 ? var.allowed_cidr_blocks : local.vpc_cidr_blocks
  database_cidrs  = length(var.database_cidr_blocks) > 0 ? var.database_cidr_blocks : local.vpc_cidr_blocks

  ssm_prefix_arn = "arn:aws:ssm:${var.region}:${data.aws_caller_identity.current.account_id}:parameter/auto-dev"

  # The settings every process gets (AUTODEV_<SECTION>__<KEY> overrides settings.yaml).
  common_environment = {
    AUTODEV_DATA_DIR          = "/data"
    AUTODEV_SECRETS__PROVIDER = "ssm"
    AUTODEV_SECRETS__PREFIX   = "/auto-dev"
    AUTODEV_SECRETS__REGION   = var.region
    AWS_REGION                = var.region
  }
}

resource "aws_ecs_cluster" "this" {
  name = local.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_ecs_cluster_capacity_providers" "this" {
  cluster_name       = aws_ecs_cluster.this.name
  capacity_providers = ["FARGATE"]

  default_capacity_provider_strategy {
    capacity_provider = "FARGATE"
    weight            = 1
  }
}
