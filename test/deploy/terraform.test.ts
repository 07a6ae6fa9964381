/**
 * deploy/terraform: every .tf parsed with @cdktf/hcl2json (no network, no terraform binary) and checked against the
 * guide's layout (cluster, one service per role + dashboard/webhook/scheduler, internal ALB with target health
 * checks, ECR, the log group and its stream prefixes, SSM, the outputs, terraform.tfvars.example), the credentials
 * each task gets from SSM (terraform-secrets.ts: a task lacking a secret its process reads fails), then against our
 * static policy rules (terraform-policy.ts), each of which is first shown to fire on a bad example.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROLES } from '../../src/domain/roles.js';
import {
  blockAt,
  blocksOf,
  loadTerraformDir,
  nested,
  parseHcl,
  resolveText,
  terraformFromText,
  type TerraformConfig,
} from './terraform-config.js';
import { checkTerraformPolicy, POLICY_RULES, type PolicyRule } from './terraform-policy.js';
import { injectedSecrets, secretFindings, TASK_KINDS, type Forge } from './terraform-secrets.js';

const MODULE_DIR = fileURLToPath(new URL('../../deploy/terraform', import.meta.url));

let config: TerraformConfig;
beforeAll(async () => {
  config = await loadTerraformDir(MODULE_DIR);
});

describe('deploy/terraform: the guide layout', () => {
  it('parses every .tf file of the module', () => {
    expect(config.files).toEqual(
      expect.arrayContaining(['alb.tf', 'ecs.tf', 'iam.tf', 'main.tf', 'outputs.tf', 'variables.tf']),
    );
    expect(config.blocks.length).toBeGreaterThan(20);
  });

  it('runs on the ECS cluster auto-dev, on Fargate only', () => {
    expect(resolveText(config, String(blockAt(config, 'aws_ecs_cluster.this').name))).toBe('auto-dev');
    expect(blockAt(config, 'aws_ecs_cluster_capacity_providers.this').capacity_providers).toEqual(['FARGATE']);
  });

  it('has one service per agent role plus dashboard, webhook and scheduler, from one for_each', () => {
    expect(config.locals.roles).toEqual([...ROLES]);
    const platform = config.locals.platform_services as Record<string, { command: string[] }>;
    expect(Object.keys(platform).sort()).toEqual(['dashboard', 'scheduler', 'webhook']);
    for (const [name, service] of Object.entries(platform))
      expect(service.command.slice(0, 2)).toEqual(['serve', name]);
    // Each role's service runs `autodev serve agent:ROLE`.
    expect(String(config.locals.agent_services)).toMatch(/^\$\{\{\s*for role in local\.roles : role => \{/);
    expect(String(config.locals.agent_services)).toContain('"serve", "agent:${role}"');
    expect(config.locals.services).toBe('${merge(local.platform_services, local.agent_services)}');

    expect(blocksOf(config, 'aws_ecs_service')).toHaveLength(1);
    const service = blockAt(config, 'aws_ecs_service.this');
    expect(service.for_each).toBe('${local.services}');
    expect(resolveText(config, String(service.name))).toBe('auto-dev-${each.key}');
    expect(service.launch_type).toBe('FARGATE');
    expect(service.task_definition).toBe('${aws_ecs_task_definition.this[each.key].arn}');
  });

  it('has a task definition per service and one for the migration step (`autodev db migrate`)', () => {
    expect(blocksOf(config, 'aws_ecs_task_definition')).toHaveLength(1);
    const task = blockAt(config, 'aws_ecs_task_definition.this');
    expect(task.for_each).toBe('${local.task_definitions}');
    expect(config.locals.task_definitions).toBe('${merge(local.services, { migrate = local.migrate_task })}');
    expect((config.locals.migrate_task as { command: string[] }).command).toEqual(['db', 'migrate']);
    expect(task.requires_compatibilities).toEqual(['FARGATE']);
    expect(nested(task, 'runtime_platform')).toEqual({ operating_system_family: 'LINUX', cpu_architecture: 'X86_64' });
    const containers = String(task.container_definitions);
    expect(containers).toContain('image     = local.image');
    expect(containers).toContain('user = "node"');
    expect(containers).toContain('command     = ["CMD", "node", "/app/deploy/healthcheck.mjs"]');
  });

  it('checks every container on what it serves: dashboard/webhook live on /health, scheduler/agents ready on --health-port', () => {
    const platform = config.locals.platform_services as Record<string, { command: string[]; healthcheck: string }>;
    const port = resolveText(config, '${local.health_port}');
    expect(port).toMatch(/^\d+$/);
    expect(platform.dashboard?.healthcheck).toBe('http://127.0.0.1:8080/health');
    expect(platform.webhook?.healthcheck).toBe('http://127.0.0.1:8081/health');
    const scheduler = platform.scheduler as { command: string[]; healthcheck: string };
    expect(scheduler.command.map((part) => resolveText(config, part))).toEqual([
      'serve',
      'scheduler',
      '--host',
      '0.0.0.0',
      '--health-port',
      port,
    ]);
    expect(resolveText(config, scheduler.healthcheck)).toBe(`http://127.0.0.1:${port}/ready`);
    const agents = String(config.locals.agent_services);
    expect(agents).toContain(
      'command     = ["serve", "agent:${role}", "--host", "0.0.0.0", "--health-port", local.health_port]',
    );
    expect(agents).toContain('healthcheck = "http://127.0.0.1:${local.health_port}/ready"');
    // SIGTERM, then SIGKILL after the longest stop Fargate allows; the process hands its leases back within it.
    expect(String(blockAt(config, 'aws_ecs_task_definition.this').container_definitions)).toContain(
      'stopTimeout = 120',
    );
  });

  it('has an internal ALB with dashboard and webhook target groups that check /ready', () => {
    const alb = blockAt(config, 'aws_lb.this');
    expect(alb.internal).toBe(true);
    expect(alb.load_balancer_type).toBe('application');
    expect(alb.subnets).toBe('${var.private_subnet_ids}');
    expect(Object.keys(config.locals.load_balanced as object).sort()).toEqual(['dashboard', 'webhook']);
    const group = blockAt(config, 'aws_lb_target_group.this');
    expect(group.for_each).toBe('${local.load_balanced}');
    expect(resolveText(config, String(group.name))).toBe('auto-dev-${each.key}-tg');
    expect(group.target_type).toBe('ip');
    const health = nested(group, 'health_check');
    expect(health).toMatchObject({ enabled: true, matcher: '200', protocol: 'HTTP' });
    expect(resolveText(config, String(health.path))).toBe('/ready');
    // The webhook service takes /webhooks/*; the dashboard everything else.
    expect((config.locals.load_balanced as Record<string, { paths: string[] | null }>).webhook?.paths).toEqual([
      '/webhooks/*',
    ]);
    const service = blockAt(config, 'aws_ecs_service.this');
    const dynamic = service.dynamic as Record<string, { for_each: string }[]>;
    expect(dynamic.load_balancer?.[0]?.for_each).toContain('local.load_balanced');
  });

  it('has the ECR repository auto-dev, scanned on push, with immutable tags', () => {
    const repository = blockAt(config, 'aws_ecr_repository.this');
    expect(resolveText(config, String(repository.name))).toBe('auto-dev');
    expect(repository.image_tag_mutability).toBe('IMMUTABLE');
    expect(nested(repository, 'image_scanning_configuration').scan_on_push).toBe(true);
  });

  it('logs to /ecs/auto-dev with a retention and a stream prefix per service', () => {
    const group = blockAt(config, 'aws_cloudwatch_log_group.this');
    expect(resolveText(config, String(group.name))).toBe('/ecs/auto-dev');
    expect(group.retention_in_days).toBe('${var.log_retention_days}');
    expect(config.variables.log_retention_days?.default).toBe(30);
    const containers = String(blockAt(config, 'aws_ecs_task_definition.this').container_definitions);
    expect(containers).toContain('logDriver = "awslogs"');
    expect(containers).toContain('awslogs-group         = aws_cloudwatch_log_group.this.name');
    expect(containers).toContain('awslogs-stream-prefix = each.key');
  });

  it('reads DATABASE_URL and the secrets from SSM under /auto-dev, and configures the ssm secret provider', () => {
    const database = blockAt(config, 'aws_ssm_parameter.database_url');
    expect(database.name).toBe('/auto-dev/database-url');
    expect((config.locals.injected_secrets as Record<string, unknown>).DATABASE_URL).toMatchObject({
      parameter: 'database-url',
      forge: null,
    });
    expect(config.locals.common_environment).toMatchObject({
      AUTODEV_SECRETS__PROVIDER: 'ssm',
      AUTODEV_SECRETS__PREFIX: '/auto-dev',
    });
    expect(String(blockAt(config, 'aws_ecs_task_definition.this').container_definitions)).toContain(
      '{ name = name, valueFrom = local.secret_arns[name] }',
    );
  });

  it('puts tasks in the private subnets without public IPs', () => {
    const network = nested(blockAt(config, 'aws_ecs_service.this'), 'network_configuration');
    expect(network).toMatchObject({ subnets: '${var.private_subnet_ids}', assign_public_ip: false });
  });

  it('has exactly the outputs the guide names', () => {
    expect(Object.keys(config.outputs).sort()).toEqual(
      ['alb_dns_name', 'cloudwatch_log_group', 'dashboard_url', 'ecr_repository_url', 'ecs_cluster_name'].sort(),
    );
    expect(config.outputs.ecs_cluster_name?.value).toBe('${aws_ecs_cluster.this.name}');
    expect(config.outputs.cloudwatch_log_group?.value).toBe('${aws_cloudwatch_log_group.this.name}');
    expect(config.outputs.alb_dns_name?.value).toBe('${aws_lb.this.dns_name}');
    expect(config.outputs.ecr_repository_url?.value).toBe('${aws_ecr_repository.this.repository_url}');
  });

  it('has the optional alarms behind enable_alarms, off by default', () => {
    expect(config.variables.enable_alarms?.default).toBe(false);
    for (const address of [
      'aws_cloudwatch_metric_alarm.running_below_desired',
      'aws_cloudwatch_metric_alarm.errors',
      'aws_cloudwatch_metric_alarm.unhealthy_targets',
    ]) {
      const alarm = blockAt(config, address);
      expect(String(alarm.for_each ?? alarm.count)).toContain('var.enable_alarms');
    }
    expect(blockAt(config, 'aws_cloudwatch_metric_alarm.unhealthy_targets').metric_name).toBe('UnHealthyHostCount');
  });

  it('terraform.tfvars.example sets vpc_id and private_subnet_ids, and only declared variables', async () => {
    const file = path.join(MODULE_DIR, 'terraform.tfvars.example');
    const values = await parseHcl('terraform.tfvars', fs.readFileSync(file, 'utf8'));
    expect(values).toMatchObject({ vpc_id: expect.any(String), private_subnet_ids: expect.any(Array) });
    for (const key of Object.keys(values)) expect(Object.keys(config.variables)).toContain(key);
    // Every variable without a default is in the example.
    const required = Object.entries(config.variables).filter(([, v]) => !('default' in v));
    expect(required.map(([name]) => name).sort()).toEqual(Object.keys(values).sort());
  });
});

describe('deploy/terraform: forge and webhook credentials from SSM (terraform-secrets.ts)', () => {
  const BOTH: Forge[] = ['gitlab', 'github'];
  type Table = Record<string, { parameter: string; forge: string | null; tasks: string[] }>;
  /** A copy of the module with one change, for the check to find. */
  const changed = (change: (copy: TerraformConfig) => void): TerraformConfig => {
    const copy = structuredClone(config);
    change(copy);
    return copy;
  };
  const table = (copy: TerraformConfig) => copy.locals.injected_secrets as Table;

  it('passes each task exactly the credentials its process reads, for both forges (the default)', () => {
    expect(config.variables.forges?.default).toEqual(BOTH);
    expect(secretFindings(config, BOTH)).toEqual([]);
    const tokens = ['GITHUB_TOKEN', 'GITLAB_TOKEN'];
    expect(injectedSecrets(config, BOTH)).toEqual({
      dashboard: ['DATABASE_URL', ...tokens],
      webhook: ['AUTODEV_GITHUB_WEBHOOK_SECRET', 'AUTODEV_GITLAB_WEBHOOK_SECRET', 'DATABASE_URL', ...tokens],
      scheduler: ['DATABASE_URL', ...tokens],
      agent: ['ANTHROPIC_API_KEY', 'DATABASE_URL', ...tokens],
      migrate: ['DATABASE_URL'],
    });
    // The token parameters are the ones the `ssm` secret provider reads as gitlab/token and github/token.
    expect(resolveText(config, String(blockAt(config, 'aws_ssm_parameter.forge_token').name))).toBe(
      '/auto-dev/${each.key}/token',
    );
  });

  it.each([[['gitlab']], [['github']]] as Forge[][][])(
    "with forges = %j only that forge's token and webhook secret",
    (forges) => {
      expect(secretFindings(config, forges)).toEqual([]);
      const [forge] = forges as [Forge];
      const other = forge === 'gitlab' ? 'github' : 'gitlab';
      const all = Object.values(injectedSecrets(config, forges)).flat();
      expect(all).toContain(`${forge.toUpperCase()}_TOKEN`);
      expect(all.filter((name) => name.includes(other.toUpperCase()))).toEqual([]);
      expect(injectedSecrets(config, forges).webhook).toEqual(
        [`AUTODEV_${forge.toUpperCase()}_WEBHOOK_SECRET`, 'DATABASE_URL', `${forge.toUpperCase()}_TOKEN`].sort(),
      );
      // Their parameters, and the webhook secrets' passwords, exist per forge of var.forges.
      expect(blockAt(config, 'aws_ssm_parameter.forge_token').for_each).toBe('${var.forges}');
      expect(blockAt(config, 'random_password.webhook').for_each).toBe('${var.forges}');
    },
  );

  it("refuses a forges value naming no forge or another one, and agent_secrets shadowing the module's own", () => {
    const forges = JSON.stringify(config.variables.forges?.validation);
    expect(forges).toContain('length(var.forges) > 0');
    expect(forges).toContain('contains([\\"gitlab\\", \\"github\\"], forge)');
    const agentSecrets = JSON.stringify(config.variables.agent_secrets?.validation);
    for (const name of Object.keys(table(config))) expect(agentSecrets).toContain(`\\"${name}\\"`);
  });

  it('fails when a task lacks a secret its process reads', () => {
    const noSchedulerToken = changed((copy) => {
      const token = table(copy).GITLAB_TOKEN as { tasks: string[] };
      token.tasks = token.tasks.filter((task) => task !== 'scheduler');
    });
    expect(secretFindings(noSchedulerToken, BOTH)).toEqual(['scheduler lacks GITLAB_TOKEN']);
    expect(secretFindings(noSchedulerToken, ['github'])).toEqual([]);

    const noGithubToken = changed((copy) => delete table(copy).GITHUB_TOKEN);
    expect(secretFindings(noGithubToken, BOTH)).toEqual([
      'dashboard lacks GITHUB_TOKEN',
      'webhook lacks GITHUB_TOKEN',
      'scheduler lacks GITHUB_TOKEN',
      'agent lacks GITHUB_TOKEN',
    ]);
  });

  it('fails when a task gets a secret it does not read, or a parameter is not created', () => {
    const dashboardSecret = changed((copy) => {
      (table(copy).AUTODEV_GITLAB_WEBHOOK_SECRET as { tasks: string[] }).tasks.push('dashboard');
    });
    expect(secretFindings(dashboardSecret, BOTH)).toEqual([
      'dashboard gets AUTODEV_GITLAB_WEBHOOK_SECRET, which it does not read',
    ]);
    const migrateToken = changed((copy) => (table(copy).GITHUB_TOKEN as { tasks: string[] }).tasks.push('migrate'));
    expect(secretFindings(migrateToken, ['github'])).toEqual(['migrate gets GITHUB_TOKEN, which it does not read']);

    const noTokenParameters = changed((copy) => {
      copy.blocks = copy.blocks.filter((block) => block.address !== 'aws_ssm_parameter.forge_token');
    });
    expect(secretFindings(noTokenParameters, ['gitlab'])).toEqual([
      'GITLAB_TOKEN: no aws_ssm_parameter named /auto-dev/gitlab/token',
    ]);
  });

  it('fails when the execution role reads more than the injected parameters, or the tasks do not filter', () => {
    const wildcard = changed((copy) => {
      const document = copy.blocks.find((block) => block.address === 'data.aws_iam_policy_document.execution');
      const statements = document?.body.statement as { sid?: string; resources: unknown }[];
      const injected = statements.find((statement) => statement.sid === 'InjectedParameters');
      if (!injected) throw new Error('no InjectedParameters statement');
      injected.resources = ['${local.ssm_prefix_arn}/*'];
    });
    expect(secretFindings(wildcard, BOTH)).toEqual([
      'the execution role must read exactly local.secret_arns (one ssm statement), not [["${local.ssm_prefix_arn}/*"]]',
    ]);

    const unfiltered = changed((copy) => {
      const task = copy.blocks.find((block) => block.address === 'aws_ecs_task_definition.this');
      if (!task) throw new Error('no task definition');
      task.body.container_definitions = String(task.body.container_definitions).replace(
        /\n\s*if contains\(secret\.tasks, [^)]*\)/,
        '',
      );
    });
    expect(secretFindings(unfiltered, BOTH)).toEqual([
      'the task definitions do not take their secrets from local.secrets as this check models',
    ]);
  });

  it('gives the services the task kinds local.injected_secrets names', () => {
    const platform = config.locals.platform_services as Record<string, { agent: boolean }>;
    for (const [name, service] of Object.entries(platform)) {
      expect(service.agent).toBe(false);
      expect(TASK_KINDS).toContain(name);
    }
    expect((config.locals.migrate_task as { agent: boolean }).agent).toBe(false);
    expect(String(config.locals.agent_services)).toContain('agent       = true');
    const named = new Set(Object.values(table(config)).flatMap((secret) => secret.tasks));
    expect([...named].sort()).toEqual([...TASK_KINDS].sort());
  });
});

