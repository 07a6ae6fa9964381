locals {
  # Every task definition: one per service plus the migration task.
  task_definitions = merge(local.services, { migrate = local.migrate_task })

  # Environment variables ECS reads from SSM at task start (the execution role may read only /auto-dev/*).
  database_secret = { DATABASE_URL = aws_ssm_parameter.database_url.arn }
  webhook_secrets = {
    AUTODEV_GITLAB_WEBHOOK_SECRET = aws_ssm_parameter.webhook_secret["gitlab"].arn
    AUTODEV_GITHUB_WEBHOOK_SECRET = aws_ssm_parameter.webhook_secret["github"].arn
  }
  agent_secret_arns = { for variable, name in var.agent_secrets : variable => "${local.ssm_prefix_arn}/${name}" }
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
      secrets = [
        for name, arn in merge(
          local.database_secret,
          { for name, arn in local.webhook_secrets : name => arn if each.value.webhooks },
          { for name, arn in local.agent_secret_arns : name => arn if each.value.agent },
        ) : { name = name, valueFrom = arn }
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

  depends_on = [aws_lb_listener.http, aws_iam_role_policy.execution]
}
