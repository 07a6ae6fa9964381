CREATE TRIGGER memory_notes_fts_delete after delete on memory_notes begin
        insert into memory_notes_fts (memory_notes_fts, rowid, text) values ('delete', old.id, old.text);
      end;
CREATE TRIGGER memory_notes_fts_insert after insert on memory_notes begin
        insert into memory_notes_fts (rowid, text) values (new.id, new.text);
      end;
CREATE TRIGGER memory_notes_fts_update after update of text on memory_notes begin
        insert into memory_notes_fts (memory_notes_fts, rowid, text) values ('delete', old.id, old.text);
        insert into memory_notes_fts (rowid, text) values (new.id, new.text);
      end;
CREATE TRIGGER task_counts_delete after delete on tasks begin 
    insert into task_counts (status, type, n) values (old.status, old.type, -1)
    on conflict (status, type) do update set n = n + -1; end;
CREATE TRIGGER task_counts_insert after insert on tasks begin 
    insert into task_counts (status, type, n) values (new.status, new.type, 1)
    on conflict (status, type) do update set n = n + 1; end;
CREATE TRIGGER task_counts_update after update of status, type on tasks
             when old.status is not new.status or old.type is not new.type
             begin 
    insert into task_counts (status, type, n) values (old.status, old.type, -1)
    on conflict (status, type) do update set n = n + -1; 
    insert into task_counts (status, type, n) values (new.status, new.type, 1)
    on conflict (status, type) do update set n = n + 1; end;
CREATE TABLE "agent_controls" ("role" text primary key, "desired_workers" integer not null, "restart_requested_at" bigint, "updated_by" text not null, "updated_at" bigint not null, "replicas" integer, "restart_generation" integer default 0 not null);
CREATE TABLE "agent_processes" ("process_id" text primary key, "host" text not null, "pid" integer not null, "roles" text not null, "started_at" bigint not null, "heartbeat_at" bigint not null, "stopped_at" bigint);
CREATE TABLE "agents" ("instance_id" text primary key, "role" text not null, "status" text not null, "current_task_id" integer, "provider" text, "host" text not null, "pid" integer not null, "status_detail" text, "heartbeat_at" bigint not null, "started_at" bigint not null);
CREATE TABLE "api_tokens" ("id" integer primary key autoincrement, "name" text not null, "role" text not null, "token_hash" text not null unique, "created_at" bigint not null, "revoked_at" bigint);
CREATE TABLE "approvals" ("id" integer primary key autoincrement, "kind" text not null, "status" text not null, "subject_type" text not null, "subject_id" text not null, "title" text not null, "body" text not null, "workflow_id" integer, "decided_by" text, "reason" text, "decided_at" bigint, "created_at" bigint not null, "updated_at" bigint not null);
CREATE TABLE "discussions" ("id" integer primary key autoincrement, "topic" text not null, "author" text not null, "body" text not null, "created_at" bigint not null, "reply_to" integer, "task_id" integer, "author_kind" text default 'agent' not null);
CREATE TABLE "event_log_cursors" ("name" text primary key, "xid" bigint not null, "event_id" bigint not null, "snapshot" text, "updated_at" bigint not null);
CREATE TABLE "events" ("id" integer primary key autoincrement, "kind" text not null, "subject_type" text not null, "subject_id" text not null, "actor" text not null, "data" text not null, "created_at" bigint not null);
CREATE TABLE "forge_poll_cursors" ("repo_id" integer not null references "repositories" ("id") on delete cascade, "stream" text not null, "cursor" text not null, "updated_at" bigint not null, constraint "forge_poll_cursors_pk" primary key ("repo_id", "stream"));
CREATE TABLE "forge_writes" ("id" integer primary key autoincrement, "write_key" text not null unique, "task_id" integer not null references "tasks" ("id") on delete cascade, "repo_id" integer not null references "repositories" ("id") on delete cascade, "kind" text not null, "status" text not null, "request" text not null, "external_id" text, "url" text, "detail" text default '' not null, "created_at" bigint not null, "updated_at" bigint not null, constraint "forge_writes_status_check" check (status in ('planned', 'calling', 'done', 'failed', 'uncertain')));
CREATE TABLE "instructions" ("id" integer primary key autoincrement, "role" text not null, "message" text not null, "created_by" text not null, "delivered_at" bigint, "delivered_to_session_id" integer, "created_at" bigint not null);
CREATE TABLE "memory_notes" ("id" integer primary key autoincrement, "repo_id" integer references "repositories" ("id") on delete cascade, "source" text not null, "text" text not null, "subject" text, "created_by" text not null, "embedding" text, "embedding_model" text, "created_at" bigint not null);
CREATE VIRTUAL TABLE memory_notes_fts using fts5(
        text, content = 'memory_notes', content_rowid = 'id', tokenize = 'porter unicode61');
