/**
 * The dashboard's API types come from the server's zod schemas (src/domain/): this fails when web/src declares an
 * object type (an interface, or a type alias of an object literal) whose fields are all fields of an API schema's
 * object, i.e. a hand-copied answer shape, and when web/src imports anything but types from src/ (zod would be
 * bundled). Pure: reads the sources with the TypeScript parser and the schemas as JSON Schema.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WEB_SRC = path.join(ROOT, 'web', 'src');
const DOMAIN = path.join(ROOT, 'src', 'domain');
/** Web shapes that share an API shape's names on purpose, with why. */
const ALLOWED: Record<string, string> = {
  'pages/Repos.tsx RepoFields': "the add/edit form's state: text as typed, turned into the API's fields by toBody",
};

function webFiles(dir = WEB_SRC): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return webFiles(full);
    return /\.tsx?$/.test(entry.name) ? [full] : [];
  });
}

/** Every object type the file declares at its top level, with its field names. */
function declaredShapes(file: string): Array<{ name: string; fields: string[] }> {
  const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const shapes: Array<{ name: string; fields: string[] }> = [];
  const names = (members: ts.NodeArray<ts.TypeElement>) =>
    members.flatMap((m) => (m.name && (ts.isIdentifier(m.name) || ts.isStringLiteral(m.name)) ? [m.name.text] : []));
  for (const statement of source.statements) {
    if (ts.isInterfaceDeclaration(statement))
      shapes.push({ name: statement.name.text, fields: names(statement.members) });
    if (ts.isTypeAliasDeclaration(statement) && ts.isTypeLiteralNode(statement.type)) {
      shapes.push({ name: statement.name.text, fields: names(statement.type.members) });
    }
  }
  return shapes;
}

/** The field names of every object in the domain schemas (top level and nested), as JSON Schema sees them. */
async function schemaShapes(): Promise<Array<{ schema: string; fields: Set<string> }>> {
  const shapes: Array<{ schema: string; fields: Set<string> }> = [];
  const walk = (node: unknown, where: string) => {
    if (Array.isArray(node)) return node.forEach((n) => walk(n, where));
    if (node === null || typeof node !== 'object') return;
    const properties = (node as { properties?: Record<string, unknown> }).properties;
    if (properties) shapes.push({ schema: where, fields: new Set(Object.keys(properties)) });
    for (const [key, value] of Object.entries(node)) walk(value, key === 'properties' ? where : `${where}.${key}`);
  };
  for (const file of fs.readdirSync(DOMAIN).filter((f) => f.endsWith('-schema.ts'))) {
    const module = (await import(path.join(DOMAIN, file))) as Record<string, unknown>;
    for (const [name, value] of Object.entries(module)) {
      if (!(value instanceof z.ZodType)) continue;
      walk(z.toJSONSchema(value, { io: 'output', unrepresentable: 'any' }), `${file} ${name}`);
    }
  }
  return shapes;
}

describe('web API types', () => {
  it('web/src declares no object type that copies an API schema’s fields', async () => {
    const schemas = await schemaShapes();
    expect(schemas.length).toBeGreaterThan(30);
    const copies: string[] = [];
    for (const file of webFiles()) {
      const relative = path.relative(WEB_SRC, file);
      for (const shape of declaredShapes(file)) {
        if (shape.fields.length < 3 || ALLOWED[`${relative} ${shape.name}`]) continue;
        const match = schemas.find((s) => shape.fields.every((field) => s.fields.has(field)));
        if (match) copies.push(`${relative} ${shape.name} copies ${match.schema}: import its type from src/domain/`);
      }
    }
    expect(copies).toEqual([]);
  });

  it('finds a hand-copied shape (the check can fail)', async () => {
    const schemas = await schemaShapes();
    const copied = ['id', 'role', 'message', 'created_at'];
    expect(schemas.some((s) => copied.every((field) => s.fields.has(field)))).toBe(true);
  });

  it('web/src imports only types from src/', () => {
    const valueImports: string[] = [];
    for (const file of webFiles()) {
      const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
      for (const statement of source.statements) {
        if (!ts.isImportDeclaration(statement) && !ts.isExportDeclaration(statement)) continue;
        const from = statement.moduleSpecifier;
        if (!from || !ts.isStringLiteral(from) || !from.text.includes('/src/')) continue;
        const typeOnly = ts.isImportDeclaration(statement)
          ? statement.importClause?.isTypeOnly === true
          : statement.isTypeOnly;
        if (!typeOnly) valueImports.push(`${path.relative(WEB_SRC, file)}: ${from.text}`);
      }
    }
    expect(valueImports).toEqual([]);
  });
});
