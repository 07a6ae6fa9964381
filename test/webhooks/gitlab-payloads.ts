/**
 * @module GitLab webhook payloads in the shapes GitLab documents ("Webhook events", docs.gitlab.com
 * user/project/integrations/webhook_events): Issue Hook, Note Hook (merge request and issue), Pipeline Hook and
 * Merge Request Hook, trimmed to the documented fields around what Auto-Dev reads. Each is a function so a test can
 * change one field (labels, status, note text) and keep the rest as documented.
 */
export const GITLAB_PROJECT = {
  id: 1,
  name: 'Gitlab Test',
  description: 'Aut reprehenderit ut est.',
  web_url: 'http://example.com/gitlabhq/gitlab-test',
  avatar_url: null,
  git_ssh_url: 'git@example.com:gitlabhq/gitlab-test.git',
  git_http_url: 'http://example.com/gitlabhq/gitlab-test.git',
  namespace: 'GitlabHQ',
  visibility_level: 20,
  path_with_namespace: 'gitlabhq/gitlab-test',
  default_branch: 'master',
  homepage: 'http://example.com/gitlabhq/gitlab-test',
  url: 'http://example.com/gitlabhq/gitlab-test.git',
  ssh_url: 'git@example.com:gitlabhq/gitlab-test.git',
  http_url: 'http://example.com/gitlabhq/gitlab-test.git',
};

const user = (username: string) => ({
  id: 1,
  name: 'Administrator',
  username,
  avatar_url: 'http://www.gravatar.com/avatar/e64c7d89f26bd1972efa854d13d7dd61?s=40&d=identicon',
  email: 'admin@example.com',
});

const label = (title: string, id: number) => ({
  id,
  title,
  color: '#009966',
  project_id: 1,
  created_at: '2013-12-03T17:15:43Z',
  updated_at: '2013-12-03T17:15:43Z',
  template: false,
  description: null,
  type: 'ProjectLabel',
  group_id: null,
});

export function issueHook(options: {
  labels: string[];
  action?: string;
  username?: string;
  iid?: number;
  /** The labels before this event (`changes.labels.previous`); default none. */
  previousLabels?: string[];
}) {
  const labels = options.labels.map((title, i) => label(title, 200 + i));
  const previous = labels.filter((l) => (options.previousLabels ?? []).includes(l.title));
  return {
    object_kind: 'issue',
    event_type: 'issue',
    user: user(options.username ?? 'root'),
    project: GITLAB_PROJECT,
    object_attributes: {
      id: 301,
      title: 'New API: create/update/delete file',
      assignee_ids: [51],
      assignee_id: 51,
      author_id: 51,
      project_id: 14,
      created_at: '2013-12-03T17:15:43Z',
      updated_at: '2013-12-03T17:15:43Z',
      description: 'Create new API for manipulations with repository',
      iid: options.iid ?? 23,
      state: 'opened',
      url: 'http://example.com/diaspora/issues/23',
      action: options.action ?? 'open',
      labels,
    },
    labels,
    changes: { labels: { previous, current: labels } },
  };
}

export function mergeRequestNoteHook(note: string, options: { iid?: number; id?: number; username?: string } = {}) {
  return {
    object_kind: 'note',
    event_type: 'note',
    user: user(options.username ?? 'root'),
    project_id: 5,
    project: GITLAB_PROJECT,
    object_attributes: {
      id: options.id ?? 1244,
      note,
      noteable_type: 'MergeRequest',
      author_id: 1,
      created_at: '2015-05-17 18:08:09 UTC',
      updated_at: '2015-05-17 18:08:09 UTC',
      project_id: 5,
      noteable_id: 7,
      system: false,
      url: 'http://example.com/gitlab-org/gitlab-test/merge_requests/1#note_1244',
    },
    merge_request: {
      id: 7,
      iid: options.iid ?? 1,
      target_branch: 'master',
      source_branch: 'autodev/12-sum',
      source_project_id: 5,
      title: 'Tempora et eos debitis quae laborum et.',
      state: 'opened',
      merge_status: 'cannot_be_merged',
    },
  };
}

export function issueNoteHook(note: string, options: { iid?: number; id?: number; username?: string } = {}) {
  return {
    object_kind: 'note',
    event_type: 'note',
    user: user(options.username ?? 'root'),
    project_id: 5,
    project: GITLAB_PROJECT,
    object_attributes: {
      id: options.id ?? 1241,
      note,
      noteable_type: 'Issue',
      author_id: 1,
      project_id: 5,
      noteable_id: 92,
      system: false,
      url: 'http://example.com/gitlab-org/gitlab-test/issues/17#note_1241',
    },
    issue: { id: 92, iid: options.iid ?? 23, title: 'test', state: 'closed' },
  };
}

export function pipelineHook(options: { status: string; ref: string; id?: number }) {
  return {
    object_kind: 'pipeline',
    object_attributes: {
      id: options.id ?? 31,
      iid: 3,
      ref: options.ref,
      tag: false,
      sha: 'bcbb5ec396a2c0f828686f14fac9b80b780504f2',
      status: options.status,
      detailed_status: options.status,
      stages: ['build', 'test', 'deploy'],
      created_at: '2016-08-12 15:23:28 UTC',
      finished_at: '2016-08-12 15:26:29 UTC',
      duration: 63,
      url: 'http://example.com/gitlab-org/gitlab-test/-/pipelines/31',
    },
    user: user('root'),
    project: GITLAB_PROJECT,
    builds: [
      { id: 380, stage: 'deploy', name: 'production', status: 'skipped' },
      { id: 377, stage: 'test', name: 'test-image', status: options.status === 'failed' ? 'failed' : 'success' },
      { id: 376, stage: 'build', name: 'build-image', status: 'success' },
    ],
  };
}

export function mergeRequestHook(action: string, options: { iid?: number; username?: string } = {}) {
  return {
    object_kind: 'merge_request',
    event_type: 'merge_request',
    user: user(options.username ?? 'root'),
    project: GITLAB_PROJECT,
    object_attributes: {
      id: 99,
      iid: options.iid ?? 1,
      target_branch: 'master',
      source_branch: 'autodev/12-sum',
      title: 'MS-Viewport',
      state: 'opened',
      action,
    },
  };
}
