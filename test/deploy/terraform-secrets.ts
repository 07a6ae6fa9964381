/**
 * @module The credentials check of deploy/terraform: which environment variables each ECS task gets from SSM, and
 * which parameters the execution role may read, against what the code reads. The module keeps one literal table,
 * `local.injected_secrets` (variable => parameter, forge, tasks); `local.secrets` keeps its entries of the forges in
 * `var.forges` and adds `var.agent_secrets` for the agents; the task definitions and the execution role are built from
 * it. This check reads the table with that same filter (after checking the module's expressions are the ones it
 * models) and reports every task that lacks a secret its process reads, or gets one it does not, for a given set of
 * forges; every injected parameter the module does not create (but the agents' own) or the execution role cannot
 * read; and every other parameter the execution role may read.
 */
import { DEFAULT_TOKEN_ENV } from '../../src/forge/forge-remote-settings.js';
import { WEBHOOK_SECRET_VARIABLES } from '../../src/webhooks/webhook-secrets.js';
import { blockAt, blocksOf, resolveText, type HclBody, type TerraformConfig } from './terraform-config.js';

export type Forge = 'gitlab' | 'github';
/** A kind of task: "agent" is every role's service. */
export type TaskKind = 'dashboard' | 'webhook' | 'scheduler' | 'agent' | 'migrate';
export const TASK_KINDS: readonly TaskKind[] = ['dashboard', 'webhook', 'scheduler', 'agent', 'migrate'];

interface InjectedSecret {
  parameter: string;
  forge: Forge | null;
  tasks: TaskKind[];
}

/**
 * What each process reads from its environment (the code's own names): every process the database URL; the forge
 * tokens the agents (working copies, comments, merges), the scheduler (polling), the webhook service (failed jobs'
 * logs) and the dashboard (registering repositories, merge request diffs); the webhook secrets the webhook service
 * (the load balancer sends it /webhooks/*); the model keys (var.agent_secrets) the agents.
 */
export function requiredSecrets(forges: readonly Forge[], agentSecrets: readonly string[]): Record<TaskKind, string[]> {
  const tokens = forges.map((forge) => DEFAULT_TOKEN_ENV[forge]);
  const webhookSecrets = forges.map((forge) => WEBHOOK_SECRET_VARIABLES[forge]);
  const sorted = (names: string[]) => [...names].sort();
  return {
    dashboard: sorted(['DATABASE_URL', ...tokens]),
    webhook: sorted(['DATABASE_URL', ...tokens, ...webhookSecrets]),
    scheduler: sorted(['DATABASE_URL', ...tokens]),
    agent: sorted(['DATABASE_URL', ...tokens, ...agentSecrets]),
    migrate: ['DATABASE_URL'],
  };
}

/** The module's expressions this check models; a change to any of them must change the check too. */
export const MODELLED_EXPRESSIONS = {
  secrets:
    '${merge(\n    { for name, secret in local.injected_secrets : name => secret if secret.forge == null || ' +
    'contains(var.forges, coalesce(secret.forge, "-")) },\n    { for name, parameter in var.agent_secrets : name => ' +
    '{ parameter = parameter, forge = null, tasks = ["agent"] } },\n  )}',
  secret_arns: '${{ for name, secret in local.secrets : name => "${local.ssm_prefix_arn}/${secret.parameter}" }}',
  containerSecrets:
    'for name, secret in local.secrets : { name = name, valueFrom = local.secret_arns[name] }\n' +
    '        if contains(secret.tasks, each.value.agent ? "agent" : each.key)',
  executionReads: '${values(local.secret_arns)}',
} as const;

/** `local.secrets` for these forges and the default `var.agent_secrets`, as the module computes it. */
export function moduleSecrets(config: TerraformConfig, forges: readonly Forge[]): Record<string, InjectedSecret> {
  const table = (config.locals.injected_secrets ?? {}) as Record<string, InjectedSecret>;
  const secrets: Record<string, InjectedSecret> = {};
  for (const [name, secret] of Object.entries(table)) {
    if (secret.forge === null || forges.includes(secret.forge)) secrets[name] = secret;
  }
  const agentSecrets = (config.variables.agent_secrets?.default ?? {}) as Record<string, string>;
  for (const [name, parameter] of Object.entries(agentSecrets))
    secrets[name] = { parameter, forge: null, tasks: ['agent'] };
  return secrets;
}

