locals {
  # Every task definition: one per service plus the migration task.
  task_definitions = merge(local.services, { migrate = local.migrate_task })

  # Every credential ECS reads from SSM at task start and passes as an environment variable (`secrets`): the variable
  # => its parameter under /auto-dev/ (ssm.tf), the forge it belongs to (null: any deployment) and the tasks that
  # read it ("agent" is every role's service). Who reads what, from the code:
  # - DATABASE_URL: every process.
  # - GITLAB_TOKEN / GITHUB_TOKEN (src/forge, DEFAULT_TOKEN_ENV): the agents clone, fetch and push their working
  #   copies and comment, open and merge in the forge; the scheduler polls it (webhooks/forge-poller.ts); the webhook
  #   service reads a failed pipeline's job log (webhooks/forge-job-log.ts); the dashboard registers repositories
  #   (POST /api/repos) and syncs a merge request's diff. Not the migration task.
  # - AUTODEV_<FORGE>_WEBHOOK_SECRET (webhooks/webhook-secrets.ts): the webhook service, which the load balancer
  #   sends /webhooks/* to.
  injected_secrets = {
    DATABASE_URL                  = { parameter = "database-url", forge = null, tasks = ["dashboard", "webhook", "scheduler", "agent", "migrate"] }
    GITLAB_TOKEN                  = { parameter = "gitlab/token", forge = "gitlab", tasks = ["dashboard", "webhook", "scheduler", "agent"] }
    GITHUB_TOKEN                  = { parameter = "github/token", forge = "github", tasks = ["dashboard", "webhook", "scheduler", "agent"] }
    AUTODEV_GITLAB_WEBHOOK_SECRET = { parameter = "gitlab-webhook-secret", forge = "gitlab", tasks = ["webhook"] }
    AUTODEV_GITHUB_WEBHOOK_SECRET = { parameter = "github-webhook-secret", forge = "github", tasks = ["webhook"] }
  }

  # The ones this deployment passes: its forges' (var.forges), plus var.agent_secrets (the model API keys) to the
  # agents.
  secrets = merge(
    { for name, secret in local.injected_secrets : name => secret if secret.forge == null || contains(var.forges, coalesce(secret.forge, "-")) },
    { for name, parameter in var.agent_secrets : name => { parameter = parameter, forge = null, tasks = ["agent"] } },
  )

  # Their parameter ARNs: the task definitions' valueFrom, and exactly what the execution role may read (iam.tf).
  secret_arns = { for name, secret in local.secrets : name => "${local.ssm_prefix_arn}/${secret.parameter}" }
}

resource "aws_ecs_task_definition" "this" {
  for_each                 = local.task_definitions
  family                   = "${local.name}-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = each.value.cpu
  memory                   = each.value.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  # Agents keep repository clones, worktrees and session files on the task's own disk (nothing shared).
  dynamic "ephemeral_storage" {
    for_each = each.value.storage_gib == null ? [] : [each.value.storage_gib]
    content {
      size_in_gib = ephemeral_storage.value
    }
  }

  container_definitions = jsonencode([
    {
      name      = each.key
      image     = local.image
      essential = true
      command   = each.value.command
      # The image's user `node` (uid 1000): never root.
      user = "node"
      portMappings = each.value.port == null ? [] : [
        { containerPort = each.value.port, protocol = "tcp" }
      ]
      environment = [
        for name, value in merge(
          local.common_environment,
          { for name, value in { AUTODEV_HEALTHCHECK = each.value.healthcheck } : name => value if value != null },
        ) : { name = name, value = value }
      ]
      # The credentials this task reads (local.secrets: "agent" for every role's service, else the task's key).
      secrets = [
        for name, secret in local.secrets : { name = name, valueFrom = local.secret_arns[name] }
        if contains(secret.tasks, each.value.agent ? "agent" : each.key)
      ]
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.this.name
          awslogs-region        = var.region
          awslogs-stream-prefix = each.key
        }
      }
      healthCheck = each.value.healthcheck == null ? null : {
        command     = ["CMD", "node", "/app/deploy/healthcheck.mjs"]
        interval    = 30
        timeout     = 10
        retries     = 3
        startPeriod = 120
      }
      linuxParameters = { initProcessEnabled = true }
      # ECS sends SIGTERM, then SIGKILL after stopTimeout (Fargate allows at most 120 s). On SIGTERM a process turns
      # /ready to 503; agents stop their sessions and hand their running tasks back to the queue (not counted as an
      # attempt), then the process exits: seconds. A task killed anyway loses nothing: its leases expire.
      stopTimeout = 120
    }
  ])
}

resource "aws_ecs_service" "this" {
  for_each                          = local.services
  name                              = "${local.name}-${each.key}"
  cluster                           = aws_ecs_cluster.this.id
  task_definition                   = aws_ecs_task_definition.this[each.key].arn
  desired_count                     = lookup(var.desired_counts, each.key, 1)
  launch_type                       = "FARGATE"
  platform_version                  = "LATEST"
  propagate_tags                    = "SERVICE"
  enable_ecs_managed_tags           = true
  health_check_grace_period_seconds = contains(keys(local.load_balanced), each.key) ? 120 : null

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }

  dynamic "load_balancer" {
    for_each = { for name, target in local.load_balanced : name => target if name == each.key }
    content {
      target_group_arn = aws_lb_target_group.this[each.key].arn
      container_name   = each.key
      container_port   = load_balancer.value.port
    }
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  lifecycle {
    # Scaling by hand (aws ecs update-service --desired-count) is kept across terraform apply.
    ignore_changes = [desired_count]
  }

  # The parameters first: a task reads its secrets when it starts.
  depends_on = [
    aws_lb_listener.http,
    aws_iam_role_policy.execution,
    aws_ssm_parameter.database_url,
    aws_ssm_parameter.forge_token,
    aws_ssm_parameter.webhook_secret,
  ]
}
