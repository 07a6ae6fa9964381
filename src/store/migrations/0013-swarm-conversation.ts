/**
 * @module Migration 0013: the swarm talks. Discussion messages get threads (`reply_to`), the task an agent posted
 * from and whether a human or an agent wrote them; proposals get what they ask for (`kind`: a story on `repo_id`, or
 * a product), the human decision (who, when, why) and the work an approval started (`workflow_id` or `task_id`),
 * linked back from `workflows.proposal_id`; `proposal_votes` holds one vote per voter (unique in the database).
 * Released migrations are never edited; add a new file.
 */
import type { Kysely, Migration } from 'kysely';
import type { DialectCapabilities } from '../dialect.js';

export function swarmConversationMigration(dialect: DialectCapabilities): Migration {
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against the schema as it was then
    async up(db: Kysely<any>) {
      await db.schema.alterTable('discussions').addColumn('reply_to', dialect.idColumnType).execute();
      await db.schema.alterTable('discussions').addColumn('task_id', dialect.idColumnType).execute();
      await db.schema
        .alterTable('discussions')
        .addColumn('author_kind', 'text', (c) => c.notNull().defaultTo('agent'))
        .execute();
      await db.schema.createIndex('discussions_reply_to_idx').on('discussions').column('reply_to').execute();

      for (const [name, type] of [
        ['repo_id', dialect.idColumnType],
        ['source_task_id', dialect.idColumnType],
        ['decided_by', 'text'],
        ['decided_at', 'bigint'],
        ['reason', 'text'],
        ['workflow_id', dialect.idColumnType],
        ['task_id', dialect.idColumnType],
      ] as const) {
        await db.schema.alterTable('proposals').addColumn(name, type).execute();
      }
      await db.schema
        .alterTable('proposals')
        .addColumn('kind', 'text', (c) => c.notNull().defaultTo('story'))
        .execute();

      await db.schema
        .createTable('proposal_votes')
        .addColumn('id', dialect.idColumnType, (c) =>
          dialect.name === 'postgres' ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey().autoIncrement(),
        )
        .addColumn('proposal_id', dialect.idColumnType, (c) => c.notNull())
        .addColumn('voter', 'text', (c) => c.notNull())
        .addColumn('vote', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('proposal_votes_voter_key', ['proposal_id', 'voter'])
        .execute();

      await db.schema.alterTable('workflows').addColumn('proposal_id', dialect.idColumnType).execute();
    },
  };
}
