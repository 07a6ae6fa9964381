/**
 * @module The eight agent roles and the task types each one owns (DESIGN.md, "Domain").
 * Everything that needs to know "who handles this task" asks here.
 */

export const ROLES = ['pm', 'architect', 'builder', 'reviewer', 'tester', 'security', 'devops', 'bug_finder'] as const;
export type Role = (typeof ROLES)[number];

export const TASK_TYPES_BY_ROLE = {
  pm: ['analyze_repo', 'create_epic', 'create_user_story', 'prioritize_backlog', 'build_product'],
  architect: ['evaluate_feasibility', 'write_spec'],
  builder: ['implement_feature', 'implement_fix'],
  reviewer: ['review_mr'],
  tester: ['run_tests'],
  security: ['security_scan'],
  devops: ['merge', 'deploy', 'create_project_repo', 'publish_product'],
  bug_finder: ['static_analysis'],
} as const satisfies Record<Role, readonly string[]>;

export type TaskType = (typeof TASK_TYPES_BY_ROLE)[Role][number];

export const TASK_TYPES: readonly TaskType[] = ROLES.flatMap((role) => TASK_TYPES_BY_ROLE[role]);

const ROLE_BY_TASK_TYPE = new Map<string, Role>(
  ROLES.flatMap((role) => TASK_TYPES_BY_ROLE[role].map((type) => [type, role] as const)),
);

export function isTaskType(value: string): value is TaskType {
  return ROLE_BY_TASK_TYPE.has(value);
}

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

/** The role that handles a task type, e.g. `roleForTaskType('review_mr') === 'reviewer'`. */
export function roleForTaskType(type: TaskType): Role {
  const role = ROLE_BY_TASK_TYPE.get(type);
  if (!role) throw new Error(`no role owns task type ${type}`);
  return role;
}

export const TASK_STATUSES = ['pending', 'in_progress', 'completed', 'failed', 'cancelled'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export function isTaskStatus(value: string): value is TaskStatus {
  return (TASK_STATUSES as readonly string[]).includes(value);
}
