# The guide's outputs, by these names (docs/OPERATIONS.md "Deploy").

output "alb_dns_name" {
  description = "The internal load balancer's DNS name (reachable from inside the VPC)."
  value       = aws_lb.this.dns_name
}

output "dashboard_url" {
  description = "The dashboard, through the internal load balancer."
  value       = "${var.certificate_arn == null ? "http" : "https"}://${aws_lb.this.dns_name}"
}

output "ecr_repository_url" {
  description = "Where to push the image (docker push <url>:<tag>)."
  value       = aws_ecr_repository.this.repository_url
}

output "ecs_cluster_name" {
  description = "The ECS cluster of every service."
  value       = aws_ecs_cluster.this.name
}

output "cloudwatch_log_group" {
  description = "The log group of every service; streams are <service>/<service>/<task-id>."
  value       = aws_cloudwatch_log_group.this.name
}
