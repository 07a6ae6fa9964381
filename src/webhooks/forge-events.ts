/**
 * @module A forge's webhook payload as the one fact Auto-Dev acts on (pure): GitLab's `Issue Hook`, `Note Hook`,
 * `Pipeline Hook`, `Merge Request Hook` and GitHub's `issues`, `issue_comment`, `check_run`,
 * `pull_request_review` become a `ForgeEvent`; every other event, or action of these, is `ignored` with the reason.
 * Payloads are read with zod (documented fields only, extra fields allowed); a known event without its documented
 * fields is WEBHOOK_MALFORMED.
 */
import { z } from 'zod';
import { AutodevError } from '../errors.js';
import type { WebhookForge } from './webhook-secrets.js';

/** The project a delivery is about: its path (`group/name`, `owner/name`) and the URLs a repository may be known by. */
export interface ProjectRef {
  path: string;
  urls: string[];
}

export interface Comment {
  id: number;
  body: string;
  author: string;
}

export type ForgeEvent =
  | {
      kind: 'issue_labels';
      project: ProjectRef;
      issue: { number: number; title: string; body: string; url: string; labels: string[] };
      /**
       * The labels `actor` added by this very event (GitLab `changes.labels`, GitHub `labeled`'s `label`): only these
       * are the actor's doing; a label already there (added by someone else) is not.
       */
      labelsAdded: string[];
      actor: string;
    }
  | { kind: 'merge_request_comment'; project: ProjectRef; mergeRequest: { number: number }; comment: Comment }
  | { kind: 'issue_comment'; project: ProjectRef; issue: { number: number }; comment: Comment }
  | {
      kind: 'pipeline_failed';
      project: ProjectRef;
      branch: string;
      pipelineId: number;
      failedJobs: { id: number; name: string }[];
    }
  | { kind: 'merge_request_approved'; project: ProjectRef; mergeRequest: { number: number }; actor: string }
  | { kind: 'ignored'; reason: string };

/** The event name a delivery's header gives, for the delivery record. */
export function eventName(forge: WebhookForge, header: string | undefined): string {
  return (header ?? '').slice(0, 100) || `(no ${forge === 'gitlab' ? 'X-Gitlab-Event' : 'X-GitHub-Event'})`;
}

function read<T>(schema: z.ZodType<T>, body: unknown, event: string): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AutodevError(
      'WEBHOOK_MALFORMED',
      `the ${event} payload lacks a documented field: ${issue?.path.join('.') || 'body'} ${issue?.message ?? ''}`.trim(),
    );
  }
  return parsed.data;
}

const text = z.string().max(1_000_000);
const id = z.number().int().nonnegative();

// ---------------------------------------------------------------------------------------------------------- GitLab

const GitlabProject = z.object({
  path_with_namespace: text,
  web_url: text,
  git_http_url: text.optional(),
  git_ssh_url: text.optional(),
});
const GitlabUser = z.object({ username: text });

function gitlabProject(project: z.output<typeof GitlabProject>): ProjectRef {
  return {
    path: project.path_with_namespace,
    urls: [project.web_url, project.git_http_url, project.git_ssh_url].filter((u): u is string => !!u),
  };
}

export function parseGitlabEvent(header: string | undefined, body: unknown): ForgeEvent {
  switch (header) {
    case 'Issue Hook':
    case 'Confidential Issue Hook': {
      const p = read(
        z.object({
          user: GitlabUser,
          project: GitlabProject,
          object_attributes: z.object({
            iid: id,
            title: text,
            description: text.nullish(),
            url: text,
            action: text.optional(),
          }),
          labels: z.array(z.object({ title: text })).default([]),
          changes: z
            .object({
              labels: z
                .object({
                  previous: z.array(z.object({ title: text })).default([]),
                  current: z.array(z.object({ title: text })).default([]),
                })
                .optional(),
            })
            .optional(),
        }),
        body,
        header,
      );
      if (p.object_attributes.action === 'close') return { kind: 'ignored', reason: 'the issue was closed' };
      return {
        kind: 'issue_labels',
        project: gitlabProject(p.project),
        issue: {
          number: p.object_attributes.iid,
          title: p.object_attributes.title,
          body: p.object_attributes.description ?? '',
          url: p.object_attributes.url,
          labels: p.labels.map((l) => l.title),
        },
        labelsAdded: (() => {
          const change = p.changes?.labels;
          if (!change) return [];
          const before = new Set(change.previous.map((l) => l.title));
          return change.current.map((l) => l.title).filter((title) => !before.has(title));
        })(),
        actor: p.user.username,
      };
    }
    case 'Note Hook':
    case 'Confidential Note Hook': {
      const p = read(
        z.object({
          user: GitlabUser,
          project: GitlabProject,
          object_attributes: z.object({ id, note: text, noteable_type: text }),
          merge_request: z.object({ iid: id }).optional(),
          issue: z.object({ iid: id }).optional(),
        }),
        body,
        header,
      );
      const comment = { id: p.object_attributes.id, body: p.object_attributes.note, author: p.user.username };
      const project = gitlabProject(p.project);
      if (p.object_attributes.noteable_type === 'MergeRequest' && p.merge_request) {
        return { kind: 'merge_request_comment', project, mergeRequest: { number: p.merge_request.iid }, comment };
      }
      if (p.object_attributes.noteable_type === 'Issue' && p.issue) {
        return { kind: 'issue_comment', project, issue: { number: p.issue.iid }, comment };
      }
      return { kind: 'ignored', reason: `a comment on a ${p.object_attributes.noteable_type}` };
    }
    case 'Pipeline Hook': {
      const p = read(
        z.object({
          project: GitlabProject,
          object_attributes: z.object({ id, ref: text, status: text }),
          builds: z.array(z.object({ id, name: text, status: text })).default([]),
        }),
        body,
        header,
      );
      if (p.object_attributes.status !== 'failed') {
        return { kind: 'ignored', reason: `pipeline status ${p.object_attributes.status}` };
      }
      return {
        kind: 'pipeline_failed',
        project: gitlabProject(p.project),
        branch: p.object_attributes.ref,
        pipelineId: p.object_attributes.id,
        failedJobs: p.builds.filter((b) => b.status === 'failed').map((b) => ({ id: b.id, name: b.name })),
      };
    }
    case 'Merge Request Hook': {
      const p = read(
        z.object({
          user: GitlabUser,
          project: GitlabProject,
          object_attributes: z.object({ iid: id, action: text.optional() }),
        }),
        body,
        header,
      );
      if (p.object_attributes.action !== 'approved') {
        return { kind: 'ignored', reason: `merge request action ${p.object_attributes.action ?? '(none)'}` };
      }
      return {
        kind: 'merge_request_approved',
        project: gitlabProject(p.project),
        mergeRequest: { number: p.object_attributes.iid },
        actor: p.user.username,
      };
    }
    default:
      return { kind: 'ignored', reason: `event "${eventName('gitlab', header)}" is not one Auto-Dev acts on` };
  }
}

