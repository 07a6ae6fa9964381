# Optional alarms (enable_alarms = true): a service running fewer tasks than desired, error lines in the logs,
# unhealthy load balancer targets. Each notifies var.alarm_actions.

resource "aws_cloudwatch_metric_alarm" "running_below_desired" {
  for_each            = { for name, service in local.services : name => service if var.enable_alarms }
  alarm_name          = "${local.name}-${each.key}-running-below-desired"
  alarm_description   = "auto-dev-${each.key} runs fewer tasks than desired for 5 minutes"
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  evaluation_periods  = 5
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions

  metric_query {
    id          = "missing"
    expression  = "desired - running"
    label       = "desired minus running tasks"
    return_data = true
  }

  metric_query {
    id = "desired"
    metric {
      namespace   = "ECS/ContainerInsights"
      metric_name = "DesiredTaskCount"
      period      = 60
      stat        = "Average"
      dimensions = {
        ClusterName = aws_ecs_cluster.this.name
        ServiceName = aws_ecs_service.this[each.key].name
      }
    }
  }

  metric_query {
    id = "running"
    metric {
      namespace   = "ECS/ContainerInsights"
      metric_name = "RunningTaskCount"
      period      = 60
      stat        = "Average"
      dimensions = {
        ClusterName = aws_ecs_cluster.this.name
        ServiceName = aws_ecs_service.this[each.key].name
      }
    }
  }
}

# Auto-Dev logs JSON lines (pino): level 50 is error, 60 fatal.
resource "aws_cloudwatch_log_metric_filter" "errors" {
  count          = var.enable_alarms ? 1 : 0
  name           = "${local.name}-errors"
  log_group_name = aws_cloudwatch_log_group.this.name
  pattern        = "{ $.level >= 50 }"

  metric_transformation {
    name          = "ErrorLogLines"
    namespace     = "AutoDev"
    value         = "1"
    default_value = "0"
  }
}

resource "aws_cloudwatch_metric_alarm" "errors" {
  count               = var.enable_alarms ? 1 : 0
  alarm_name          = "${local.name}-errors"
  alarm_description   = "more than ${var.error_log_threshold} error log lines in 5 minutes in /ecs/auto-dev"
  namespace           = "AutoDev"
  metric_name         = aws_cloudwatch_log_metric_filter.errors[0].metric_transformation[0].name
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.error_log_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "unhealthy_targets" {
  for_each            = { for name, target in local.load_balanced : name => target if var.enable_alarms }
  alarm_name          = "${local.name}-${each.key}-unhealthy-targets"
  alarm_description   = "a target of ${local.name}-${each.key}-tg fails its health check"
  namespace           = "AWS/ApplicationELB"
  metric_name         = "UnHealthyHostCount"
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions

  dimensions = {
    LoadBalancer = aws_lb.this.arn_suffix
    TargetGroup  = aws_lb_target_group.this[each.key].arn_suffix
  }
}
