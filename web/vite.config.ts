/**
 * @module Vite build of the dashboard: web/ to web/dist, served by the API server at `/` (src/server/plugins/web.ts).
 * Vite 8 compiles TSX with oxc; no React plugin is needed for a production build.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  oxc: { jsx: { runtime: 'automatic' } },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, target: 'es2022' },
});
