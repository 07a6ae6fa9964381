/**
 * @module The local forge's client: merge requests between branches of a git repository on this machine (the
 * repository itself, or the local path its `remote_url` names), identified by their source branch. The merge is a real
 * merge commit (or one squash commit) built with `git merge-tree` and moved onto the target only if nothing moved. It
 * keeps no notes, approvals, pipelines or issues (Auto-Dev's own rows are those): `FORGE_UNSUPPORTED`. A retry of a
 * merge whose branch move happened but was never recorded finds its own commit on the target (`findOurMerge`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AutodevError } from '../errors.js';
import {
  commitsBetween,
  git,
  gitOutput,
  isAncestor,
  listWorktrees,
  resolveCommit,
  uncommittedChanges,
} from '../workspace/git.js';
import type {
  ForgeCapabilities,
  ForgeClient,
  ForgeClientFactory,
  ForgeEpic,
  ForgeIssue,
  ForgeLabelledIssue,
  ForgeMergeRequest,
  ForgeNote,
  ForgePipeline,
  ForgeRepository,
  MergeInput,
  MergeResult,
  OpenMergeRequestInput,
} from './forge-client.js';

/** The local path a local forge's `remote_url` names (a path or a `file://` URL); anything else is refused. */
export function localRemotePath(remoteUrl: string): string {
  const location = remoteUrl.startsWith('file://') ? fileURLToPath(remoteUrl) : remoteUrl;
  if (!path.isAbsolute(location)) {
    throw new AutodevError(
      'VALIDATION_FAILED',
      `a local forge's remote must be an absolute path or a file:// URL, not "${remoteUrl}"`,
    );
  }
  return location;
}

export class LocalForgeClient implements ForgeClient {
  readonly kind = 'local' as const;
  readonly capabilities: ForgeCapabilities = { notes: false, approvals: false, pipelines: false, issues: false };
  /** Where merge requests live: the remote when there is one, else the repository itself. */
  private readonly forgePath: string;

  constructor(readonly repository: ForgeRepository) {
    this.forgePath = repository.remoteUrl === null ? repository.localPath : localRemotePath(repository.remoteUrl);
  }

  async openMergeRequest(input: OpenMergeRequestInput): Promise<ForgeMergeRequest> {
    const target = input.targetBranch ?? this.repository.defaultBranch;
    if (input.sourceBranch === target) {
      throw new AutodevError('BRANCH_PROTECTED', `cannot open a merge request from the default branch ${target}`);
    }
    const headSha = await this.requireCommit(input.sourceBranch);
    const targetSha = await this.requireCommit(target);
    return {
      externalId: input.sourceBranch,
      url: null,
      sourceBranch: input.sourceBranch,
      targetBranch: target,
      title: input.title,
      headSha,
      targetSha,
      state: 'open',
      mergeSha: null,
    };
  }

  async getMergeRequest(externalId: string): Promise<ForgeMergeRequest | null> {
    const target = this.repository.defaultBranch;
    const headSha = await resolveCommit(this.forgePath, `refs/heads/${externalId}`);
    const targetSha = await resolveCommit(this.forgePath, `refs/heads/${target}`);
    if (!headSha) return null;
    const merged = targetSha !== null && (await isAncestor(this.forgePath, headSha, targetSha));
    return {
      externalId,
      url: null,
      sourceBranch: externalId,
      targetBranch: target,
      title: externalId,
      headSha,
      targetSha,
      state: merged ? 'merged' : 'open',
      mergeSha: null,
    };
  }

  async diff(externalId: string): Promise<string> {
    const target = this.repository.defaultBranch;
    return (await git(this.forgePath, ['diff', '--no-color', '--no-ext-diff', `${target}...${externalId}`])).stdout;
  }

  addNote(): Promise<ForgeNote> {
    return this.unsupported('notes (they are kept as Auto-Dev merge request notes)');
  }

