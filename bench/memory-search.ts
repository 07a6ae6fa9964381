/**
 * @module `npm run bench:memory`: memory search over AUTODEV_BENCH_MEMORY_NOTES (10,000) notes on SQLite (FTS5) and
 * PostgreSQL (tsvector + GIN): p50/p99 latency of `searchMemoryText` (a repository's notes plus the global ones, top 5)
 * and recall@5 on a labelled query set. The notes are generated from a fixed seed: 20 repositories and global notes of
 * filler sentences from a shared vocabulary, plus one labelled note per query, whose query uses other forms of its
 * words (`migrating` for `migration`) and shares words with many distractors. Target: p99 under 20 ms.
 * A second row per engine times vector search through the JS cosine scan with a STAND-IN embedder (hashed bag of
 * words, in process, 256 dimensions): it measures the scan, not a model's quality; no local embedding model is
 * installed on this machine (none is downloaded at run time). AUTODEV_BENCH_ENGINES narrows the engines.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { SettingsSchema } from '../src/config/settings-schema.js';
import { createMemoryService } from '../src/memory/memory-service.js';
import { searchMemoryText } from '../src/memory/search-memory.js';
import { migrateToLatest } from '../src/store/migrate.js';
import { openDatabase, type DatabaseHandle } from '../src/store/open-database.js';
import { formatTable, percentile, preciseNow, progress, type Cell } from './bench-report.js';
import { scratchPostgres } from './scratch-postgres.js';

const REPOS = 20;
const QUERIES = 100;
const TIMED_SEARCHES = 1000;

const VOCABULARY = (
  'test tests pool database migration cache queue worker lease deploy branch merge review spec login session ' +
  'token payment checkout cart order invoice email template render route handler schema index query timeout retry ' +
  'flaky fixture mock stub container image build lint format config secret key rotate backup restore metric log ' +
  'trace alert dashboard chart export import csv json yaml parser lexer compile bundle module package version ' +
  'release tag commit hook sandbox network socket stream buffer encode decode hash sign verify upload download'
).split(' ');

/** Labelled notes: distinctive words, and the query that must find them (other word forms, plus common words). */
const TOPICS = [
  ['migrations', 'migrating'],
  ['rotated', 'rotating'],
  ['invoices', 'invoiced'],
  ['retries', 'retrying'],
  ['renders', 'rendering'],
  ['uploads', 'uploading'],
  ['verified', 'verifying'],
  ['bundled', 'bundling'],
  ['compiled', 'compiling'],
  ['decoded', 'decoding'],
] as const;
const RARE =
  'amber basalt cobalt dune ember fjord garnet harbor indigo jasper kelp lagoon mesa nickel onyx prairie quartz reef sienna tundra'.split(
    ' ',
  );

