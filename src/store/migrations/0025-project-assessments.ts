/**
 * @module Migration 0025: the Architect's assessment of a product proposal (`projects.assessment`, nullable JSON:
 * verdict, feasibility / effort / risk each 1..10 with a reason, estimate, approach, concerns, who and when), written
 * when its `evaluate_feasibility` task completes; null while it is pending (or for proposals made before it).
 * Released migrations are never edited; add a new file.
 */
import type { Kysely, Migration } from 'kysely';

export function projectAssessmentsMigration(): Migration {
  return {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run against the schema as it was then
    async up(db: Kysely<any>) {
      await db.schema.alterTable('projects').addColumn('assessment', 'text').execute();
    },
  };
}