  addLineComment(): Promise<ForgeNote> {
    return this.unsupported('line comments (they are kept as Auto-Dev merge request notes)');
  }

  approve(): Promise<void> {
    return this.unsupported("approvals (Auto-Dev's approvals are the local forge's)");
  }

  listApprovals(): Promise<string[]> {
    return this.unsupported("approvals (Auto-Dev's approvals are the local forge's)");
  }

  async merge(externalId: string, input: MergeInput): Promise<MergeResult> {
    const repo = this.forgePath;
    const targetBranch = this.repository.defaultBranch;
    const sourceBranch = externalId;
    const target = await resolveCommit(repo, `refs/heads/${targetBranch}`);
    const source = await resolveCommit(repo, `refs/heads/${sourceBranch}`);
    if (!target || !source) {
      return {
        status: 'refused',
        reason: `branch ${!target ? targetBranch : sourceBranch} is gone`,
        rerunGates: false,
      };
    }
    if (input.expectedTargetSha !== null && target !== input.expectedTargetSha) {
      // A crash between moving the branch and recording the merge leaves our merge commit on the target: the retry
      // recognizes it and reports the merge instead of calling the target "moved".
      const ours = await findOurMerge(repo, sourceBranch, input, target);
      if (ours) return { status: 'merged', sha: ours, recovered: true };
      return {
        status: 'refused',
        reason: `${targetBranch} moved from ${input.expectedTargetSha.slice(0, 12)} to ${target.slice(0, 12)} since the gates ran; they run again`,
        rerunGates: true,
      };
    }
    if (source !== input.expectedHeadSha) {
      return {
        status: 'refused',
        reason: `${sourceBranch} changed since the gates ran; they run again`,
        rerunGates: true,
      };
    }
    const tree = await git(repo, ['merge-tree', '--write-tree', '--name-only', '--no-messages', target, source], {
      okExitCodes: [1],
    });
    if (tree.exitCode === 1) {
      const files = tree.stdout.trim().split('\n').slice(1).filter(Boolean);
      return {
        status: 'refused',
        reason: `${sourceBranch} does not merge cleanly into ${targetBranch} (conflicts in ${files.join(', ') || 'some files'})`,
        rerunGates: false,
      };
    }
    const treeSha = tree.stdout.trim().split('\n')[0]!;
    // A squash is one commit with the merged tree on top of the target; its message names the squashed head, so a
    // retry after a crash can still recognize it. A forced squash (an earlier commit held a secret) keeps the
    // branch's commits, and so the secret, out of the target's history.
    const squash = input.method === 'squash' || input.squashReason !== undefined;
    const why = input.squashReason ? `\n\nSquashed because ${input.squashReason}.` : '';
    // The agents' commit messages still reach the target's history: listed in the squash commit.
    const squashed = squash ? await commitsBetween(repo, target, source) : [];
    const subjects = squashed.map((commit) => `- ${commit.message}`).join('\n');
    const message = squash
      ? `${input.title}\n\nSquashed from branch '${sourceBranch}' at ${source}${why}` +
        (subjects ? `\n\nSquashed commits:\n${subjects}` : '')
      : `Merge branch '${sourceBranch}' into ${targetBranch}\n\n${input.title}`;
    const parents = squash ? ['-p', target] : ['-p', target, '-p', source];
    const commit = await gitOutput(repo, ['commit-tree', treeSha, ...parents, '-m', message], { asAutodev: true });
    const checkedOut = (await listWorktrees(repo)).find((w) => w.branch === targetBranch && !w.bare);
    if (checkedOut) {
      // Move the checkout with the branch, and only if it is clean: never overwrite someone's work.
      if ((await uncommittedChanges(checkedOut.path)).length > 0) {
        return {
          status: 'refused',
          reason: `${targetBranch} is checked out at ${checkedOut.path} with uncommitted changes`,
          rerunGates: false,
        };
      }
      await git(checkedOut.path, ['merge', '--ff-only', '--quiet', commit]);
    } else {
      await git(repo, ['update-ref', `refs/heads/${targetBranch}`, commit, target]);
    }
    return { status: 'merged', sha: commit, recovered: false };
  }

