/**
 * @module A static policy check of a Terraform module: the high-severity rules a scanner like checkov applies to this
 * kind of deployment, written out because checkov (Python's registry) cannot be installed on the machines the tests
 * run on. Each rule reads the parsed HCL (`terraform-config.ts`); variables count by their defaults and validations.
 *
 * Rules: no ingress from 0.0.0.0/0 or ::/0; no public IPs; ECR tags immutable and scanned on push; log groups with a
 * retention; IAM without wildcard actions and without `*` resources (but for the few read-only actions AWS does not
 * scope); SSM reads scoped to the `/auto-dev` path (the path, or parameters under it, also as a local's ARNs); SSM
 * parameters SecureString under a customer key; load balancers internal and dropping invalid headers; plain HTTP only
 * on an internal load balancer (or redirecting to HTTPS), HTTPS with a TLS 1.2+ policy; KMS keys rotated.
 */
import { blocksOf, resolveText, variablesReferenced, type HclBody, type TerraformConfig } from './terraform-config.js';

export const POLICY_RULES = [
  'open-ingress',
  'public-ip',
  'ecr-immutable-scanned',
  'log-retention',
  'iam-wildcard',
  'ssm-read-scope',
  'ssm-encrypted',
  'alb-internal',
  'listener-https',
  'kms-rotation',
] as const;
export type PolicyRule = (typeof POLICY_RULES)[number];

export interface PolicyFinding {
  rule: PolicyRule;
  address: string;
  message: string;
}

const OPEN_CIDRS = ['0.0.0.0/0', '::/0'];

/**
 * Actions AWS cannot scope to a resource (their only resource is `*`), all read-only: allowed on `*`.
 * ssm:DescribeParameters lists parameter names and types, never values.
 */
export const UNSCOPABLE_READ_ACTIONS = ['ecr:GetAuthorizationToken', 'ssm:DescribeParameters'];

/** The SSM path the tasks may read. */
export const SSM_PATH = 'parameter/auto-dev';

/** Every finding of every rule; an empty list means the module passes. */
export function checkTerraformPolicy(config: TerraformConfig): PolicyFinding[] {
  return [
    ...openIngress(config),
    ...publicIp(config),
    ...ecrRepositories(config),
    ...logRetention(config),
    ...iamPolicies(config),
    ...ssmParameters(config),
    ...loadBalancers(config),
    ...listeners(config),
    ...kmsKeys(config),
  ];
}

