agent_controls.role text not null
agent_controls.desired_workers integer not null
agent_controls.restart_requested_at bigint
agent_controls.updated_by text not null
agent_controls.updated_at bigint not null
agent_controls.replicas integer
agent_controls.restart_generation integer not null
agent_processes.process_id text not null
agent_processes.host text not null
agent_processes.pid integer not null
agent_processes.roles text not null
agent_processes.started_at bigint not null
agent_processes.heartbeat_at bigint not null
agent_processes.stopped_at bigint
agents.instance_id text not null
agents.role text not null
agents.status text not null
agents.current_task_id bigint
agents.provider text
agents.host text not null
agents.pid integer not null
agents.status_detail text
agents.heartbeat_at bigint not null
agents.started_at bigint not null
api_tokens.id bigint not null
api_tokens.name text not null
api_tokens.role text not null
api_tokens.token_hash text not null
api_tokens.created_at bigint not null
api_tokens.revoked_at bigint
approvals.id bigint not null
approvals.kind text not null
approvals.status text not null
approvals.subject_type text not null
approvals.subject_id text not null
approvals.title text not null
approvals.body text not null
approvals.workflow_id bigint
approvals.decided_by text
approvals.reason text
approvals.decided_at bigint
approvals.created_at bigint not null
approvals.updated_at bigint not null
discussions.id bigint not null
discussions.topic text not null
discussions.author text not null
discussions.body text not null
discussions.created_at bigint not null
discussions.reply_to bigint
discussions.task_id bigint
discussions.author_kind text not null
event_log_cursors.name text not null
event_log_cursors.xid bigint not null
event_log_cursors.event_id bigint not null
event_log_cursors.snapshot text
event_log_cursors.updated_at bigint not null
events.id bigint not null
events.kind text not null
events.subject_type text not null
events.subject_id text not null
events.actor text not null
events.data text not null
events.created_at bigint not null
events.xid bigint not null
forge_poll_cursors.repo_id bigint not null
forge_poll_cursors.stream text not null
forge_poll_cursors.cursor text not null
forge_poll_cursors.updated_at bigint not null
forge_writes.id bigint not null
forge_writes.write_key text not null
forge_writes.task_id bigint not null
forge_writes.repo_id bigint not null
forge_writes.kind text not null
forge_writes.status text not null
forge_writes.request text not null
forge_writes.external_id text
forge_writes.url text
forge_writes.detail text not null
forge_writes.created_at bigint not null
forge_writes.updated_at bigint not null
instructions.id bigint not null
instructions.role text not null
instructions.message text not null
instructions.created_by text not null
instructions.delivered_at bigint
instructions.delivered_to_session_id bigint
instructions.created_at bigint not null
memory_notes.id bigint not null
memory_notes.repo_id bigint
memory_notes.source text not null
memory_notes.text text not null
memory_notes.subject text
memory_notes.created_by text not null
memory_notes.embedding text
memory_notes.embedding_model text
memory_notes.created_at bigint not null
memory_notes.text_search tsvector
merge_request_notes.id bigint not null
merge_request_notes.merge_request_id bigint not null
merge_request_notes.author text not null
merge_request_notes.kind text not null
merge_request_notes.verdict text
merge_request_notes.body text not null
merge_request_notes.created_at bigint not null
merge_requests.id bigint not null
merge_requests.repo_id bigint not null
merge_requests.workflow_id bigint
merge_requests.source_branch text not null
merge_requests.target_branch text not null
merge_requests.title text not null
merge_requests.description text not null
merge_requests.status text not null
merge_requests.head_sha text
merge_requests.target_sha text
merge_requests.merge_sha text
merge_requests.external_id text
merge_requests.created_at bigint not null
merge_requests.updated_at bigint not null
merge_requests.url text
notifications.id bigint not null
notifications.webhook text not null
notifications.target text not null
notifications.dedupe_key text not null
notifications.event text not null
notifications.message text not null
notifications.status text not null
notifications.attempts integer not null
notifications.next_attempt_at bigint not null
notifications.last_error text
notifications.created_at bigint not null
notifications.updated_at bigint not null
notifications.delivered_at bigint
process_logs.id bigint not null
process_logs.process_id text not null
process_logs.service text not null
process_logs.host text not null
process_logs.pid integer not null
process_logs.role text
process_logs.component text
process_logs.level integer not null
process_logs.message text not null
process_logs.data text
process_logs.created_at bigint not null
process_logs.xid bigint not null
projects.workflow_id bigint not null
projects.name text not null
projects.title text not null
projects.idea text not null
projects.problem text not null
projects.audience text not null
projects.spec_markdown text not null
projects.ratings text not null
projects.targets text not null
projects.estimated_tokens bigint not null
projects.status text not null
projects.deferred_until bigint
projects.proposed_by text not null
projects.source_task_id bigint
projects.repo_id bigint
projects.story_workflow_id bigint
projects.product_dir text
projects.publications text not null
projects.created_at bigint not null
projects.updated_at bigint not null
projects.assessment text
proposal_votes.id bigint not null
proposal_votes.proposal_id bigint not null
proposal_votes.voter text not null
proposal_votes.vote text not null
proposal_votes.reason text
proposal_votes.created_at bigint not null
proposals.id bigint not null
proposals.title text not null
proposals.body text not null
proposals.author text not null
proposals.votes_for integer not null
proposals.votes_against integer not null
proposals.status text not null
proposals.created_at bigint not null
proposals.updated_at bigint not null
proposals.repo_id bigint
proposals.source_task_id bigint
proposals.decided_by text
proposals.decided_at bigint
proposals.reason text
proposals.workflow_id bigint
proposals.task_id bigint
proposals.kind text not null
provider_limits.provider text not null
provider_limits.limited_until bigint not null
provider_limits.reason text not null
provider_limits.updated_at bigint not null
repositories.id bigint not null
repositories.name text not null
repositories.forge text not null
repositories.location text not null
repositories.default_branch text not null
repositories.test_command text
repositories.deploy_command text
repositories.lint_command text
repositories.settings text not null
repositories.created_at bigint not null
repositories.updated_at bigint not null
repositories.remote_url text
schedule_runs.id bigint not null
schedule_runs.schedule_name text not null
schedule_runs.slot_at bigint not null
schedule_runs.fired_by text not null
schedule_runs.task_ids text not null
schedule_runs.created_at bigint not null
session_events.id bigint not null
session_events.session_id bigint not null
session_events.seq integer not null
session_events.kind text not null
session_events.data text not null
session_events.created_at bigint not null
sessions.id bigint not null
sessions.task_id bigint
sessions.role text not null
sessions.agent_instance_id text
sessions.provider text not null
sessions.model text
sessions.provider_session_id text
sessions.status text not null
sessions.outcome text
sessions.tokens_in bigint not null
sessions.tokens_out bigint not null
sessions.tokens_cache bigint not null
sessions.cost_usd double precision not null
sessions.started_at bigint not null
sessions.finished_at bigint
task_counts.status text not null
task_counts.type text not null
task_counts.n bigint not null
tasks.id bigint not null
tasks.type text not null
tasks.status text not null
tasks.priority integer not null
tasks.payload text not null
tasks.result text
tasks.error text
tasks.attempts integer not null
tasks.max_attempts integer not null
tasks.run_after bigint not null
tasks.lease_owner text
tasks.lease_expires_at bigint
tasks.parent_id bigint
tasks.workflow_id bigint
tasks.repo_id bigint
tasks.created_by text not null
tasks.created_at bigint not null
tasks.updated_at bigint not null
tasks.started_at bigint
tasks.finished_at bigint
tasks.dedupe_key text
webhook_deliveries.id bigint not null
webhook_deliveries.forge text not null
webhook_deliveries.delivery_id text not null
webhook_deliveries.event text not null
webhook_deliveries.action_key text
webhook_deliveries.outcome text not null
webhook_deliveries.detail text not null
webhook_deliveries.workflow_id bigint
webhook_deliveries.task_id bigint
webhook_deliveries.received_at bigint not null
workflows.id bigint not null
workflows.kind text not null
workflows.status text not null
workflows.stage text not null
workflows.title text not null
workflows.body text not null
workflows.repo_id bigint
workflows.fix_rounds integer not null
workflows.state text not null
workflows.created_by text not null
workflows.created_at bigint not null
workflows.updated_at bigint not null
workflows.proposal_id bigint

