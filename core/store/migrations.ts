import type { SqlDriver } from './sql';

/**
 * Versioned schema, applied in order on first use; a version is never edited once released, only followed.
 * One text for both engines: timestamps are ISO-8601 UTC text (sortable, identical in both), JSON is text,
 * booleans are 0/1; `{blob}` is the only engine-specific type.
 */
export const MIGRATIONS: Array<{ version: number; name: string; statements: string[] }> = [
	{
		version: 1,
		name: 'conversations inbox',
		statements: [
			`CREATE TABLE inboxes (
				id TEXT PRIMARY KEY,
				address TEXT NOT NULL,
				address_key TEXT NOT NULL UNIQUE,
				from_name TEXT,
				from_name_key TEXT UNIQUE,
				from_address TEXT,
				created_at TEXT NOT NULL
			)`,
			`CREATE TABLE agents (
				id TEXT PRIMARY KEY,
				email TEXT NOT NULL,
				email_key TEXT NOT NULL UNIQUE,
				first_name TEXT NOT NULL,
				full_name TEXT NOT NULL,
				availability TEXT NOT NULL CHECK (availability IN ('available', 'away')),
				working_hours TEXT,
				capacity INTEGER,
				active INTEGER NOT NULL,
				created_at TEXT NOT NULL,
				updated_at TEXT NOT NULL
			)`,
			`CREATE TABLE inbox_agents (
				inbox_id TEXT NOT NULL REFERENCES inboxes (id),
				agent_id TEXT NOT NULL REFERENCES agents (id),
				PRIMARY KEY (inbox_id, agent_id)
			)`,
			`CREATE TABLE teams (
				id TEXT PRIMARY KEY,
				name TEXT NOT NULL,
				name_key TEXT NOT NULL UNIQUE,
				created_at TEXT NOT NULL
			)`,
			`CREATE TABLE team_members (
				team_id TEXT NOT NULL REFERENCES teams (id),
				agent_id TEXT NOT NULL REFERENCES agents (id),
				PRIMARY KEY (team_id, agent_id)
			)`,
			`CREATE TABLE contacts (
				id TEXT PRIMARY KEY,
				inbox_id TEXT NOT NULL REFERENCES inboxes (id),
				email TEXT NOT NULL,
				email_key TEXT NOT NULL,
				name TEXT,
				owner_id TEXT REFERENCES agents (id),
				created_at TEXT NOT NULL,
				updated_at TEXT NOT NULL,
				UNIQUE (inbox_id, email_key)
			)`,
			`CREATE TABLE conversations (
				id TEXT PRIMARY KEY,
				inbox_id TEXT NOT NULL REFERENCES inboxes (id),
				contact_id TEXT NOT NULL REFERENCES contacts (id),
				status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
				assignee_id TEXT REFERENCES agents (id),
				team_id TEXT REFERENCES teams (id),
				subject TEXT NOT NULL,
				created_at TEXT NOT NULL,
				last_message_at TEXT NOT NULL
			)`,
			'CREATE INDEX conversations_assignee ON conversations (assignee_id, status)',
			'CREATE INDEX conversations_inbox ON conversations (inbox_id, last_message_at)',
			`CREATE TABLE messages (
				id TEXT PRIMARY KEY,
				inbox_id TEXT NOT NULL REFERENCES inboxes (id),
				conversation_id TEXT NOT NULL REFERENCES conversations (id),
				direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
				message_id TEXT NOT NULL,
				in_reply_to TEXT NOT NULL,
				refs TEXT NOT NULL,
				from_address TEXT NOT NULL,
				to_addresses TEXT NOT NULL,
				cc_addresses TEXT NOT NULL,
				subject TEXT NOT NULL,
				text_body TEXT NOT NULL,
				html_body TEXT,
				size INTEGER NOT NULL,
				received_at TEXT NOT NULL,
				auth_summary TEXT,
				original_sender_method TEXT,
				sender_agent_id TEXT REFERENCES agents (id),
				created_at TEXT NOT NULL,
				UNIQUE (inbox_id, message_id)
			)`,
			'CREATE INDEX messages_conversation ON messages (conversation_id, received_at)',
			`CREATE TABLE tickets (
				id TEXT PRIMARY KEY,
				conversation_id TEXT NOT NULL UNIQUE REFERENCES conversations (id),
				name TEXT NOT NULL,
				pipeline TEXT NOT NULL,
				stage TEXT NOT NULL,
				priority TEXT,
				owner_id TEXT REFERENCES agents (id),
				properties TEXT NOT NULL,
				created_at TEXT NOT NULL,
				closed_at TEXT
			)`,
			`CREATE TABLE assignment_log (
				id TEXT PRIMARY KEY,
				conversation_id TEXT NOT NULL REFERENCES conversations (id),
				assignee_id TEXT REFERENCES agents (id),
				team_id TEXT REFERENCES teams (id),
				rule TEXT NOT NULL,
				reason TEXT NOT NULL,
				at TEXT NOT NULL
			)`,
			'CREATE INDEX assignment_log_conversation ON assignment_log (conversation_id, at)',
			`CREATE TABLE intake_log (
				id TEXT PRIMARY KEY,
				inbox_id TEXT REFERENCES inboxes (id),
				kind TEXT NOT NULL,
				at TEXT NOT NULL,
				client_ip TEXT,
				helo TEXT,
				mail_from TEXT,
				rcpt TEXT NOT NULL,
				message_id TEXT,
				from_address TEXT,
				subject TEXT,
				details TEXT NOT NULL
			)`,
			'CREATE INDEX intake_log_at ON intake_log (at)',
			'CREATE TABLE round_robin (pool_key TEXT PRIMARY KEY, counter INTEGER NOT NULL)',
			`CREATE TABLE spool (
				id TEXT PRIMARY KEY,
				inbox_id TEXT NOT NULL,
				raw {blob} NOT NULL,
				envelope TEXT NOT NULL,
				received_at TEXT NOT NULL,
				attempts INTEGER NOT NULL,
				next_attempt_at TEXT NOT NULL,
				last_error TEXT,
				status TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed'))
			)`,
			'CREATE INDEX spool_due ON spool (inbox_id, status, next_attempt_at)',
			'CREATE TABLE mailbox_checkpoints (mailbox_key TEXT PRIMARY KEY, uid_validity TEXT NOT NULL)',
			`CREATE TABLE mailbox_done_uids (
				mailbox_key TEXT NOT NULL REFERENCES mailbox_checkpoints (mailbox_key),
				uid INTEGER NOT NULL,
				PRIMARY KEY (mailbox_key, uid)
			)`,
			`CREATE TABLE forwarding_checks (
				id TEXT PRIMARY KEY,
				inbox_id TEXT NOT NULL REFERENCES inboxes (id),
				public_address TEXT NOT NULL,
				token TEXT NOT NULL UNIQUE,
				status TEXT NOT NULL CHECK (status IN ('waiting', 'verified', 'failed')),
				created_at TEXT NOT NULL,
				deadline TEXT NOT NULL,
				verified_at TEXT,
				evidence TEXT
			)`,
			'CREATE INDEX forwarding_checks_inbox ON forwarding_checks (inbox_id, created_at)',
			`CREATE TABLE sending_domains (
				domain TEXT PRIMARY KEY,
				selector TEXT NOT NULL,
				public_key TEXT NOT NULL,
				verified INTEGER NOT NULL,
				verified_at TEXT,
				last_check TEXT
			)`,
		],
	},
	{
		version: 2,
		name: 'message identity: Message-ID, sender and content hash',
		// A message is the same message (a replay) only when its Message-ID, its sender and its content all match: a
		// stranger reusing a known Message-ID must be recorded, not dropped. The UNIQUE (inbox_id, message_id) of
		// version 1 is a table constraint SQLite cannot drop, so the table is copied into the new shape in this
		// transaction (nothing references messages). Rows from before have no content hash (NULL): their
		// Message-ID and sender decide, as they did then.
		statements: [
			`CREATE TABLE messages_v2 (
				id TEXT PRIMARY KEY,
				inbox_id TEXT NOT NULL REFERENCES inboxes (id),
				conversation_id TEXT NOT NULL REFERENCES conversations (id),
				direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
				message_id TEXT NOT NULL,
				sender_key TEXT NOT NULL,
				content_hash TEXT,
				in_reply_to TEXT NOT NULL,
				refs TEXT NOT NULL,
				thread_refused TEXT,
				from_address TEXT NOT NULL,
				to_addresses TEXT NOT NULL,
				cc_addresses TEXT NOT NULL,
				subject TEXT NOT NULL,
				text_body TEXT NOT NULL,
				html_body TEXT,
				size INTEGER NOT NULL,
				received_at TEXT NOT NULL,
				auth_summary TEXT,
				original_sender_method TEXT,
				sender_agent_id TEXT REFERENCES agents (id),
				created_at TEXT NOT NULL,
				UNIQUE (inbox_id, message_id, sender_key, content_hash)
			)`,
			`INSERT INTO messages_v2 (id, inbox_id, conversation_id, direction, message_id, sender_key, content_hash, in_reply_to, refs, thread_refused,
				from_address, to_addresses, cc_addresses, subject, text_body, html_body, size, received_at, auth_summary, original_sender_method, sender_agent_id, created_at)
			SELECT id, inbox_id, conversation_id, direction, message_id, LOWER(TRIM(from_address)), NULL, in_reply_to, refs, NULL,
				from_address, to_addresses, cc_addresses, subject, text_body, html_body, size, received_at, auth_summary, original_sender_method, sender_agent_id, created_at
			FROM messages`,
			'DROP TABLE messages',
			'ALTER TABLE messages_v2 RENAME TO messages',
			'CREATE INDEX messages_conversation ON messages (conversation_id, received_at)',
		],
	},
	{
		version: 3,
		name: 'spool: the decision kept with the bytes, quarantine held in the spool',
		// The status CHECK is a column constraint SQLite cannot alter: the table is copied into the new shape.
		statements: [
			`CREATE TABLE spool_v3 (
				id TEXT PRIMARY KEY,
				inbox_id TEXT NOT NULL,
				raw {blob} NOT NULL,
				envelope TEXT NOT NULL,
				received_at TEXT NOT NULL,
				decision TEXT,
				attempts INTEGER NOT NULL,
				next_attempt_at TEXT NOT NULL,
				last_error TEXT,
				status TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed', 'quarantined')),
				released_by TEXT,
				released_at TEXT
			)`,
			`INSERT INTO spool_v3 (id, inbox_id, raw, envelope, received_at, decision, attempts, next_attempt_at, last_error, status)
			SELECT id, inbox_id, raw, envelope, received_at, NULL, attempts, next_attempt_at, last_error, status FROM spool`,
			'DROP TABLE spool',
			'ALTER TABLE spool_v3 RENAME TO spool',
			'CREATE INDEX spool_due ON spool (inbox_id, status, next_attempt_at)',
		],
	},
	{
		version: 4,
		name: 'inboxes: retention settings',
		// Kept with the inbox (JSON; NULL = the defaults) so `hosted-inbox store purge` applies what the trigger was set to.
		statements: ['ALTER TABLE inboxes ADD COLUMN retention TEXT'],
	},
	{
		version: 5,
		name: 'inbox health: trigger heartbeats, and the last message received per inbox found by index',
		statements: [
			`CREATE TABLE trigger_heartbeats (
				inbox_id TEXT PRIMARY KEY REFERENCES inboxes (id),
				via TEXT NOT NULL CHECK (via IN ('smtp', 'imap')),
				state TEXT NOT NULL CHECK (state IN ('running', 'stopped')),
				interval_ms INTEGER NOT NULL,
				started_at TEXT NOT NULL,
				beat_at TEXT NOT NULL,
				stopped_at TEXT,
				last_error TEXT,
				last_error_at TEXT
			)`,
			'CREATE INDEX spool_inbox_received ON spool (inbox_id, received_at)',
			'CREATE INDEX intake_log_inbox ON intake_log (inbox_id, at)',
			'CREATE INDEX messages_inbox_received ON messages (inbox_id, direction, received_at)',
		],
	},
	{
		version: 6,
		name: 'IMAP ledger: a low-water mark under the done UIDs, attempts kept per message',
		// Every UID at or below done_through is done; mailbox_done_uids keeps only the done UIDs above it. The failed
		// attempts of a message survive a restart, so a message is given up after maxAttempts in all, not per process.
		statements: [
			'ALTER TABLE mailbox_checkpoints ADD COLUMN done_through INTEGER NOT NULL DEFAULT 0',
			`CREATE TABLE mailbox_attempts (
				mailbox_key TEXT NOT NULL REFERENCES mailbox_checkpoints (mailbox_key),
				uid_validity TEXT NOT NULL,
				uid INTEGER NOT NULL,
				attempts INTEGER NOT NULL,
				PRIMARY KEY (mailbox_key, uid_validity, uid)
			)`,
		],
	},
	{
		version: 7,
		name: 'the HTTP door: its trigger heartbeats, and the replay cache of signed requests',
		// The heartbeat's CHECK names the doors: rebuilt (SQLite cannot alter a CHECK). A signed request's token (a
		// provider's, or our HMAC's) is kept until its signature would be stale anyway, shared by every webhook process.
		statements: [
			`CREATE TABLE trigger_heartbeats_v7 (
				inbox_id TEXT PRIMARY KEY REFERENCES inboxes (id),
				via TEXT NOT NULL CHECK (via IN ('smtp', 'imap', 'http')),
				state TEXT NOT NULL CHECK (state IN ('running', 'stopped')),
				interval_ms INTEGER NOT NULL,
				started_at TEXT NOT NULL,
				beat_at TEXT NOT NULL,
				stopped_at TEXT,
				last_error TEXT,
				last_error_at TEXT
			)`,
			'INSERT INTO trigger_heartbeats_v7 SELECT inbox_id, via, state, interval_ms, started_at, beat_at, stopped_at, last_error, last_error_at FROM trigger_heartbeats',
			'DROP TABLE trigger_heartbeats',
			'ALTER TABLE trigger_heartbeats_v7 RENAME TO trigger_heartbeats',
			`CREATE TABLE http_replays (
				inbox_id TEXT NOT NULL REFERENCES inboxes (id),
				token TEXT NOT NULL,
				expires_at TEXT NOT NULL,
				PRIMARY KEY (inbox_id, token)
			)`,
			'CREATE INDEX http_replays_expiry ON http_replays (expires_at)',
		],
	},
	{
		version: 8,
		name: 'spool: a message kept in chunks, streamed in and out',
		// A 30 MB message is never one value in memory (nor a 60 MB hex parameter): spool_chunks holds it in pieces
		// (SPOOL_CHUNK_BYTES each; an older entry moves here as one chunk of any size). Its chunks go with the entry
		// (foreign keys are on in both engines). DROP COLUMN (SQLite >= 3.35) rewrites the spool once, here.
		statements: [
			`CREATE TABLE spool_chunks (
				spool_id TEXT NOT NULL REFERENCES spool (id) ON DELETE CASCADE,
				seq INTEGER NOT NULL,
				bytes {blob} NOT NULL,
				PRIMARY KEY (spool_id, seq)
			)`,
			'INSERT INTO spool_chunks (spool_id, seq, bytes) SELECT id, 0, raw FROM spool WHERE LENGTH(raw) > 0',
			'ALTER TABLE spool ADD COLUMN size INTEGER NOT NULL DEFAULT 0',
			'UPDATE spool SET size = LENGTH(raw)',
			'ALTER TABLE spool DROP COLUMN raw',
		],
	},
	{
		version: 9,
		name: 'messages: found by Message-ID, earliest first',
		// Threading reads the first few messages with each id a message names (a reused id can be held thousands of times).
		statements: ['CREATE INDEX messages_named ON messages (inbox_id, message_id, created_at, id)'],
	},
	{
		version: 10,
		name: 'spool: when the inbox took each message in, which retention counts from',
		// received_at is when the message arrived where it came from (a mailbox's INTERNALDATE, however old, for mail
		// taken in over IMAP): a message held today must not expire at once. Entries from before keep their receipt.
		statements: ['ALTER TABLE spool ADD COLUMN spooled_at TEXT', 'UPDATE spool SET spooled_at = received_at'],
	},
];

const ENGINE_TYPES: Record<SqlDriver['engine'], Record<string, string>> = {
	sqlite: { blob: 'BLOB' },
	postgres: { blob: 'BYTEA' },
};

/**
 * Applies the missing versions in one transaction under the engine's write lock (PostgreSQL: an advisory lock
 * keyed by schema; SQLite: BEGIN IMMEDIATE), so two processes starting at once apply each version exactly once.
 */
export async function migrate(driver: SqlDriver, prepare?: string[]): Promise<number[]> {
	return driver.transaction(async (tx) => {
		for (const statement of prepare ?? []) await tx.run(statement);
		await tx.run('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
		const applied = new Set((await tx.all('SELECT version FROM schema_migrations')).map((row) => Number(row.version)));
		const done: number[] = [];
		for (const migration of MIGRATIONS) {
			if (applied.has(migration.version)) continue;
			for (const statement of migration.statements) {
				await tx.run(statement.replace(/\{(\w+)\}/g, (_, type: string) => ENGINE_TYPES[driver.engine][type]));
			}
			await tx.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
				migration.version,
				migration.name,
				new Date().toISOString(),
			]);
			done.push(migration.version);
		}
		return done;
	});
}
