/**
 * @module The one registry of Auto-Dev's errors: a stable code, an HTTP status and a CLI exit code for each.
 * The server renders them as `{"error":{"code","message"}}`; the CLI prints the message on one line.
 */

export const ERRORS = {
  VALIDATION_FAILED: { status: 400, exitCode: 2, doc: 'The input does not have the documented shape.' },
  UNKNOWN_TASK_TYPE: { status: 400, exitCode: 2, doc: 'The task type is not one Auto-Dev knows.' },
  INVALID_PRIORITY: { status: 400, exitCode: 2, doc: 'Priority must be a whole number from 1 to 10.' },
  INVALID_PAYLOAD: {
    status: 400,
    exitCode: 2,
    doc: 'A task payload must be a JSON object, at most 64 levels deep and 1 MiB serialized.',
  },
  INVALID_JSON: { status: 400, exitCode: 2, doc: 'The request body is not valid JSON.' },
  INVALID_URL: { status: 400, exitCode: 2, doc: 'The URL has bad percent-encoding or is not a valid request.' },
  INVALID_CURSOR: { status: 400, exitCode: 2, doc: 'The pagination cursor was not produced by this server.' },
  UNAUTHORIZED: { status: 401, exitCode: 2, doc: 'The request has no valid bearer token.' },
  FORBIDDEN: { status: 403, exitCode: 2, doc: 'The token is valid but its role may not do this.' },
  NOT_FOUND: { status: 404, exitCode: 2, doc: 'No route matches the request.' },
  TASK_NOT_FOUND: { status: 404, exitCode: 2, doc: 'No task has that id.' },
  TASK_NOT_CANCELLABLE: { status: 409, exitCode: 2, doc: 'Only pending or in-progress tasks can be cancelled.' },
  TASK_NOT_RETRYABLE: {
    status: 409,
    exitCode: 2,
    doc: 'Only failed or cancelled tasks can be retried by hand, and not while their story waits for a human (resume the story).',
  },
  WORKFLOW_NOT_FOUND: { status: 404, exitCode: 2, doc: 'No workflow (story) has that id.' },
  WORKFLOW_NOT_WAITING: {
    status: 409,
    exitCode: 2,
    doc: 'Only a workflow waiting for a human can be resumed; this one is running or finished.',
  },
  APPROVAL_NOT_FOUND: { status: 404, exitCode: 2, doc: 'No approval has that id.' },
  APPROVAL_ALREADY_DECIDED: {
    status: 409,
    exitCode: 2,
    doc: 'The approval was already approved or rejected; a decision is final.',
  },
  REASON_REQUIRED: { status: 400, exitCode: 2, doc: 'Rejecting needs a reason (--reason / {"reason"}).' },
  FORGE_UNAVAILABLE: { status: 409, exitCode: 1, doc: "No forge is set up to merge this workflow's branch." },
  REPO_NOT_FOUND: { status: 404, exitCode: 2, doc: 'No repository has that name or id.' },
  MERGE_REQUEST_NOT_FOUND: { status: 404, exitCode: 2, doc: 'No merge request has that id.' },
  REPO_EXISTS: { status: 409, exitCode: 2, doc: 'A repository with that name is already registered.' },
  REPO_IN_USE: { status: 409, exitCode: 2, doc: 'The repository has workflows; it cannot be removed.' },
  LEASE_LOST: { status: 409, exitCode: 1, doc: 'The worker no longer holds the lease on this task.' },
  REQUEST_TIMEOUT: { status: 408, exitCode: 2, doc: 'The request was not received in time; send it again.' },
  URL_TOO_LONG: { status: 414, exitCode: 2, doc: 'A path parameter or the URL is longer than the server accepts.' },
  TOO_MANY_STREAMS: {
    status: 429,
    exitCode: 2,
    doc: 'Too many open event streams for this token or in total; close one (server.max_event_streams*).',
  },
  HEADERS_TOO_LARGE: { status: 431, exitCode: 2, doc: 'The request headers are larger than the server accepts.' },
  PAYLOAD_TOO_LARGE: { status: 413, exitCode: 2, doc: 'The request body is larger than the server accepts.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, exitCode: 2, doc: 'Send the request body as application/json.' },
  UNPROCESSABLE: { status: 422, exitCode: 2, doc: 'The body is valid JSON but cannot be acted on.' },
  CONFIG_INVALID: { status: 500, exitCode: 2, doc: 'The settings file or an environment override is invalid.' },
  DATABASE_UNAVAILABLE: { status: 503, exitCode: 1, doc: 'The database cannot be reached.' },
  WORKTREE_DIRTY: {
    status: 409,
    exitCode: 1,
    doc: 'The worktree still has changes that could not be saved as a WIP commit; it was kept, nothing was deleted.',
  },
  WORKTREE_CONFLICT: {
    status: 409,
    exitCode: 1,
    doc: 'The worktree path or branch is already used by something else; Auto-Dev refuses to overwrite it.',
  },
  BRANCH_NOT_MERGED: {
    status: 409,
    exitCode: 1,
    doc: 'The branch has commits that are not merged into the target branch, so it was kept.',
  },
  BRANCH_PROTECTED: {
    status: 409,
    exitCode: 1,
    doc: 'The branch is the default or base branch; Auto-Dev never deletes or rewrites it.',
  },
  GIT_FAILED: { status: 500, exitCode: 1, doc: 'A git command failed; the message names the command and its stderr.' },
  COMMAND_NOT_STARTED: {
    status: 500,
    exitCode: 1,
    doc: 'A helper command could not be started (not installed or not on PATH).',
  },
  SANDBOX_UNAVAILABLE: {
    status: 503,
    exitCode: 1,
    doc: 'bubblewrap is missing or fails its self-check: apt-get install bubblewrap, or set sandbox.mode: none.',
  },
  INTERNAL: { status: 500, exitCode: 1, doc: 'A bug in Auto-Dev; the log has the details.' },
  // Publishers (src/publish/)
  PRODUCT_INVALID: {
    status: 400,
    exitCode: 2,
    doc: 'The product directory is missing a file or its product.json does not have the documented shape.',
  },
  PUBLISH_TARGET_UNKNOWN: {
    status: 400,
    exitCode: 2,
    doc: 'The publish target is not one Auto-Dev knows (npm, github_release, gumroad, vercel, apify).',
  },
  PUBLISH_SECRET_MISSING: {
    status: 409,
    exitCode: 1,
    doc: 'A secret the publisher needs is not in the secret store; set it and retry.',
  },
  PUBLISH_FAILED: {
    status: 502,
    exitCode: 1,
    doc: 'A publisher step failed; the steps already done are recorded and a retry continues from there.',
  },
  // The secret store (src/secrets/).
  SECRET_NAME_INVALID: {
    status: 400,
    exitCode: 2,
    doc: 'A secret name is a path of letters, digits and _ . - segments, e.g. /auto-dev/npm/token or npm/token.',
  },
  SECRET_NOT_FOUND: { status: 404, exitCode: 2, doc: 'The secret store has no secret of that name.' },
  SECRET_STORE_READ_ONLY: {
    status: 409,
    exitCode: 2,
    doc: "The environment provider only reads: set the variable in Auto-Dev's environment, or use the file or ssm provider.",
  },
  SECRET_KEY_MISSING: {
    status: 500,
    exitCode: 2,
    doc: 'The encrypted secrets file needs a master key: AUTODEV_MASTER_KEY, or a key file (secrets.key_file) of mode 0600.',
  },
  SECRET_KEY_FILE_INSECURE: {
    status: 500,
    exitCode: 2,
    doc: 'The master key file may be read by other users; chmod 600 it (Auto-Dev refuses a looser mode).',
  },
  SECRET_KEY_WRONG: {
    status: 500,
    exitCode: 2,
    doc: 'The encrypted secrets file cannot be decrypted with this master key (a wrong key, or the file was altered).',
  },
  SECRET_STORE_UNAVAILABLE: {
    status: 503,
    exitCode: 1,
    doc: 'The secret store could not be read or written (the message names the provider and its error).',
  },
  // The swarm: discussions and proposals (h6).
  DISCUSSION_NOT_FOUND: { status: 404, exitCode: 2, doc: 'No discussion message has that id (a reply needs one).' },
  PROPOSAL_NOT_FOUND: { status: 404, exitCode: 2, doc: 'No proposal has that id.' },
  PROPOSAL_ALREADY_DECIDED: {
    status: 409,
    exitCode: 2,
    doc: 'The proposal was already approved or rejected; it takes no more votes or decisions.',
  },
  ALREADY_VOTED: { status: 409, exitCode: 2, doc: 'This voter already voted on the proposal; one vote per voter.' },
  // Webhook and scheduler services (issue 12 parts 5 and 6).
  WEBHOOK_SIGNATURE_INVALID: {
    status: 401,
    exitCode: 2,
    doc: "The webhook delivery's token or signature is missing or does not match the configured secret.",
  },
  WEBHOOK_NOT_CONFIGURED: {
    status: 503,
    exitCode: 1,
    doc: 'No webhook secret is set for this forge (AUTODEV_GITLAB_WEBHOOK_SECRET / AUTODEV_GITHUB_WEBHOOK_SECRET).',
  },
  WEBHOOK_MALFORMED: {
    status: 400,
    exitCode: 2,
    doc: 'The webhook delivery lacks its delivery id or event header, or its body is not the documented JSON.',
  },
  // Forge clients (h1: the forge's shape; GitLab/GitHub clients raise these too).
  FORGE_UNSUPPORTED: {
    status: 409,
    exitCode: 1,
    doc: "The repository's forge does not have this feature (e.g. issues on the local forge).",
  },
  FORGE_AUTH_FAILED: {
    status: 502,
    exitCode: 1,
    doc: 'The forge refused the token (401/403); the message names the repository and the scope it lacks.',
  },
  FORGE_NOT_FOUND: {
    status: 502,
    exitCode: 1,
    doc: 'The forge has no such project, merge request, issue or job (404); the message names it.',
  },
  FORGE_CONFLICT: { status: 409, exitCode: 1, doc: 'The forge refused the change as a conflict (409); retry later.' },
  FORGE_RATE_LIMITED: {
    status: 503,
    exitCode: 1,
    doc: 'The forge kept answering 429 after waiting as it asked; the task retries later.',
  },
  FORGE_REQUEST_FAILED: {
    status: 502,
    exitCode: 1,
    doc: 'A forge request failed (network or 5xx); the message names the repository and the request.',
  },
  // The dashboard as the team's home (story board, story page, notifications).
  STORY_NOT_CANCELLABLE: {
    status: 409,
    exitCode: 2,
    doc: 'Only a running story or one waiting for a human can be cancelled; this one is done or cancelled already.',
  },
  // Memory (src/memory/): notes, search, the session's memory channel.
  MEMORY_NOTE_NOT_FOUND: { status: 404, exitCode: 2, doc: 'No memory note has that id (in the scope asked).' },
  MEMORY_EMBEDDINGS_FAILED: {
    status: 502,
    exitCode: 1,
    doc: 'The embeddings endpoint (memory.embeddings) or the vector store (memory.qdrant) did not answer as expected.',
  },
  // Products (src/workflow/projects.ts, product-workflow.ts): project proposals, their approval and publishing.
  PROJECT_NOT_FOUND: { status: 404, exitCode: 2, doc: 'No project has that id; "autodev projects list" shows them.' },
  PROJECT_NOT_DECIDABLE: {
    status: 409,
    exitCode: 2,
    doc: 'The project is not in a state that takes this decision (e.g. approving one that is not proposed).',
  },
  // The product pipeline in the dashboard (server/plugins/publish-preview.ts): the publishing approval's preview.
  APPROVAL_NOT_PUBLISH: {
    status: 409,
    exitCode: 2,
    doc: 'Only a publish approval has a publishing preview; this approval is of another kind.',
  },
  PRODUCT_DIR_MISSING: {
    status: 409,
    exitCode: 2,
    doc: 'The project has no product directory (its files are not written yet, or the directory is gone).',
  },
  // Split services (issue 17): explicit migrations, readiness, retention.
  SCHEMA_NEWER_THAN_BUILD: {
    status: 503,
    exitCode: 1,
    doc: 'The database was migrated by a newer Auto-Dev than this one; run that version (or newer) against it.',
  },
  SCHEMA_NOT_CURRENT: {
    status: 503,
    exitCode: 1,
    doc: 'This process waits for `autodev db migrate` to bring the database to its schema; only /health and /ready answer.',
  },
  // A product's own repository on GitLab/GitHub (issue 13 item 3, forge/create-remote-project.ts).
  PROJECT_REPO_TAKEN: {
    status: 409,
    exitCode: 2,
    doc: 'The forge already has a project of that name that Auto-Dev did not make; rename or remove it.',
  },
  // Agent processes on their own disks (issue 17): a repository this process cannot clone.
  REPOSITORY_NOT_ON_THIS_DISK: {
    status: 409,
    exitCode: 1,
    doc: 'A repository without a remote lives on one machine; share its data dir with this process or register it with a remote (GitLab/GitHub).',
  },
} as const satisfies Record<string, { status: number; exitCode: number; doc: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** An error a user can act on: its message says what went wrong and what to do. */
export class AutodevError extends Error {
  readonly code: ErrorCode;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = 'AutodevError';
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return ERRORS[this.code].status;
  }

  get exitCode(): number {
    return ERRORS[this.code].exitCode;
  }
}

export function isAutodevError(error: unknown): error is AutodevError {
  return error instanceof AutodevError;
}
