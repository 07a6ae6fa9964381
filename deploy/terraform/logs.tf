# One log group for every service; each task's stream is <service>/<container>/<task-id> (awslogs-stream-prefix).
resource "aws_cloudwatch_log_group" "this" {
  name              = "/ecs/${local.name}"
  retention_in_days = var.log_retention_days
}
