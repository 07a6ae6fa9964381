/**
 * @module The Task as the rest of Auto-Dev sees it: a stored row with its JSON columns parsed and camel-cased names.
 */
import type { TaskStatus, TaskType } from '../domain/roles.js';
import type { TaskRow } from '../store/schema.js';

export type JsonObject = { [key: string]: unknown };

export interface Task {
  id: number;
  type: TaskType;
  status: TaskStatus;
  priority: number;
  payload: JsonObject;
  result: unknown;
  error: string | null;
  attempts: number;
  maxAttempts: number;
  runAfter: number;
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
  parentId: number | null;
  workflowId: number | null;
  repoId: number | null;
  createdBy: string;
  createdAt: number;
  updatedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
}

export function toTask(row: TaskRow): Task {
  return {
    id: row.id,
    type: row.type as TaskType,
    status: row.status,
    priority: row.priority,
    payload: JSON.parse(row.payload) as JsonObject,
    result: row.result === null ? null : (JSON.parse(row.result) as unknown),
    error: row.error,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    runAfter: row.run_after,
    leaseOwner: row.lease_owner,
    leaseExpiresAt: row.lease_expires_at,
    parentId: row.parent_id,
    workflowId: row.workflow_id,
    repoId: row.repo_id,
    createdBy: row.created_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

/** The JSON shape the API and `--json` CLI output use (snake_case, like the database and the guide). */
export function taskToJson(task: Task) {
  return {
    id: task.id,
    type: task.type,
    status: task.status,
    priority: task.priority,
    payload: task.payload,
    result: task.result,
    error: task.error,
    attempts: task.attempts,
    max_attempts: task.maxAttempts,
    run_after: new Date(task.runAfter).toISOString(),
    lease_owner: task.leaseOwner,
    lease_expires_at: task.leaseExpiresAt === null ? null : new Date(task.leaseExpiresAt).toISOString(),
    parent_id: task.parentId,
    workflow_id: task.workflowId,
    repo_id: task.repoId,
    created_by: task.createdBy,
    created_at: new Date(task.createdAt).toISOString(),
    updated_at: new Date(task.updatedAt).toISOString(),
    started_at: task.startedAt === null ? null : new Date(task.startedAt).toISOString(),
    finished_at: task.finishedAt === null ? null : new Date(task.finishedAt).toISOString(),
  };
}
export type TaskJson = ReturnType<typeof taskToJson>;
