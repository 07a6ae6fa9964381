/**
 * @module A product directory in the guide's layout (`<data-dir>/projects/<name>/`) for the publisher tests: a
 * product.json naming all five targets, README.md and every listing, an npm package (whose `prepublishOnly` script
 * would leave a marker file if npm ever ran it, and whose `.npmrc` names a dead registry), a binary release asset, a
 * static site and an Apify actor. Each call makes a new name (npm package, title, actor, project) so tests sharing
 * one registry never collide.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

let counter = 0;

export interface ProductFixture {
  dataDir: string;
  dir: string;
  name: string;
  title: string;
  /** Where the npm package's lifecycle script would write if it ran. */
  scriptMarker: string;
}

/** `githubTag`: the release tag (default: the publisher's `v<version>`); tests sharing one repository give their own. */
export function writeProductDir(
  options: { dataDir?: string; version?: string; githubTag?: string } = {},
): ProductFixture {
  counter += 1;
  const dataDir = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-product-'));
  const name = `text-kit-${process.pid}-${counter}`;
  const title = `Text Kit ${process.pid} ${counter}`;
  const version = options.version ?? '1.0.0';
  const dir = path.join(dataDir, 'projects', name);
  const scriptMarker = path.join(dataDir, `script-ran-${counter}`);
  const write = (relative: string, content: string | Buffer) => {
    fs.mkdirSync(path.dirname(path.join(dir, relative)), { recursive: true });
    fs.writeFileSync(path.join(dir, relative), content);
  };
  write(
    'product.json',
    JSON.stringify(
      {
        name,
        version,
        title,
        summary: 'Small text helpers: slugify and word counts.',
        targets: {
          npm: { package_dir: 'package' },
          github_release: {
            owner: 'acme',
            repo: 'text-kit',
            ...(options.githubTag ? { tag: options.githubTag } : {}),
            assets: [`dist/${name}-${version}.zip`],
          },
          gumroad: { price_cents: 900, files: [`dist/${name}-${version}.zip`, 'dist/guide.pdf'] },
          vercel: { project: name, dir: 'site' },
          apify: { actor: name, dir: 'actor' },
        },
      },
      null,
      2,
    ),
  );
  write('README.md', `# ${title}\n\nSmall text helpers.\n`);
  write('NPM_README.md', `# ${name}\n\n\`npm install ${name}\`\n`);
  write('GITHUB_RELEASE.md', `## ${title} ${version}\n\nFirst release.\n`);
  write('GUMROAD_LISTING.md', `# ${title}\n\nEverything you need to count words.\n`);
  write('VERCEL_LISTING.md', `The ${title} landing page.\n`);
  write('APIFY_LISTING.md', `# ${title} actor\n\nCounts words on a page.\n`);
  write(
    'package/package.json',
    JSON.stringify(
      {
        name,
        version,
        main: 'index.js',
        scripts: { prepublishOnly: `node -e "require('fs').writeFileSync('${scriptMarker}', 'ran')"` },
      },
      null,
      2,
    ),
  );
  // An agent's npmrc naming a registry nobody listens on: a publish that honoured it would fail.
  write('package/.npmrc', 'registry=http://127.0.0.1:9/\n');
  write('package/index.js', 'export const slugify = (s) => s.toLowerCase().replace(/\\W+/g, "-");\n');
  write('package/README.md', 'the agent README, replaced by NPM_README.md\n');
  write(
    `dist/${name}-${version}.zip`,
    Buffer.from([0x50, 0x4b, 3, 4, 0, 255, 254, ...Array.from({ length: 40 }, (_, i) => i)]),
  );
  write('dist/guide.pdf', '%PDF-1.4 stand-in guide\n');
  write('site/index.html', `<!doctype html><title>${title}</title><h1>${title}</h1>\n`);
  write('site/assets/style.css', 'h1 { color: teal; }\n');
  write('actor/main.js', 'console.log("count words");\n');
  write('actor/.actor/actor.json', JSON.stringify({ actorSpecification: 1, name, version: '1.0' }));
  write('actor/icon.bin', Buffer.from([0, 1, 2, 255]));
  return { dataDir, dir, name, title, scriptMarker };
}