describe('deploy/terraform: static policy check (our checkov-like rules)', () => {
  it('finds nothing in the module', () => {
    expect(checkTerraformPolicy(config)).toEqual([]);
  });

  const BAD_EXAMPLES: Record<PolicyRule, string> = {
    'open-ingress': `
      resource "aws_vpc_security_group_ingress_rule" "web" {
        security_group_id = "sg-1"
        ip_protocol = "tcp"
        from_port = 443
        to_port = 443
        cidr_ipv4 = "0.0.0.0/0"
      }`,
    'public-ip': `
      resource "aws_ecs_service" "web" {
        name = "web"
        network_configuration {
          subnets = ["subnet-1"]
          assign_public_ip = true
        }
      }`,
    'ecr-immutable-scanned': `
      resource "aws_ecr_repository" "images" {
        name = "images"
        image_tag_mutability = "MUTABLE"
      }`,
    'log-retention': `
      resource "aws_cloudwatch_log_group" "logs" {
        name = "/ecs/x"
      }`,
    'iam-wildcard': `
      data "aws_iam_policy_document" "admin" {
        statement {
          actions   = ["s3:*"]
          resources = ["*"]
        }
      }`,
    'ssm-read-scope': `
      data "aws_iam_policy_document" "reader" {
        statement {
          actions   = ["ssm:GetParameters"]
          resources = ["arn:aws:ssm:us-east-1:123456789012:parameter/other-app/*"]
        }
      }`,
    'ssm-encrypted': `
      resource "aws_ssm_parameter" "plain" {
        name  = "/auto-dev/plain"
        type  = "String"
        value = "x"
      }`,
    'alb-internal': `
      resource "aws_lb" "public" {
        name     = "public"
        internal = false
        drop_invalid_header_fields = true
      }`,
    'listener-https': `
      resource "aws_lb" "public" {
        name     = "public"
        internal = false
      }
      resource "aws_lb_listener" "http" {
        load_balancer_arn = aws_lb.public.arn
        port     = 80
        protocol = "HTTP"
        default_action {
          type = "forward"
          target_group_arn = "arn:tg"
        }
      }`,
    'kms-rotation': `
      resource "aws_kms_key" "key" {
        description = "no rotation"
      }`,
  };

  it.each(POLICY_RULES)('rule %s fires on a bad example', async (rule) => {
    const findings = checkTerraformPolicy(await terraformFromText(BAD_EXAMPLES[rule]));
    expect(findings.map((f) => f.rule)).toContain(rule);
  });

  it('open-ingress follows variables: an ingress CIDR variable must default closed and refuse 0.0.0.0/0', async () => {
    const findings = checkTerraformPolicy(
      await terraformFromText(`
        variable "allowed_cidr_blocks" {
          type    = list(string)
          default = ["0.0.0.0/0"]
        }
        locals {
          ingress = var.allowed_cidr_blocks
        }
        resource "aws_vpc_security_group_ingress_rule" "web" {
          for_each  = toset(local.ingress)
          cidr_ipv4 = each.value
        }`),
    );
    expect(findings.map((f) => f.message)).toEqual([
      'var.allowed_cidr_blocks defaults to an open CIDR block',
      'var.allowed_cidr_blocks sets ingress CIDR blocks but has no validation refusing 0.0.0.0/0',
    ]);
  });

  it('ssm-read-scope follows a local of ARNs: every one must be under /auto-dev', async () => {
    const policy = (arns: string) => `
      locals {
        arns = { a = "arn:aws:ssm:us-east-1:123456789012:parameter/auto-dev/a", b = "${arns}" }
      }
      data "aws_iam_policy_document" "reader" {
        statement {
          actions   = ["ssm:GetParameters"]
          resources = values(local.arns)
        }
      }`;
    const inside = await terraformFromText(policy('arn:aws:ssm:us-east-1:123456789012:parameter/auto-dev/b'));
    expect(checkTerraformPolicy(inside)).toEqual([]);
    const outside = await terraformFromText(policy('arn:aws:ssm:us-east-1:123456789012:parameter/other-app/b'));
    expect(checkTerraformPolicy(outside).map((f) => f.message)).toEqual([
      'SSM read on ${values(local.arns)}, outside /auto-dev',
    ]);
  });

  it('allows "*" only for the read-only actions AWS cannot scope', async () => {
    const findings = checkTerraformPolicy(
      await terraformFromText(`
        data "aws_iam_policy_document" "task" {
          statement {
            actions   = ["ssm:DescribeParameters", "ssm:PutParameter"]
            resources = ["*"]
          }
        }`),
    );
    expect(findings).toEqual([
      {
        rule: 'iam-wildcard',
        address: 'data.aws_iam_policy_document.task',
        message: 'ssm:PutParameter on resource "*"',
      },
    ]);
  });
});
