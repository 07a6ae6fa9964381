# The internal load balancer: never internet-facing, in the private subnets. The dashboard (API + UI) takes every
# path, the webhook service /webhooks/*. Targets are checked on var.health_check_path.

resource "aws_lb" "this" {
  name                       = "${local.name}-alb"
  internal                   = true
  load_balancer_type         = "application"
  subnets                    = var.private_subnet_ids
  security_groups            = [aws_security_group.alb.id]
  drop_invalid_header_fields = true
  enable_deletion_protection = var.deletion_protection
  # The dashboard's event stream (SSE) stays open; the ALB closes a connection idle for longer than this.
  idle_timeout = 300
}

resource "aws_lb_target_group" "this" {
  for_each             = local.load_balanced
  name                 = "${local.name}-${each.key}-tg"
  port                 = each.value.port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = 30

  health_check {
    enabled             = true
    path                = var.health_check_path
    port                = "traffic-port"
    protocol            = "HTTP"
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

locals {
  https = var.certificate_arn != null
}

# HTTP: forwards (no certificate) or redirects to HTTPS (with one).
resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type             = local.https ? "redirect" : "forward"
    target_group_arn = local.https ? null : aws_lb_target_group.this["dashboard"].arn

    dynamic "redirect" {
      for_each = local.https ? [1] : []
      content {
        port        = "443"
        protocol    = "HTTPS"
        status_code = "HTTP_301"
      }
    }
  }
}

resource "aws_lb_listener" "https" {
  count             = local.https ? 1 : 0
  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this["dashboard"].arn
  }
}

resource "aws_lb_listener_rule" "webhooks" {
  listener_arn = local.https ? aws_lb_listener.https[0].arn : aws_lb_listener.http.arn
  priority     = local.load_balanced.webhook.priority

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this["webhook"].arn
  }

  condition {
    path_pattern {
      values = local.load_balanced.webhook.paths
    }
  }
}