/** The variables each kind of task gets, for these forges. */
export function injectedSecrets(config: TerraformConfig, forges: readonly Forge[]): Record<TaskKind, string[]> {
  const secrets = Object.entries(moduleSecrets(config, forges));
  const result = {} as Record<TaskKind, string[]>;
  for (const task of TASK_KINDS) {
    result[task] = secrets
      .filter(([, secret]) => secret.tasks.includes(task))
      .map(([name]) => name)
      .sort();
  }
  return result;
}

/** The names of the SSM parameters the module creates: literal names, and one per forge for `for_each = var.forges`. */
function createdParameters(config: TerraformConfig, forges: readonly Forge[]): string[] {
  const names: string[] = [];
  for (const block of blocksOf(config, 'aws_ssm_parameter')) {
    const name = resolveText(config, String(block.body.name));
    const forEach = String(block.body.for_each ?? '');
    const perForge = forEach === '${var.forges}' || forEach === '${random_password.webhook}';
    if (perForge) for (const forge of forges) names.push(name.replaceAll('${each.key}', forge));
    else if (block.body.for_each === undefined) names.push(name);
  }
  return names;
}

function statements(body: HclBody): HclBody[] {
  const value = body.statement;
  return (Array.isArray(value) ? value : []) as HclBody[];
}

/** Every credential problem for this set of forges; an empty list means the module is right. */
export function secretFindings(config: TerraformConfig, forges: readonly Forge[]): string[] {
  const findings: string[] = [];
  for (const [local, expected] of [
    ['secrets', MODELLED_EXPRESSIONS.secrets],
    ['secret_arns', MODELLED_EXPRESSIONS.secret_arns],
  ] as const) {
    if (config.locals[local] !== expected) findings.push(`local.${local} is not the expression this check models`);
  }
  const containers = String(blockAt(config, 'aws_ecs_task_definition.this').container_definitions);
  if (!containers.includes(MODELLED_EXPRESSIONS.containerSecrets)) {
    findings.push('the task definitions do not take their secrets from local.secrets as this check models');
  }

  const agentSecrets = Object.keys((config.variables.agent_secrets?.default ?? {}) as Record<string, string>);
  const required = requiredSecrets(forges, agentSecrets);
  const injected = injectedSecrets(config, forges);
  for (const task of TASK_KINDS) {
    for (const name of required[task].filter((n) => !injected[task].includes(n))) {
      findings.push(`${task} lacks ${name}`);
    }
    for (const name of injected[task].filter((n) => !required[task].includes(n))) {
      findings.push(`${task} gets ${name}, which it does not read`);
    }
  }

  const created = createdParameters(config, forges);
  const agentParameters = new Set(
    Object.values((config.variables.agent_secrets?.default ?? {}) as Record<string, string>),
  );
  for (const [name, secret] of Object.entries(moduleSecrets(config, forges))) {
    const parameter = `/auto-dev/${secret.parameter}`;
    if (!agentParameters.has(secret.parameter) && !created.includes(parameter)) {
      findings.push(`${name}: no aws_ssm_parameter named ${parameter}`);
    }
  }

  // The execution role reads exactly the injected parameters: one ssm statement, over local.secret_arns.
  const role = String(blockAt(config, 'aws_iam_role_policy.execution').policy);
  const document = /^\$\{data\.aws_iam_policy_document\.([A-Za-z0-9_-]+)\.json\}$/.exec(role)?.[1];
  const ssm = document
    ? statements(blockAt(config, `data.aws_iam_policy_document.${document}`)).filter((statement) =>
        JSON.stringify(statement.actions ?? []).includes('ssm:'),
      )
    : [];
  if (ssm.length !== 1 || ssm[0]?.resources !== MODELLED_EXPRESSIONS.executionReads) {
    findings.push(
      `the execution role must read exactly local.secret_arns (one ssm statement), not ${JSON.stringify(ssm.map((s) => s.resources))}`,
    );
  } else if (JSON.stringify(ssm[0]?.actions) !== '["ssm:GetParameters"]') {
    findings.push(
      `the execution role's ssm actions must be ssm:GetParameters only: ${JSON.stringify(ssm[0]?.actions)}`,
    );
  }
  const task = blockAt(config, 'aws_ecs_task_definition.this');
  if (task.execution_role_arn !== '${aws_iam_role.execution.arn}') {
    findings.push('the task definitions do not use aws_iam_role.execution');
  }
  return findings;
}
