variable "region" {
  description = "AWS region of every resource."
  type        = string
  default     = "us-east-1"
}

variable "vpc_id" {
  description = "The VPC the services and the internal load balancer run in."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets (at least two, in different zones) for the tasks and the internal load balancer. They need a route out (NAT gateway or VPC endpoints) for ECR, CloudWatch, SSM, the model APIs and the forge."
  type        = list(string)

  validation {
    condition     = length(var.private_subnet_ids) >= 2
    error_message = "private_subnet_ids needs at least two subnets in different availability zones (the load balancer requires it)."
  }
}

variable "image_tag" {
  description = "The image tag to run from the ECR repository (tags are immutable: use the git commit, e.g. $(git rev-parse --short HEAD))."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag))
    error_message = "image_tag must be a Docker tag, e.g. the short git commit."
  }
}

variable "allowed_cidr_blocks" {
  description = "Who may reach the internal load balancer (dashboard and webhooks). Empty: the VPC's own CIDR block."
  type        = list(string)
  default     = []

  validation {
    condition     = !contains(var.allowed_cidr_blocks, "0.0.0.0/0") && !contains(var.allowed_cidr_blocks, "::/0")
    error_message = "allowed_cidr_blocks must not open the load balancer to the whole internet (0.0.0.0/0 or ::/0)."
  }
}

variable "egress_cidr_blocks" {
  description = "Where tasks may connect out on 443/80/22 (model APIs, the forge, npm, AWS APIs)."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "database_cidr_blocks" {
  description = "Where the PostgreSQL database is (tasks may connect to port 5432 there). Empty: the VPC's own CIDR block."
  type        = list(string)
  default     = []
}

variable "certificate_arn" {
  description = "An ACM certificate for an HTTPS listener on the load balancer (HTTP then redirects to it). null: HTTP only, inside the VPC."
  type        = string
  default     = null
}

variable "health_check_path" {
  description = "The path the load balancer's target groups probe on the dashboard and the webhook service: /ready (200 once the schema is this build's and the process serves; 503 while it waits for `autodev db migrate` or stops)."
  type        = string
  default     = "/ready"
}

variable "log_retention_days" {
  description = "How long CloudWatch keeps the logs of /ecs/auto-dev."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of CloudWatch's retention periods (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  }
}

variable "desired_counts" {
  description = "Tasks per service, e.g. { builder = 2, bug_finder = 0 }; a service not named runs one task. Later changes by hand (aws ecs update-service --desired-count) are kept by terraform apply."
  type        = map(number)
  default     = {}
}

variable "agent_cpu" {
  description = "Fargate CPU units of each agent task (1024 = 1 vCPU)."
  type        = number
  default     = 1024
}

variable "agent_memory" {
  description = "Memory (MiB) of each agent task."
  type        = number
  default     = 4096
}

variable "agent_ephemeral_storage_gib" {
  description = "Local disk (GiB, 21..200) of each agent task: its repository clones, worktrees and session files."
  type        = number
  default     = 50
}

variable "service_cpu" {
  description = "Fargate CPU units of the dashboard, webhook and scheduler tasks."
  type        = number
  default     = 512
}

variable "service_memory" {
  description = "Memory (MiB) of the dashboard, webhook and scheduler tasks."
  type        = number
  default     = 1024
}

variable "forges" {
  description = "The forges this deployment works with: \"gitlab\", \"github\" or both. Each one named gets its token parameter (/auto-dev/<forge>/token, as GITLAB_TOKEN / GITHUB_TOKEN in the dashboard, webhook, scheduler and agent tasks) and its webhook secret (/auto-dev/<forge>-webhook-secret, in the webhook task); a forge not named gets neither."
  type        = set(string)
  default     = ["gitlab", "github"]

  validation {
    condition     = length(var.forges) > 0 && alltrue([for forge in var.forges : contains(["gitlab", "github"], forge)])
    error_message = "forges must name \"gitlab\", \"github\" or both (split services share repositories only through a forge)."
  }
}

variable "agent_secrets" {
  description = "More environment variables of the agent tasks read from SSM by ECS at start (the model API keys): variable name => parameter name under /auto-dev/. Create each parameter (SecureString, key alias/auto-dev) before the agents start. The database URL, forge tokens and webhook secrets are not set here (see var.forges)."
  type        = map(string)
  default = {
    ANTHROPIC_API_KEY = "anthropic/api_key"
  }

  validation {
    condition     = alltrue([for name in keys(var.agent_secrets) : !contains(["DATABASE_URL", "GITLAB_TOKEN", "GITHUB_TOKEN", "AUTODEV_GITLAB_WEBHOOK_SECRET", "AUTODEV_GITHUB_WEBHOOK_SECRET"], name)])
    error_message = "agent_secrets must not name DATABASE_URL, the forge tokens or the webhook secrets: the module passes those itself, to every task that needs them."
  }

  validation {
    condition     = alltrue([for name, parameter in var.agent_secrets : can(regex("^[A-Za-z_][A-Za-z0-9_]*$", name)) && can(regex("^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$", parameter))])
    error_message = "agent_secrets maps an environment variable name to a parameter name under /auto-dev/ (e.g. OPENAI_API_KEY = \"openai/api_key\")."
  }
}

variable "deletion_protection" {
  description = "Protect the load balancer from deletion (set false before terraform destroy)."
  type        = bool
  default     = true
}

variable "enable_alarms" {
  description = "Create CloudWatch alarms: a service running fewer tasks than desired, errors in the logs, unhealthy load balancer targets."
  type        = bool
  default     = false
}

variable "alarm_actions" {
  description = "ARNs (e.g. an SNS topic) notified when an alarm fires."
  type        = list(string)
  default     = []
}

variable "error_log_threshold" {
  description = "Error log lines (pino level >= 50) in 5 minutes that fire the errors alarm."
  type        = number
  default     = 10
}

variable "tags" {
  description = "Extra tags on every resource."
  type        = map(string)
  default     = {}
}