  async pushBranch(branch: string, options: { force?: boolean } = {}): Promise<{ sha: string }> {
    const sha = await resolveCommit(this.repository.localPath, `refs/heads/${branch}`);
    if (!sha) {
      throw new AutodevError('VALIDATION_FAILED', `branch "${branch}" does not exist in ${this.repository.name}`);
    }
    if (this.repository.remoteUrl === null) return { sha };
    if (!fs.existsSync(this.forgePath)) {
      throw new AutodevError(
        'FORGE_NOT_FOUND',
        `the remote of ${this.repository.name} (${this.forgePath}) does not exist`,
      );
    }
    const refspec = `${options.force ? '+' : ''}refs/heads/${branch}:refs/heads/${branch}`;
    await git(this.repository.localPath, ['push', '--quiet', this.forgePath, refspec]);
    return { sha };
  }

  pipeline(sha: string): Promise<ForgePipeline> {
    // The local forge runs no pipelines: the test gate runs the repository's test command itself.
    return Promise.resolve({ sha, status: 'none', url: null, jobs: [] });
  }

  jobLog(jobId: string): Promise<string> {
    return Promise.reject(
      new AutodevError('FORGE_NOT_FOUND', `the local forge of ${this.repository.name} has no job ${jobId}`),
    );
  }

  createIssue(): Promise<ForgeIssue> {
    return this.unsupported('issues');
  }

  createEpic(): Promise<ForgeEpic> {
    return this.unsupported('epics');
  }

  linkToEpic(): Promise<void> {
    return this.unsupported('epics');
  }

  setLabels(): Promise<void> {
    return this.unsupported('labels');
  }

  setIssuePriority(): Promise<void> {
    return this.unsupported('issue priorities');
  }

  listLabelledIssues(): Promise<ForgeLabelledIssue[]> {
    return this.unsupported('issues');
  }

  private async requireCommit(branch: string): Promise<string> {
    const sha = await resolveCommit(this.forgePath, `refs/heads/${branch}`);
    if (!sha)
      throw new AutodevError('VALIDATION_FAILED', `branch "${branch}" does not exist in ${this.repository.name}`);
    return sha;
  }

  private unsupported<T>(what: string): Promise<T> {
    return Promise.reject(
      new AutodevError('FORGE_UNSUPPORTED', `the local forge of ${this.repository.name} has no ${what}`),
    );
  }
}

export const localForgeClientFactory: ForgeClientFactory = (repository) => new LocalForgeClient(repository);

/**
 * Our merge commit on the target, if an earlier attempt made it: a commit between the expected target and the
 * branch's head now whose message carries the merge's title, and whose parents are exactly the expected target and
 * source heads (a merge commit) or the expected target alone with the source head named (a squash).
 */
async function findOurMerge(
  repo: string,
  sourceBranch: string,
  input: MergeInput,
  target: string,
): Promise<string | null> {
  const expectedTarget = input.expectedTargetSha;
  if (!expectedTarget || !(await isAncestor(repo, expectedTarget, target))) return null;
  const commits = await gitOutput(repo, ['rev-list', '--parents', `${expectedTarget}..${target}`]);
  for (const line of commits.split('\n').filter(Boolean)) {
    const [commit, first, second, ...more] = line.split(' ');
    if (!commit || first !== expectedTarget || more.length > 0) continue;
    const merged = second === input.expectedHeadSha;
    if (second !== undefined && !merged) continue;
    const message = await gitOutput(repo, ['log', '-1', '--format=%B', commit]);
    if (!message.includes(input.title)) continue;
    if (merged || message.includes(`Squashed from branch '${sourceBranch}' at ${input.expectedHeadSha}`)) return commit;
  }
  return null;
}
