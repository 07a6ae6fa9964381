/**
 * @module Instructions: send one to a role (approvers and admins) and see which were delivered, to which session.
 */
import { useState } from 'react';
import { api, canChange, ROLES, type Instruction, type Me } from '../api.js';
import { Empty, ErrorNote, Link, Loading, time, useLoad } from '../ui.js';

export default function Instructions({ me }: { me: Me | null }) {
  const list = useLoad(
    () => api<{ instructions: Instruction[] }>('/api/instructions'),
    [],
    (e) => e.kind.startsWith('instruction.'),
  );
  const [role, setRole] = useState('builder');
  const [message, setMessage] = useState('');
  const [error, setError] = useState<Error>();
  const [sent, setSent] = useState<string>();

  const send = async () => {
    setError(undefined);
    setSent(undefined);
    try {
      const created = await api<Instruction>(`/api/agents/${role}/instructions`, { method: 'POST', body: { message } });
      setMessage('');
      setSent(`Instruction ${created.id} saved; the next ${created.role} session receives it.`);
      list.reload();
    } catch (failure) {
      setError(failure as Error);
    }
  };

  return (
    <div className="page">
      <h1>Instructions</h1>
      {canChange(me) ? (
        <form
          className="instruct"
          onSubmit={(event) => {
            event.preventDefault();
            void send();
          }}
        >
          <label>
            Role{' '}
            <select value={role} onChange={(e) => setRole(e.target.value)}>
              {ROLES.map((r) => (
                <option key={r}>{r}</option>
              ))}
            </select>
          </label>
          <textarea
            value={message}
            placeholder="What the role's next session should know or do"
            rows={3}
            onChange={(e) => setMessage(e.target.value)}
          />
          <button type="submit" disabled={message.trim() === ''}>
            Send instruction
          </button>
          {sent ? <p className="ok">{sent}</p> : null}
          <ErrorNote error={error} />
        </form>
      ) : (
        <p className="muted">Your token is a viewer token: sending instructions needs an approver or admin token.</p>
      )}
      <ErrorNote error={list.error} />
      {!list.data && !list.error ? <Loading /> : null}
      {list.data && list.data.instructions.length === 0 ? (
        <Empty>
          No instructions yet. Send one above, or with <code>autodev instruct ROLE "message"</code>.
        </Empty>
      ) : null}
      {list.data && list.data.instructions.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th>#</th>
              <th>Role</th>
              <th>Message</th>
              <th>From</th>
              <th>Sent</th>
              <th>Delivered</th>
            </tr>
          </thead>
          <tbody>
            {list.data.instructions.map((i) => (
              <tr key={i.id}>
                <td>{i.id}</td>
                <td>{i.role}</td>
                <td className="message">{i.message}</td>
                <td>{i.created_by}</td>
                <td>{time(i.created_at)}</td>
                <td>
                  {i.delivered_at ? (
                    <>
                      {time(i.delivered_at)} to{' '}
                      <Link to={`/sessions/${i.delivered_to_session_id}`}>session {i.delivered_to_session_id}</Link>
                    </>
                  ) : (
                    <span className="muted">waiting for the next {i.role} session</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </div>
  );
}