function random(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

interface Labelled {
  query: string;
  repoId: number;
  noteText: string;
}

function generate(total: number) {
  const rnd = random(42);
  const pick = <T>(list: readonly T[]) => list[Math.floor(rnd() * list.length)]!;
  const sentence = (words: number) => Array.from({ length: words }, () => pick(VOCABULARY)).join(' ');
  const labelled: Labelled[] = [];
  for (let i = 0; i < QUERIES; i++) {
    const [noteForm, queryForm] = TOPICS[i % TOPICS.length]!;
    const rare = `${RARE[i % RARE.length]!}${Math.floor(i / RARE.length)}`;
    const common = sentence(3);
    labelled.push({
      repoId: 1 + (i % REPOS),
      noteText: `The ${rare} service: ${noteForm} ${common} ${sentence(12)}`,
      query: `${queryForm} ${rare} ${common.split(' ')[0]!}`,
    });
  }
  const filler = Array.from({ length: total - QUERIES }, () => ({
    repoId: rnd() < 0.1 ? null : 1 + Math.floor(rnd() * REPOS),
    text: sentence(10 + Math.floor(rnd() * 20)),
  }));
  return { labelled, filler };
}

async function load(handle: DatabaseHandle, total: number) {
  const { labelled, filler } = generate(total);
  const now = Date.now();
  await handle.db
    .insertInto('repositories')
    .values(
      Array.from({ length: REPOS }, (_, i) => ({
        name: `repo-${i + 1}`,
        forge: 'local' as const,
        location: `/bench/repo-${i + 1}`,
        default_branch: 'main',
        test_command: null,
        deploy_command: null,
        lint_command: null,
        settings: '{}',
        created_at: now,
        updated_at: now,
      })),
    )
    .execute();
  const rows = [
    ...filler.map((f) => ({ repo_id: f.repoId, text: f.text })),
    ...labelled.map((l) => ({ repo_id: l.repoId, text: l.noteText })),
  ].map((r) => ({ ...r, source: 'agent_note' as const, subject: null, created_by: 'bench', created_at: now }));
  for (let i = 0; i < rows.length; i += 500) {
    await handle.db
      .insertInto('memory_notes')
      .values(rows.slice(i, i + 500))
      .execute();
  }
  return labelled;
}

/** The stand-in embedder: a hashed bag of words, 256 dimensions, answered in process in the OpenAI format. */
const standInEmbeddings: typeof fetch = async (_url, init) => {
  const { input } = JSON.parse(String(init?.body)) as { input: string };
  const vector = new Array<number>(256).fill(0);
  for (const word of input.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    const slot = createHash('md5').update(word).digest()[0]!;
    vector[slot] = (vector[slot] ?? 0) + 1;
  }
  return new Response(JSON.stringify({ data: [{ embedding: vector }] }), { status: 200 });
};

interface Row {
  engine: string;
  method: string;
  samples: number[];
  recall: number;
}

async function benchEngine(engine: string, handle: DatabaseHandle, total: number): Promise<Row[]> {
  progress(`${engine}: loading ${total} notes`);
  const labelled = await load(handle, total);
  const scopeOf = (repoId: number) => ({ kind: 'repo' as const, repoId, includeGlobal: true });
  const textSearch = (q: Labelled) => searchMemoryText(handle, { query: q.query, scope: scopeOf(q.repoId), limit: 5 });
  const rows: Row[] = [];
  const measure = async (method: string, search: (q: Labelled) => Promise<{ text: string }[]>, timed: number) => {
    let hits = 0;
    for (const q of labelled) if ((await search(q)).some((n) => n.text === q.noteText)) hits++;
    for (let i = 0; i < 20; i++) await search(labelled[i % labelled.length]!); // warm-up
    const samples: number[] = [];
    for (let i = 0; i < timed; i++) {
      const started = preciseNow();
      await search(labelled[i % labelled.length]!);
      samples.push(preciseNow() - started);
    }
    rows.push({ engine, method, samples, recall: hits / labelled.length });
  };
  progress(`${engine}: full-text searches`);
  await measure('full-text', textSearch, TIMED_SEARCHES);

  progress(`${engine}: embedding the notes with the stand-in embedder`);
  const settings = SettingsSchema.parse({
    memory: { embeddings: { url: 'http://stand-in.invalid/v1/embeddings', model: 'hashed-bow-256' } },
  }).memory;
  const memory = createMemoryService({ handle, settings, fetch: standInEmbeddings });
  const notes = await handle.db.selectFrom('memory_notes').select(['id', 'text']).execute();
  for (let i = 0; i < notes.length; i += 500) {
    await handle.db.transaction().execute(async (tx) => {
      for (const note of notes.slice(i, i + 500)) {
        const response = await standInEmbeddings('', { body: JSON.stringify({ input: note.text }) });
        const { data } = (await response.json()) as { data: [{ embedding: number[] }] };
        await tx
          .updateTable('memory_notes')
          .set({ embedding: JSON.stringify(data[0].embedding), embedding_model: 'hashed-bow-256' })
          .where('id', '=', note.id)
          .execute();
      }
    });
  }
  progress(`${engine}: full-text + vector (stand-in) searches`);
  await measure('vector', (q) => memory.search({ query: q.query, scope: scopeOf(q.repoId), limit: 5 }), 200);
  // Named after the searches ran: the service says what answered (pgvector is detected at the first search).
  rows[rows.length - 1]!.method = `${memory.describe()}, stand-in embedder`;
  return rows;
}

export async function runMemorySearchBench(): Promise<string> {
  const total = Number(process.env.AUTODEV_BENCH_MEMORY_NOTES ?? 10_000);
  const engines = (process.env.AUTODEV_BENCH_ENGINES ?? 'sqlite,postgres').split(',').map((e) => e.trim());
  const results: Row[] = [];
  const notes: string[] = [];
  if (engines.includes('sqlite')) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-bench-memory-'));
    const handle = await openDatabase({ sqlitePath: path.join(dir, 'autodev.db') });
    try {
      await migrateToLatest(handle);
      results.push(...(await benchEngine('sqlite', handle, total)));
    } finally {
      await handle.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  if (engines.includes('postgres')) {
    const scratch = await scratchPostgres();
    if (!scratch) notes.push('postgres: skipped (no AUTODEV_BENCH_DATABASE_URL and no PostgreSQL binaries)');
    else {
      const handle = await openDatabase({ databaseUrl: scratch.url });
      try {
        await migrateToLatest(handle);
        results.push(...(await benchEngine('postgres', handle, total)));
      } finally {
        await handle.close();
        await scratch.release();
      }
    }
  }
  const ms = (value: number): Cell => value.toFixed(2);
  return [
    `Memory search over ${total.toLocaleString('en-US')} notes (${REPOS} repositories + global), top 5 of a repository's ` +
      `notes plus the global ones; recall@5 on ${QUERIES} labelled queries (${os.cpus().length} CPUs, load average ` +
      `${os.loadavg()[0]!.toFixed(1)}). Target: full-text p99 < 20 ms.`,
    formatTable(
      ['engine', 'method', 'searches', 'p50 ms', 'p99 ms', 'recall@5'],
      results.map((r) => [
        r.engine,
        r.method,
        r.samples.length,
        ms(percentile(r.samples, 50)),
        ms(percentile(r.samples, 99)),
        r.recall.toFixed(2),
      ]),
    ),
    'Vector rows use a stand-in embedder (hashed bag of words): latency of the scan and fusion, not model quality. ' +
      'No local embedding model is installed here; set memory.embeddings to a local model server to measure one.',
    ...notes,
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runMemorySearchBench().then(
    (report) => {
      process.stdout.write(`${report}\n`);
      process.exit(0);
    },
    (error: unknown) => {
      process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    },
  );
}
