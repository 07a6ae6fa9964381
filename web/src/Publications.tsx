/**
 * @module A project's publications, one line per target: its status, the URL of what was published (a link when it
 * is a web address) and the error of a failed one. Shown on the project page and on a decided publish approval.
 */
import type { ProjectDetail } from '../../src/domain/project-schema.js';
import { Status, time } from './ui.js';

export default function Publications({
  publications,
  withTimes = false,
}: {
  publications: ProjectDetail['publications'];
  /** When each was recorded (the project page's history). */
  withTimes?: boolean;
}) {
  return (
    <ul className="publications" data-testid="publications">
      {publications.map((pub) => (
        <li key={pub.target}>
          <b>{pub.target}</b> <Status value={pub.status} />{' '}
          {pub.url && /^https?:\/\//i.test(pub.url) ? (
            <a href={pub.url} target="_blank" rel="noreferrer noopener">
              {pub.url}
            </a>
          ) : (
            (pub.url ?? '')
          )}
          {pub.error ? <span className="error-text"> {pub.error}</span> : null}
          {withTimes && pub.at ? <span className="muted"> · {time(pub.at)}</span> : null}
        </li>
      ))}
    </ul>
  );
}
