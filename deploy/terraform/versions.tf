# Auto-Dev on AWS ECS (Fargate): the guide's layout. docs/OPERATIONS.md explains how to apply and run it.
terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = merge({ Project = "auto-dev" }, var.tags)
  }
}
