# No ingress from 0.0.0.0/0 anywhere: the load balancer takes connections from inside the VPC (or
# allowed_cidr_blocks), the tasks only from the load balancer. Tasks get no public IP (ecs.tf).

resource "aws_security_group" "alb" {
  name        = "${local.name}-alb"
  description = "Auto-Dev internal load balancer"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "alb_http" {
  for_each          = toset(local.ingress_cidrs)
  security_group_id = aws_security_group.alb.id
  description       = "HTTP from inside the network"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  for_each          = var.certificate_arn == null ? toset([]) : toset(local.ingress_cidrs)
  security_group_id = aws_security_group.alb.id
  description       = "HTTPS from inside the network"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "alb_to_tasks" {
  security_group_id            = aws_security_group.alb.id
  description                  = "to the dashboard and webhook tasks"
  ip_protocol                  = "tcp"
  from_port                    = 8080
  to_port                      = 8081
  referenced_security_group_id = aws_security_group.tasks.id
}

resource "aws_security_group" "tasks" {
  name        = "${local.name}-tasks"
  description = "Auto-Dev ECS tasks"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "tasks_from_alb" {
  security_group_id            = aws_security_group.tasks.id
  description                  = "dashboard and webhook ports from the load balancer only"
  ip_protocol                  = "tcp"
  from_port                    = 8080
  to_port                      = 8081
  referenced_security_group_id = aws_security_group.alb.id
}

# Out: HTTPS/HTTP (model APIs, the forge, npm, AWS APIs), SSH (git remotes), PostgreSQL (the database).
resource "aws_vpc_security_group_egress_rule" "tasks_web" {
  for_each          = { for pair in setproduct([443, 80, 22], var.egress_cidr_blocks) : "${pair[0]}-${pair[1]}" => pair }
  security_group_id = aws_security_group.tasks.id
  description       = "out on ${each.value[0]}"
  ip_protocol       = "tcp"
  from_port         = each.value[0]
  to_port           = each.value[0]
  cidr_ipv4         = each.value[1]
}

resource "aws_vpc_security_group_egress_rule" "tasks_database" {
  for_each          = toset(local.database_cidrs)
  security_group_id = aws_security_group.tasks.id
  description       = "PostgreSQL"
  ip_protocol       = "tcp"
  from_port         = 5432
  to_port           = 5432
  cidr_ipv4         = each.value
}