CREATE UNIQUE INDEX agent_controls_pkey ON public.agent_controls USING btree (role);
CREATE INDEX agent_processes_heartbeat_idx ON public.agent_processes USING btree (heartbeat_at);
CREATE UNIQUE INDEX agent_processes_pkey ON public.agent_processes USING btree (process_id);
CREATE UNIQUE INDEX agents_pkey ON public.agents USING btree (instance_id);
CREATE INDEX agents_role_idx ON public.agents USING btree (role);
CREATE UNIQUE INDEX api_tokens_pkey ON public.api_tokens USING btree (id);
CREATE UNIQUE INDEX api_tokens_token_hash_key ON public.api_tokens USING btree (token_hash);
CREATE UNIQUE INDEX approvals_pkey ON public.approvals USING btree (id);
CREATE INDEX approvals_status_idx ON public.approvals USING btree (status, id);
CREATE INDEX approvals_workflow_idx ON public.approvals USING btree (workflow_id);
CREATE UNIQUE INDEX discussions_pkey ON public.discussions USING btree (id);
CREATE INDEX discussions_reply_to_idx ON public.discussions USING btree (reply_to);
CREATE INDEX discussions_topic_idx ON public.discussions USING btree (topic, id);
CREATE UNIQUE INDEX event_log_cursors_pkey ON public.event_log_cursors USING btree (name);
CREATE UNIQUE INDEX events_pkey ON public.events USING btree (id);
CREATE INDEX events_xid_idx ON public.events USING brin (xid) WITH (pages_per_range='32');
CREATE UNIQUE INDEX forge_poll_cursors_pk ON public.forge_poll_cursors USING btree (repo_id, stream);
CREATE UNIQUE INDEX forge_writes_pkey ON public.forge_writes USING btree (id);
CREATE INDEX forge_writes_task_idx ON public.forge_writes USING btree (task_id);
CREATE UNIQUE INDEX forge_writes_write_key_key ON public.forge_writes USING btree (write_key);
CREATE UNIQUE INDEX instructions_pkey ON public.instructions USING btree (id);
CREATE INDEX instructions_role_idx ON public.instructions USING btree (role, delivered_at);
CREATE UNIQUE INDEX memory_notes_pkey ON public.memory_notes USING btree (id);
CREATE INDEX memory_notes_repo_idx ON public.memory_notes USING btree (repo_id, id);
CREATE INDEX memory_notes_text_search_idx ON public.memory_notes USING gin (text_search);
CREATE INDEX merge_request_notes_mr_idx ON public.merge_request_notes USING btree (merge_request_id);
CREATE UNIQUE INDEX merge_request_notes_pkey ON public.merge_request_notes USING btree (id);
CREATE UNIQUE INDEX merge_requests_pkey ON public.merge_requests USING btree (id);
CREATE INDEX merge_requests_repo_idx ON public.merge_requests USING btree (repo_id, status);
CREATE INDEX merge_requests_workflow_idx ON public.merge_requests USING btree (workflow_id);
CREATE UNIQUE INDEX notifications_dedupe_unique ON public.notifications USING btree (webhook, dedupe_key);
CREATE INDEX notifications_due_idx ON public.notifications USING btree (status, next_attempt_at);
CREATE UNIQUE INDEX notifications_pkey ON public.notifications USING btree (id);
CREATE INDEX process_logs_created_idx ON public.process_logs USING btree (created_at);
CREATE INDEX process_logs_level_idx ON public.process_logs USING btree (level, created_at);
CREATE UNIQUE INDEX process_logs_pkey ON public.process_logs USING btree (id);
CREATE INDEX process_logs_role_idx ON public.process_logs USING btree (role, created_at);
CREATE INDEX process_logs_xid_idx ON public.process_logs USING brin (xid) WITH (pages_per_range='32');
CREATE UNIQUE INDEX projects_name_unique ON public.projects USING btree (name);
CREATE UNIQUE INDEX projects_pkey ON public.projects USING btree (workflow_id);
CREATE INDEX projects_status_idx ON public.projects USING btree (status, deferred_until);
CREATE INDEX projects_story_idx ON public.projects USING btree (story_workflow_id);
CREATE UNIQUE INDEX proposal_votes_pkey ON public.proposal_votes USING btree (id);
CREATE UNIQUE INDEX proposal_votes_voter_key ON public.proposal_votes USING btree (proposal_id, voter);
CREATE UNIQUE INDEX proposals_pkey ON public.proposals USING btree (id);
CREATE INDEX proposals_status_idx ON public.proposals USING btree (status, id);
CREATE UNIQUE INDEX provider_limits_pkey ON public.provider_limits USING btree (provider);
CREATE UNIQUE INDEX repositories_name_key ON public.repositories USING btree (name);
CREATE UNIQUE INDEX repositories_pkey ON public.repositories USING btree (id);
CREATE UNIQUE INDEX schedule_runs_pkey ON public.schedule_runs USING btree (id);
CREATE UNIQUE INDEX schedule_runs_slot_key ON public.schedule_runs USING btree (schedule_name, slot_at);
CREATE UNIQUE INDEX session_events_pkey ON public.session_events USING btree (id);
CREATE UNIQUE INDEX session_events_seq_idx ON public.session_events USING btree (session_id, seq);
CREATE UNIQUE INDEX sessions_pkey ON public.sessions USING btree (id);
CREATE INDEX sessions_started_idx ON public.sessions USING btree (started_at);
CREATE INDEX sessions_task_idx ON public.sessions USING btree (task_id);
CREATE UNIQUE INDEX tasks_dedupe_key_idx ON public.tasks USING btree (dedupe_key);
CREATE INDEX tasks_finished_idx ON public.tasks USING btree (finished_at);
CREATE INDEX tasks_lease_idx ON public.tasks USING btree (lease_expires_at) WHERE (status = 'in_progress'::text);
CREATE INDEX tasks_open_story_idx ON public.tasks USING btree (id) WHERE ((workflow_id IS NOT NULL) AND (status = ANY (ARRAY['pending'::text, 'in_progress'::text])));
CREATE INDEX tasks_parent_idx ON public.tasks USING btree (parent_id) WHERE (parent_id IS NOT NULL);
CREATE UNIQUE INDEX tasks_pkey ON public.tasks USING btree (id);
CREATE INDEX tasks_rare_status_idx ON public.tasks USING btree (id) WHERE (status = ANY (ARRAY['failed'::text, 'cancelled'::text]));
CREATE INDEX tasks_ready_idx ON public.tasks USING btree (priority DESC, run_after, id) WHERE (status = 'pending'::text);
CREATE INDEX tasks_type_id_idx ON public.tasks USING btree (type, id);
CREATE INDEX tasks_workflow_idx ON public.tasks USING btree (workflow_id) WHERE (workflow_id IS NOT NULL);
CREATE UNIQUE INDEX webhook_deliveries_action_key_idx ON public.webhook_deliveries USING btree (action_key);
CREATE UNIQUE INDEX webhook_deliveries_delivery_key ON public.webhook_deliveries USING btree (forge, delivery_id);
CREATE UNIQUE INDEX webhook_deliveries_pkey ON public.webhook_deliveries USING btree (id);
CREATE UNIQUE INDEX workflows_pkey ON public.workflows USING btree (id);
CREATE INDEX workflows_status_idx ON public.workflows USING btree (status, id);
