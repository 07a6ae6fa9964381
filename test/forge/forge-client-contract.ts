/**
 * @module The forge client contract: what every `ForgeClient` (local, GitLab, GitHub) does, as one suite each client's
 * test file runs with its own setup (`describeForgeClientContract(name, setup)`). The setup gives a client on a fresh
 * repository whose default branch `main` has one commit, and two helpers that change git the way people do: a branch
 * committed in the client's local clone (`repository.localPath`; the suite pushes it with the client), and the
 * default branch moved on the forge's side. A feature the client lacks must throw FORGE_UNSUPPORTED, as its
 * `capabilities` say.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ForgeClient, ForgeMergeRequest, MergeInput } from '../../src/forge/forge-client.js';
import { expectCode } from '../support/expect-error.js';

export interface ForgeClientFixture {
  client: ForgeClient;
  /** Creates `branch` from `main` in the local clone with `file` = `content` committed; returns its head. */
  branchInClone(branch: string, file: string, content: string): Promise<string>;
  /** Moves `main` on the forge's side (someone else's merge) with `file` = `content`; returns the new head. */
  moveDefaultBranch(file: string, content: string): Promise<string>;
  /** The forge's `main` now. */
  defaultBranchHead(): Promise<string>;
  /** The parents of a commit on the forge's side, in order. */
  parentsOf(sha: string): Promise<string[]>;
  cleanup(): Promise<void>;
  /** Another user's client of the same repository, for approvals (GitHub refuses an author's own approval). */
  approver?: ForgeClient;
}