// ---------------------------------------------------------------------------------------------------------- GitHub

const GithubRepository = z.object({
  full_name: text,
  html_url: text,
  clone_url: text.optional(),
  ssh_url: text.optional(),
});
const GithubUser = z.object({ login: text });

function githubProject(repository: z.output<typeof GithubRepository>): ProjectRef {
  return {
    path: repository.full_name,
    urls: [repository.html_url, repository.clone_url, repository.ssh_url].filter((u): u is string => !!u),
  };
}

export function parseGithubEvent(header: string | undefined, body: unknown): ForgeEvent {
  switch (header) {
    case 'issues': {
      const p = read(
        z.object({
          action: text,
          sender: GithubUser,
          repository: GithubRepository,
          label: z.object({ name: text }).optional(),
          issue: z.object({
            number: id,
            title: text,
            body: text.nullish(),
            html_url: text,
            labels: z.array(z.object({ name: text })).default([]),
            pull_request: z.unknown().optional(),
          }),
        }),
        body,
        header,
      );
      if (!['opened', 'labeled', 'reopened', 'edited'].includes(p.action)) {
        return { kind: 'ignored', reason: `issue action ${p.action}` };
      }
      return {
        kind: 'issue_labels',
        project: githubProject(p.repository),
        issue: {
          number: p.issue.number,
          title: p.issue.title,
          body: p.issue.body ?? '',
          url: p.issue.html_url,
          labels: p.issue.labels.map((l) => l.name),
        },
        labelsAdded: p.action === 'labeled' && p.label ? [p.label.name] : [],
        actor: p.sender.login,
      };
    }
    case 'issue_comment': {
      const p = read(
        z.object({
          action: text,
          repository: GithubRepository,
          issue: z.object({ number: id, pull_request: z.unknown().optional() }),
          comment: z.object({ id, body: text, user: GithubUser }),
        }),
        body,
        header,
      );
      if (p.action !== 'created') return { kind: 'ignored', reason: `comment action ${p.action}` };
      const comment = { id: p.comment.id, body: p.comment.body, author: p.comment.user.login };
      const project = githubProject(p.repository);
      return p.issue.pull_request !== undefined && p.issue.pull_request !== null
        ? { kind: 'merge_request_comment', project, mergeRequest: { number: p.issue.number }, comment }
        : { kind: 'issue_comment', project, issue: { number: p.issue.number }, comment };
    }
    case 'check_run': {
      const p = read(
        z.object({
          action: text,
          repository: GithubRepository,
          check_run: z.object({
            id,
            name: text,
            conclusion: text.nullable(),
            check_suite: z.object({ id, head_branch: text.nullable() }),
          }),
        }),
        body,
        header,
      );
      const run = p.check_run;
      if (p.action !== 'completed' || run.conclusion !== 'failure' || run.check_suite.head_branch === null) {
        return { kind: 'ignored', reason: `check run ${p.action} with conclusion ${run.conclusion ?? 'none'}` };
      }
      return {
        kind: 'pipeline_failed',
        project: githubProject(p.repository),
        branch: run.check_suite.head_branch,
        pipelineId: run.check_suite.id,
        failedJobs: [{ id: run.id, name: run.name }],
      };
    }
    case 'pull_request_review': {
      const p = read(
        z.object({
          action: text,
          repository: GithubRepository,
          review: z.object({ state: text, user: GithubUser }),
          pull_request: z.object({ number: id }),
        }),
        body,
        header,
      );
      if (p.action !== 'submitted' || p.review.state.toLowerCase() !== 'approved') {
        return { kind: 'ignored', reason: `review ${p.action} in state ${p.review.state}` };
      }
      return {
        kind: 'merge_request_approved',
        project: githubProject(p.repository),
        mergeRequest: { number: p.pull_request.number },
        actor: p.review.user.login,
      };
    }
    default:
      return { kind: 'ignored', reason: `event "${eventName('github', header)}" is not one Auto-Dev acts on` };
  }
}
