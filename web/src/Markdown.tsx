/**
 * @module Renders untrusted Markdown: the only place the dashboard sets HTML, always through DOMPurify
 * (markdown.ts). Loaded with the pages that show agent text, so the overview stays small.
 */
import { useMemo } from 'react';
import { renderMarkdown } from './markdown.js';

export function Markdown({ text }: { text: string }) {
  const html = useMemo(() => renderMarkdown(text), [text]);
  return <div className="markdown" dangerouslySetInnerHTML={{ __html: html }} />;
}