export function describeForgeClientContract(name: string, setup: () => Promise<ForgeClientFixture>): void {
  describe(`forge client contract: ${name}`, () => {
    let f: ForgeClientFixture;
    beforeEach(async () => {
      f = await setup();
    });
    afterEach(async () => {
      await f.cleanup();
    });

    async function pushedRequest(branch: string, file: string, content: string): Promise<ForgeMergeRequest> {
      const head = await f.branchInClone(branch, file, content);
      expect(await f.client.pushBranch(branch)).toEqual({ sha: head });
      return f.client.openMergeRequest({ sourceBranch: branch, title: `Add ${file}`, description: 'why' });
    }

    function mergeInput(mr: ForgeMergeRequest, overrides: Partial<MergeInput> = {}): MergeInput {
      return {
        expectedHeadSha: mr.headSha!,
        expectedTargetSha: mr.targetSha,
        method: 'merge',
        title: `${mr.title} (merge request contract-${mr.externalId})`,
        ...overrides,
      };
    }

    it('opens a merge request for a pushed branch with its heads, and refreshes the same one when asked again', async () => {
      const head = await f.branchInClone('feature/a', 'a.txt', 'a\n');
      await f.client.pushBranch('feature/a');
      const target = await f.defaultBranchHead();
      const mr = await f.client.openMergeRequest({ sourceBranch: 'feature/a', title: 'Add a', description: 'why' });
      expect(mr).toMatchObject({
        sourceBranch: 'feature/a',
        targetBranch: 'main',
        headSha: head,
        targetSha: target,
        state: 'open',
        mergeSha: null,
      });
      expect(mr.externalId).not.toBe('');
      const again = await f.client.openMergeRequest({ sourceBranch: 'feature/a', title: 'Add a', description: 'why' });
      expect(again.externalId).toBe(mr.externalId);
      expect(await f.client.getMergeRequest(mr.externalId)).toMatchObject({ headSha: head, state: 'open' });
    });

    it('refuses a merge request from the default branch', async () => {
      await expectCode(
        f.client.openMergeRequest({ sourceBranch: 'main', title: 'x', description: 'y' }),
        'BRANCH_PROTECTED',
      );
    });

    it('has no merge request for an unknown id', async () => {
      expect(await f.client.getMergeRequest('no-such-request-4242')).toBeNull();
    });

    it('gives the diff the merge request brings', async () => {
      const mr = await pushedRequest('feature/diff', 'b.txt', 'hello contract\n');
      const diff = await f.client.diff(mr.externalId);
      expect(diff).toContain('b.txt');
      expect(diff).toContain('+hello contract');
    });

    it('merges with a merge commit whose parents are the target and the head, and a retry finds that merge', async () => {
      const mr = await pushedRequest('feature/merge', 'c.txt', 'c\n');
      const result = await f.client.merge(mr.externalId, mergeInput(mr));
      expect(result).toMatchObject({ status: 'merged', recovered: false });
      const sha = result.status === 'merged' ? result.sha : '';
      expect(await f.defaultBranchHead()).toBe(sha);
      expect(await f.parentsOf(sha)).toEqual([mr.targetSha, mr.headSha]);
      expect(await f.client.getMergeRequest(mr.externalId)).toMatchObject({ state: 'merged' });
      // The process died before recording it: the retry merges nothing new and reports the same commit.
      expect(await f.client.merge(mr.externalId, mergeInput(mr))).toEqual({ status: 'merged', sha, recovered: true });
      expect(await f.defaultBranchHead()).toBe(sha);
    });

    it('squashes into one commit when asked', async () => {
      const mr = await pushedRequest('feature/squash', 'd.txt', 'd\n');
      const before = await f.defaultBranchHead();
      const result = await f.client.merge(mr.externalId, mergeInput(mr, { method: 'squash' }));
      expect(result.status).toBe('merged');
      const sha = result.status === 'merged' ? result.sha : '';
      expect(await f.defaultBranchHead()).toBe(sha);
      expect(await f.parentsOf(sha)).toEqual([before]);
    });

    it("squashes a merge-commit repository's merge when a squash is forced (an earlier commit held a secret)", async () => {
      const mr = await pushedRequest('feature/forced', 'secret.txt', 'no secret any more\n');
      const before = await f.defaultBranchHead();
      const result = await f.client.merge(
        mr.externalId,
        mergeInput(mr, { method: 'merge', squashReason: 'an earlier commit held a secret' }),
      );
      expect(result.status).toBe('merged');
      const sha = result.status === 'merged' ? result.sha : '';
      expect(await f.defaultBranchHead()).toBe(sha);
      // One parent: the branch's commits (the one with the secret) are not reachable from the target.
      expect(await f.parentsOf(sha)).toEqual([before]);
    });

    it('refuses, changing nothing, when the head moved since the gates ran (they rerun)', async () => {
      const mr = await pushedRequest('feature/moved', 'e.txt', 'e\n');
      const before = await f.defaultBranchHead();
      const result = await f.client.merge(mr.externalId, mergeInput(mr, { expectedHeadSha: '0'.repeat(40) }));
      expect(result).toMatchObject({ status: 'refused', rerunGates: true });
      expect(await f.defaultBranchHead()).toBe(before);
    });

    it('refuses, changing nothing, when the target moved since the gates ran (they rerun)', async () => {
      const mr = await pushedRequest('feature/target', 'f.txt', 'f\n');
      const moved = await f.moveDefaultBranch('other.txt', 'other\n');
      const result = await f.client.merge(mr.externalId, mergeInput(mr));
      expect(result).toMatchObject({ status: 'refused', rerunGates: true });
      expect(await f.defaultBranchHead()).toBe(moved);
    });

    it('refuses a conflicting merge without rerunning the gates', async () => {
      await f.branchInClone('feature/conflict', 'README.md', '# branch version\n');
      await f.client.pushBranch('feature/conflict');
      await f.moveDefaultBranch('README.md', '# main version\n');
      const mr = await f.client.openMergeRequest({ sourceBranch: 'feature/conflict', title: 'c', description: 'd' });
      const moved = await f.defaultBranchHead();
      const result = await f.client.merge(mr.externalId, mergeInput(mr));
      expect(result).toMatchObject({ status: 'refused', rerunGates: false });
      expect(await f.defaultBranchHead()).toBe(moved);
    });

    it('reports the pipeline of a commit (status "none" when there is none)', async () => {
      const head = await f.defaultBranchHead();
      const pipeline = await f.client.pipeline(head);
      expect(pipeline.sha).toBe(head);
      expect(['none', 'pending', 'running', 'success', 'failed', 'canceled', 'skipped']).toContain(pipeline.status);
      expect(Array.isArray(pipeline.jobs)).toBe(true);
      if (!f.client.capabilities.pipelines) expect(pipeline).toMatchObject({ status: 'none', jobs: [] });
    });

    it('keeps notes, line comments and approvals in the forge, or says it has none', async () => {
      const mr = await pushedRequest('feature/notes', 'g.txt', 'g\n');
      if (f.client.capabilities.notes) {
        expect((await f.client.addNote(mr.externalId, 'a note')).id).not.toBe('');
        const comment = await f.client.addLineComment(mr.externalId, {
          path: 'g.txt',
          line: 1,
          headSha: mr.headSha!,
          body: 'a line comment',
        });
        expect(comment.id).not.toBe('');
      } else {
        await expectCode(f.client.addNote(mr.externalId, 'a note'), 'FORGE_UNSUPPORTED');
        await expectCode(
          f.client.addLineComment(mr.externalId, { path: 'g.txt', line: 1, headSha: mr.headSha!, body: 'x' }),
          'FORGE_UNSUPPORTED',
        );
      }
      if (f.client.capabilities.approvals) {
        await (f.approver ?? f.client).approve(mr.externalId);
        expect((await f.client.listApprovals(mr.externalId)).length).toBeGreaterThan(0);
      } else {
        await expectCode(f.client.approve(mr.externalId), 'FORGE_UNSUPPORTED');
        await expectCode(f.client.listApprovals(mr.externalId), 'FORGE_UNSUPPORTED');
      }
    });

    it('creates issues and epics, links them and sets labels, or says it has none', async () => {
      const input = { title: 'A story', body: 'As a user...', labels: ['autodev'] };
      if (!f.client.capabilities.issues) {
        await expectCode(f.client.createIssue(input), 'FORGE_UNSUPPORTED');
        await expectCode(f.client.createEpic(input), 'FORGE_UNSUPPORTED');
        return;
      }
      const epic = await f.client.createEpic({ ...input, title: 'An epic' });
      expect(['epic', 'parent_issue']).toContain(epic.kind);
      const issue = await f.client.createIssue(input);
      expect(issue.externalId).not.toBe('');
      await f.client.linkToEpic(epic, issue.externalId);
      await f.client.setLabels(issue.externalId, ['autodev', 'priority::high']);
    });

    it('lists the open issues with a label updated since a time, and replaces only the priority label', async () => {
      if (!f.client.capabilities.issues) {
        await expectCode(f.client.listLabelledIssues('autodev', null), 'FORGE_UNSUPPORTED');
        await expectCode(
          f.client.setIssuePriority('1', { label: 'priority::3', labelPrefix: 'priority::', weight: 3 }),
          'FORGE_UNSUPPORTED',
        );
        return;
      }
      const before = new Date(Date.now() - 60_000).toISOString();
      const labelled = await f.client.createIssue({ title: 'Labelled', body: 'Do it', labels: ['autodev', 'ux'] });
      await f.client.createIssue({ title: 'Not for the swarm', body: 'x', labels: ['ux'] });
      const listed = await f.client.listLabelledIssues('autodev', before);
      expect(listed.map((i) => i.externalId)).toEqual([labelled.externalId]);
      expect(listed[0]).toMatchObject({ title: 'Labelled', body: 'Do it', labels: ['autodev', 'ux'] });
      expect(Date.parse(listed[0]!.updatedAt)).toBeGreaterThanOrEqual(Date.parse(before));
      expect(listed[0]!.author).not.toBe('');
      expect(await f.client.listLabelledIssues('autodev', new Date(Date.now() + 3_600_000).toISOString())).toEqual([]);

      await f.client.setLabels(labelled.externalId, ['autodev', 'ux', 'priority::2']);
      await f.client.setIssuePriority(labelled.externalId, {
        label: 'priority::9',
        labelPrefix: 'priority::',
        weight: 9,
      });
      const [after] = await f.client.listLabelledIssues('autodev', null);
      expect([...after!.labels].sort()).toEqual(['autodev', 'priority::9', 'ux']);
    });
  });
}