function list(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

function blocks(body: HclBody, name: string): HclBody[] {
  return list(body[name]) as HclBody[];
}

function mentionsOpenCidr(value: unknown): boolean {
  const text = JSON.stringify(value ?? null);
  return OPEN_CIDRS.some((cidr) => text.includes(`"${cidr}"`) || text.includes(cidr));
}

function openIngress(config: TerraformConfig): PolicyFinding[] {
  const findings: PolicyFinding[] = [];
  const check = (address: string, expression: unknown) => {
    if (mentionsOpenCidr(expression)) {
      findings.push({ rule: 'open-ingress', address, message: 'ingress from 0.0.0.0/0 or ::/0' });
    }
    for (const name of variablesReferenced(config, expression)) {
      const variable = config.variables[name];
      if (!variable || !/cidr/i.test(name)) continue;
      if (mentionsOpenCidr(variable.default)) {
        findings.push({ rule: 'open-ingress', address, message: `var.${name} defaults to an open CIDR block` });
      }
      if (!mentionsOpenCidr(variable.validation)) {
        findings.push({
          rule: 'open-ingress',
          address,
          message: `var.${name} sets ingress CIDR blocks but has no validation refusing 0.0.0.0/0`,
        });
      }
    }
  };
  for (const block of blocksOf(config, 'aws_vpc_security_group_ingress_rule')) {
    const { cidr_ipv4, cidr_ipv6, for_each } = block.body;
    check(block.address, { cidr_ipv4, cidr_ipv6, for_each });
  }
  for (const block of blocksOf(config, 'aws_security_group_rule')) {
    if (block.body.type !== 'ingress') continue;
    const { cidr_blocks, ipv6_cidr_blocks, for_each } = block.body;
    check(block.address, { cidr_blocks, ipv6_cidr_blocks, for_each });
  }
  for (const block of blocksOf(config, 'aws_security_group')) {
    for (const ingress of blocks(block.body, 'ingress')) {
      check(block.address, { cidr_blocks: ingress.cidr_blocks, ipv6_cidr_blocks: ingress.ipv6_cidr_blocks });
    }
  }
  return findings;
}

function publicIp(config: TerraformConfig): PolicyFinding[] {
  const findings: PolicyFinding[] = [];
  for (const block of blocksOf(config, 'aws_ecs_service')) {
    const networks = blocks(block.body, 'network_configuration');
    if (networks.length === 0 || networks.some((n) => n.assign_public_ip !== false)) {
      findings.push({ rule: 'public-ip', address: block.address, message: 'assign_public_ip must be false' });
    }
  }
  for (const block of blocksOf(config, 'aws_instance')) {
    if (block.body.associate_public_ip_address !== false) {
      findings.push({
        rule: 'public-ip',
        address: block.address,
        message: 'associate_public_ip_address must be false',
      });
    }
  }
  for (const block of blocksOf(config, 'aws_subnet')) {
    if (block.body.map_public_ip_on_launch === true) {
      findings.push({ rule: 'public-ip', address: block.address, message: 'map_public_ip_on_launch is true' });
    }
  }
  return findings;
}

function ecrRepositories(config: TerraformConfig): PolicyFinding[] {
  const findings: PolicyFinding[] = [];
  for (const block of blocksOf(config, 'aws_ecr_repository')) {
    if (block.body.image_tag_mutability !== 'IMMUTABLE') {
      findings.push({ rule: 'ecr-immutable-scanned', address: block.address, message: 'tags must be IMMUTABLE' });
    }
    const scanning = blocks(block.body, 'image_scanning_configuration');
    if (!scanning.some((s) => s.scan_on_push === true)) {
      findings.push({ rule: 'ecr-immutable-scanned', address: block.address, message: 'scan_on_push must be true' });
    }
  }
  return findings;
}

/** A literal number, or `${var.X}` with a numeric default. */
function numberValue(config: TerraformConfig, value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return undefined;
  const resolved = Number(resolveText(config, value));
  return Number.isFinite(resolved) ? resolved : undefined;
}

function logRetention(config: TerraformConfig): PolicyFinding[] {
  return blocksOf(config, 'aws_cloudwatch_log_group')
    .filter((block) => !((numberValue(config, block.body.retention_in_days) ?? 0) > 0))
    .map((block) => ({ rule: 'log-retention', address: block.address, message: 'retention_in_days must be set' }));
}

interface Statement {
  address: string;
  effect: string;
  actions: string[];
  resources: string[];
}

function policyStatements(config: TerraformConfig): Statement[] {
  return blocksOf(config, 'aws_iam_policy_document', 'data').flatMap((block) =>
    blocks(block.body, 'statement').map((statement) => ({
      address: block.address,
      effect: typeof statement.effect === 'string' ? statement.effect : 'Allow',
      actions: list(statement.actions).map(String),
      resources: list(statement.resources).map((resource) => resolveText(config, String(resource))),
    })),
  );
}

function iamPolicies(config: TerraformConfig): PolicyFinding[] {
  const findings: PolicyFinding[] = [];
  for (const statement of policyStatements(config)) {
    if (statement.effect !== 'Allow') continue;
    for (const action of statement.actions) {
      if (action === '*' || action.endsWith(':*')) {
        findings.push({ rule: 'iam-wildcard', address: statement.address, message: `wildcard action ${action}` });
      }
    }
    if (statement.resources.includes('*')) {
      for (const action of statement.actions.filter((a) => !UNSCOPABLE_READ_ACTIONS.includes(a))) {
        findings.push({ rule: 'iam-wildcard', address: statement.address, message: `${action} on resource "*"` });
      }
    }
  }
  // Inline and attached policies must come from a policy document above, so the rules here see them.
  for (const type of ['aws_iam_role_policy', 'aws_iam_policy']) {
    for (const block of blocksOf(config, type)) {
      if (!/^\$\{data\.aws_iam_policy_document\.[A-Za-z0-9_-]+\.json\}$/.test(String(block.body.policy))) {
        findings.push({
          rule: 'iam-wildcard',
          address: block.address,
          message: 'policy must be an aws_iam_policy_document (so it can be checked)',
        });
      }
    }
  }
  for (const block of blocksOf(config, 'aws_iam_role_policy_attachment')) {
    if (/AdministratorAccess|FullAccess/.test(String(block.body.policy_arn))) {
      findings.push({ rule: 'iam-wildcard', address: block.address, message: `broad managed policy attached` });
    }
  }
  for (const statement of policyStatements(config)) {
    if (statement.effect !== 'Allow' || !statement.actions.some((a) => a.startsWith('ssm:GetParameter'))) continue;
    for (const resource of statement.resources) {
      if (!ssmResourceScoped(config, resource)) {
        findings.push({
          rule: 'ssm-read-scope',
          address: statement.address,
          message: `SSM read on ${resource}, outside /auto-dev`,
        });
      }
    }
  }
  return findings;
}

/**
 * An SSM resource inside /auto-dev: the path itself, everything under it, one parameter under it, or a local's ARNs
 * (`${local.X}`, `${values(local.X)}`) every one of which is under it.
 */
function ssmResourceScoped(config: TerraformConfig, resource: string): boolean {
  const local = /^\$\{(?:values\()?local\.([A-Za-z0-9_-]+)\)?\}$/.exec(resource)?.[1];
  if (local === undefined) return resource.endsWith(`:${SSM_PATH}`) || resource.includes(`:${SSM_PATH}/`);
  const paths = [
    ...resolveText(config, JSON.stringify(config.locals[local] ?? null)).matchAll(/:parameter\/[^"\\\s]*/g),
  ];
  return paths.length > 0 && paths.every(([path]) => path.startsWith(`:${SSM_PATH}/`));
}

function ssmParameters(config: TerraformConfig): PolicyFinding[] {
  const findings: PolicyFinding[] = [];
  for (const block of blocksOf(config, 'aws_ssm_parameter')) {
    if (block.body.type !== 'SecureString') {
      findings.push({ rule: 'ssm-encrypted', address: block.address, message: 'type must be SecureString' });
    }
    if (block.body.key_id === undefined) {
      findings.push({ rule: 'ssm-encrypted', address: block.address, message: 'key_id (a customer KMS key) missing' });
    }
    const name = resolveText(config, String(block.body.name));
    if (!name.startsWith('/auto-dev/')) {
      findings.push({ rule: 'ssm-encrypted', address: block.address, message: `${name} is outside /auto-dev/` });
    }
  }
  return findings;
}

function loadBalancers(config: TerraformConfig): PolicyFinding[] {
  const findings: PolicyFinding[] = [];
  for (const block of [...blocksOf(config, 'aws_lb'), ...blocksOf(config, 'aws_alb')]) {
    if (block.body.internal !== true) {
      findings.push({ rule: 'alb-internal', address: block.address, message: 'load balancer must be internal' });
    }
    if (block.body.drop_invalid_header_fields !== true) {
      findings.push({
        rule: 'alb-internal',
        address: block.address,
        message: 'drop_invalid_header_fields must be true',
      });
    }
  }
  return findings;
}

function listeners(config: TerraformConfig): PolicyFinding[] {
  const findings: PolicyFinding[] = [];
  for (const block of blocksOf(config, 'aws_lb_listener')) {
    const protocol = block.body.protocol ?? 'HTTP';
    if (protocol === 'HTTPS') {
      if (!/TLS13|TLS-1-2/.test(String(block.body.ssl_policy))) {
        findings.push({
          rule: 'listener-https',
          address: block.address,
          message: 'ssl_policy must be TLS 1.2 or newer',
        });
      }
      continue;
    }
    const lb = /^\$\{aws_lb\.([A-Za-z0-9_-]+)\.arn\}$/.exec(String(block.body.load_balancer_arn))?.[1];
    const internal = blocksOf(config, 'aws_lb').some((b) => b.name === lb && b.body.internal === true);
    const redirects = blocks(block.body, 'default_action').every(
      (action) => action.type === 'redirect' && blocks(action, 'redirect').some((r) => r.protocol === 'HTTPS'),
    );
    if (!internal && !redirects) {
      findings.push({
        rule: 'listener-https',
        address: block.address,
        message: 'plain HTTP on a load balancer that is not internal',
      });
    }
  }
  return findings;
}

function kmsKeys(config: TerraformConfig): PolicyFinding[] {
  return blocksOf(config, 'aws_kms_key')
    .filter((block) => block.body.enable_key_rotation !== true)
    .map((block) => ({ rule: 'kms-rotation', address: block.address, message: 'enable_key_rotation must be true' }));
}