CREATE TABLE 'memory_notes_fts_config'(k PRIMARY KEY, v) WITHOUT ROWID;
CREATE TABLE 'memory_notes_fts_data'(id INTEGER PRIMARY KEY, block BLOB);
CREATE TABLE 'memory_notes_fts_docsize'(id INTEGER PRIMARY KEY, sz BLOB);
CREATE TABLE 'memory_notes_fts_idx'(segid, term, pgno, PRIMARY KEY(segid, term)) WITHOUT ROWID;
CREATE TABLE "merge_request_notes" ("id" integer primary key autoincrement, "merge_request_id" integer not null, "author" text not null, "kind" text not null, "verdict" text, "body" text not null, "created_at" bigint not null);
CREATE TABLE "merge_requests" ("id" integer primary key autoincrement, "repo_id" integer not null, "workflow_id" integer, "source_branch" text not null, "target_branch" text not null, "title" text not null, "description" text not null, "status" text not null, "head_sha" text, "target_sha" text, "merge_sha" text, "external_id" text, "created_at" bigint not null, "updated_at" bigint not null, "url" text);
CREATE TABLE "notifications" ("id" integer primary key autoincrement, "webhook" text not null, "target" text not null, "dedupe_key" text not null, "event" text not null, "message" text not null, "status" text not null, "attempts" integer default 0 not null, "next_attempt_at" bigint not null, "last_error" text, "created_at" bigint not null, "updated_at" bigint not null, "delivered_at" bigint, constraint "notifications_status_check" check (status in ('pending', 'delivered', 'failed')), constraint "notifications_dedupe_unique" unique ("webhook", "dedupe_key"));
CREATE TABLE "process_logs" ("id" integer primary key autoincrement, "process_id" text not null, "service" text not null, "host" text not null, "pid" integer not null, "role" text, "component" text, "level" integer not null, "message" text not null, "data" text, "created_at" bigint not null);
CREATE TABLE "projects" ("workflow_id" integer primary key, "name" text not null, "title" text not null, "idea" text not null, "problem" text not null, "audience" text not null, "spec_markdown" text not null, "ratings" text not null, "targets" text not null, "estimated_tokens" bigint not null, "status" text not null, "deferred_until" bigint, "proposed_by" text not null, "source_task_id" integer, "repo_id" integer, "story_workflow_id" integer, "product_dir" text, "publications" text default '[]' not null, "created_at" bigint not null, "updated_at" bigint not null, "assessment" text, constraint "projects_status_check" check (status in ('proposed', 'deferred', 'rejected', 'building', 'awaiting_publish', 'publishing', 'published', 'publish_rejected', 'failed')), constraint "projects_name_unique" unique ("name"));
CREATE TABLE "proposal_votes" ("id" integer primary key autoincrement, "proposal_id" integer not null, "voter" text not null, "vote" text not null, "reason" text, "created_at" bigint not null, constraint "proposal_votes_voter_key" unique ("proposal_id", "voter"));
CREATE TABLE "proposals" ("id" integer primary key autoincrement, "title" text not null, "body" text not null, "author" text not null, "votes_for" integer default 0 not null, "votes_against" integer default 0 not null, "status" text not null, "created_at" bigint not null, "updated_at" bigint not null, "repo_id" integer, "source_task_id" integer, "decided_by" text, "decided_at" bigint, "reason" text, "workflow_id" integer, "task_id" integer, "kind" text default 'story' not null);
CREATE TABLE "provider_limits" ("provider" text primary key, "limited_until" bigint not null, "reason" text not null, "updated_at" bigint not null);
CREATE TABLE "repositories" ("id" integer primary key autoincrement, "name" text not null unique, "forge" text not null, "location" text not null, "default_branch" text not null, "test_command" text, "deploy_command" text, "lint_command" text, "settings" text not null, "created_at" bigint not null, "updated_at" bigint not null, "remote_url" text);
CREATE TABLE "schedule_runs" ("id" integer primary key autoincrement, "schedule_name" text not null, "slot_at" bigint not null, "fired_by" text not null, "task_ids" text not null, "created_at" bigint not null, constraint "schedule_runs_slot_key" unique ("schedule_name", "slot_at"));
CREATE TABLE "session_events" ("id" integer primary key autoincrement, "session_id" integer not null, "seq" integer not null, "kind" text not null, "data" text not null, "created_at" bigint not null);
CREATE TABLE "sessions" ("id" integer primary key autoincrement, "task_id" integer, "role" text not null, "agent_instance_id" text, "provider" text not null, "model" text, "provider_session_id" text, "status" text not null, "outcome" text, "tokens_in" bigint default 0 not null, "tokens_out" bigint default 0 not null, "tokens_cache" bigint default 0 not null, "cost_usd" double precision default 0 not null, "started_at" bigint not null, "finished_at" bigint);
CREATE TABLE "task_counts" ("status" text not null, "type" text not null, "n" bigint not null, constraint "task_counts_pkey" primary key ("status", "type")) without rowid;
CREATE TABLE "tasks" ("id" integer primary key autoincrement, "type" text not null, "status" text not null, "priority" integer not null, "payload" text not null, "result" text, "error" text, "attempts" integer default 0 not null, "max_attempts" integer not null, "run_after" bigint not null, "lease_owner" text, "lease_expires_at" bigint, "parent_id" integer, "workflow_id" integer, "repo_id" integer, "created_by" text not null, "created_at" bigint not null, "updated_at" bigint not null, "started_at" bigint, "finished_at" bigint, "dedupe_key" text, constraint "tasks_status_check" check (status in ('pending', 'in_progress', 'completed', 'failed', 'cancelled')), constraint "tasks_priority_check" check (priority between 1 and 10));
CREATE TABLE "webhook_deliveries" ("id" integer primary key autoincrement, "forge" text not null, "delivery_id" text not null, "event" text not null, "action_key" text, "outcome" text not null, "detail" text not null, "workflow_id" integer, "task_id" integer, "received_at" bigint not null, constraint "webhook_deliveries_delivery_key" unique ("forge", "delivery_id"));
CREATE TABLE "workflows" ("id" integer primary key autoincrement, "kind" text not null, "status" text not null, "stage" text not null, "title" text not null, "body" text not null, "repo_id" integer, "fix_rounds" integer default 0 not null, "state" text not null, "created_by" text not null, "created_at" bigint not null, "updated_at" bigint not null, "proposal_id" integer);
CREATE INDEX "agent_processes_heartbeat_idx" on "agent_processes" ("heartbeat_at");
CREATE INDEX "agents_role_idx" on "agents" ("role");
CREATE INDEX "approvals_status_idx" on "approvals" ("status", "id");
CREATE INDEX "approvals_workflow_idx" on "approvals" ("workflow_id");
CREATE INDEX "discussions_reply_to_idx" on "discussions" ("reply_to");
CREATE INDEX "discussions_topic_idx" on "discussions" ("topic", "id");
CREATE INDEX "forge_writes_task_idx" on "forge_writes" ("task_id");
CREATE INDEX "instructions_role_idx" on "instructions" ("role", "delivered_at");
CREATE INDEX "memory_notes_repo_idx" on "memory_notes" ("repo_id", "id");
CREATE INDEX "merge_request_notes_mr_idx" on "merge_request_notes" ("merge_request_id");
CREATE INDEX "merge_requests_repo_idx" on "merge_requests" ("repo_id", "status");
CREATE INDEX "merge_requests_workflow_idx" on "merge_requests" ("workflow_id");
CREATE INDEX "notifications_due_idx" on "notifications" ("status", "next_attempt_at");
CREATE INDEX "process_logs_created_idx" on "process_logs" ("created_at");
CREATE INDEX "process_logs_level_idx" on "process_logs" ("level", "created_at");
CREATE INDEX "process_logs_role_idx" on "process_logs" ("role", "created_at");
CREATE INDEX "projects_status_idx" on "projects" ("status", "deferred_until");
CREATE INDEX "projects_story_idx" on "projects" ("story_workflow_id");
CREATE INDEX "proposals_status_idx" on "proposals" ("status", "id");
CREATE UNIQUE INDEX "session_events_seq_idx" on "session_events" ("session_id", "seq");
CREATE INDEX "sessions_started_idx" on "sessions" ("started_at");
CREATE INDEX "sessions_task_idx" on "sessions" ("task_id");
CREATE UNIQUE INDEX "tasks_dedupe_key_idx" on "tasks" ("dedupe_key");
CREATE INDEX "tasks_finished_idx" on "tasks" ("finished_at");
CREATE INDEX "tasks_lease_idx" on "tasks" ("lease_expires_at") where "status" = 'in_progress';
CREATE INDEX "tasks_open_story_idx" on "tasks" ("id") where "workflow_id" is not null and "status" in ('pending', 'in_progress');
CREATE INDEX "tasks_parent_idx" on "tasks" ("parent_id") where "parent_id" is not null;
CREATE INDEX "tasks_ready_idx" on "tasks" (status, priority desc, run_after, id);
CREATE INDEX "tasks_status_id_idx" on "tasks" ("status", "id");
CREATE INDEX "tasks_type_id_idx" on "tasks" ("type", "id");
CREATE INDEX "tasks_workflow_idx" on "tasks" ("workflow_id") where "workflow_id" is not null;
CREATE UNIQUE INDEX "webhook_deliveries_action_key_idx" on "webhook_deliveries" ("action_key");
CREATE INDEX "workflows_status_idx" on "workflows" ("status", "id");
