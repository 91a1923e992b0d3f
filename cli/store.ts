import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';

import { forwardingStatus } from '../core/forwarding/status';
import { inboxHealth } from '../core/health/health';
import { deleteQuarantined, listQuarantine, releaseQuarantined } from '../core/quarantine/quarantine';
import { erasePerson } from '../core/retention/erase';
import { purgeAll } from '../core/retention/purge';
import { listSpool, redriveFailed } from '../core/spool/spool';
import { defaultEmbeddedPath, openStore, parseStoreArg, type StoreOptions } from '../core/store/open';
import { attempt, settle } from '../core/store/sql';
import { seedStore } from '../core/store/seed';
import { type Agent, type SpoolEntry } from '../core/store/types';
import { InvalidInputError } from '../core/errors';
import type { Store } from '../core/store/roles';

export const STORE_USAGE =
	'hosted-inbox store <agents|teams|contacts|conversations|tickets|intake|inboxes|forwarding|quarantine|spool> list [--status pending|done|failed|quarantined] [--store PATH|postgres://...] [--json]\n' +
	'       hosted-inbox store seed <file.json> [--store PATH|postgres://...]\n' +
	'       hosted-inbox store quarantine <release|delete> <id> [--by NAME] [--store PATH|postgres://...] [--json]\n' +
	'       hosted-inbox store spool redrive <id> [--recheck] [--store PATH|postgres://...] [--json]\n' +
	'       hosted-inbox store health [--store PATH|postgres://...] [--json]\n' +
	'       hosted-inbox store purge [--store PATH|postgres://...] [--json]\n' +
	'       hosted-inbox store contacts erase <email> [--store PATH|postgres://...] [--json]';

const KINDS = ['agents', 'teams', 'contacts', 'conversations', 'tickets', 'intake', 'inboxes', 'forwarding', 'quarantine', 'spool'] as const;
const SPOOL_STATUSES: Array<SpoolEntry['status']> = ['pending', 'done', 'failed', 'quarantined'];
type Kind = (typeof KINDS)[number];

/** Bad options or an unreadable file: exit 2 with one line. */
class UsageError extends Error {}

type Table = { columns: string[]; rows: string[][] };

/** Records as JSON (an array) for scripts, and the columns a person scans for in the table. */
async function listing(store: Store, kind: Kind, status: SpoolEntry['status'] | undefined): Promise<{ records: unknown[]; table: Table }> {
	const agents = await store.listAgents();
	const agentEmail = new Map(agents.map((agent: Agent) => [agent.id, agent.email]));
	const who = (id: string | null) => (id ? (agentEmail.get(id) ?? id) : '-');
	switch (kind) {
		case 'agents':
			return {
				records: agents,
				table: {
					columns: ['email', 'full name', 'availability', 'capacity', 'active'],
					rows: agents.map((a) => [a.email, a.fullName, a.availability, a.capacity === null ? '-' : String(a.capacity), a.active ? 'yes' : 'no']),
				},
			};
		case 'teams': {
			const teams = await store.listTeams();
			return { records: teams, table: { columns: ['name', 'members'], rows: teams.map((t) => [t.name, t.memberIds.map(who).join(', ') || '-']) } };
		}
		case 'inboxes': {
			const inboxes = await store.listInboxes();
			return { records: inboxes, table: { columns: ['address', 'from-name', 'from-address'], rows: inboxes.map((i) => [i.address, i.fromName ?? '-', i.fromAddress ?? '-']) } };
		}
		case 'contacts': {
			const contacts = await store.listContacts();
			const inboxes = new Map((await store.listInboxes()).map((inbox) => [inbox.id, inbox.address]));
			return {
				records: contacts,
				table: { columns: ['email', 'name', 'owner', 'inbox'], rows: contacts.map((c) => [c.email, c.name ?? '-', who(c.ownerId), inboxes.get(c.inboxId) ?? c.inboxId]) },
			};
		}
		case 'conversations': {
			const conversations = await store.listConversations();
			return {
				records: conversations,
				table: {
					columns: ['id', 'status', 'assignee', 'last message', 'subject'],
					rows: conversations.map((c) => [c.id, c.status, who(c.assigneeId), c.lastMessageAt, c.subject]),
				},
			};
		}
		case 'tickets': {
			const tickets = await store.listTickets();
			return {
				records: tickets,
				table: {
					columns: ['id', 'name', 'pipeline', 'stage', 'priority', 'owner', 'closed'],
					rows: tickets.map((t) => [t.id, t.name, t.pipeline, t.stage, t.priority ?? '-', who(t.ownerId), t.closedAt ?? '-']),
				},
			};
		}
		case 'forwarding': {
			// The latest check per inbox, read as of now (a waiting check past its deadline is failed, with causes).
			const statuses = await forwardingStatus(store);
			return {
				records: statuses,
				table: {
					columns: ['inbox', 'public address', 'status', 'checked', 'verified / deadline', 'causes or notes'],
					rows: statuses.map((s) => [
						s.inbox.address,
						s.check?.publicAddress ?? '-',
						s.status,
						s.check?.createdAt ?? '-',
						s.check?.verifiedAt ?? s.check?.deadline ?? '-',
						s.causes.map((c) => c.cause).join(', ') || s.notes.join('; ') || '-',
					]),
				},
			};
		}
		case 'quarantine': {
			const held = await listQuarantine(store);
			return {
				records: held.map(({ id, from, subject, receivedAt, reasons }) => ({ id, from, subject, receivedAt, reasons })),
				table: {
					columns: ['id', 'received', 'from', 'subject', 'reasons'],
					rows: held.map((q) => [q.id, q.receivedAt, q.from ?? '-', q.subject ?? '-', q.reasons.join('; ') || '-']),
				},
			};
		}
		case 'spool': {
			// Without --status: everything not done (waiting, failed, held).
			const entries = await listSpool(store, status ? { statuses: [status] } : {});
			return {
				records: entries,
				table: {
					columns: ['id', 'status', 'received', 'attempts', 'from', 'subject', 'last error'],
					rows: entries.map((e) => [e.id, e.status, e.receivedAt, String(e.attempts), e.from ?? '-', e.subject ?? '-', e.lastError ?? '-']),
				},
			};
		}
		case 'intake': {
			const entries = await store.listIntake({ limit: 1000 });
			return {
				records: entries,
				table: {
					columns: ['at', 'kind', 'client', 'mail from', 'subject', 'reasons'],
					rows: entries.map((e) => {
						const reasons = Array.isArray(e.details.reasons) ? (e.details.reasons as unknown[]).join('; ') : JSON.stringify(e.details);
						return [e.at, e.kind, e.clientIp ?? '-', e.mailFrom ?? '-', e.subject ?? '-', reasons];
					}),
				},
			};
		}
	}
}

export function formatTable({ columns, rows }: Table): string {
	if (rows.length === 0) return '(none)\n';
	const clean = rows.map((row) => row.map((cell) => cell.replace(/\s+/g, ' ')));
	const widths = columns.map((column, i) => Math.min(60, Math.max(column.length, ...clean.map((row) => row[i].length))));
	const line = (cells: string[]) =>
		cells
			.map((cell, i) => (cell.length > widths[i] ? `${cell.slice(0, widths[i] - 1)}…` : cell.padEnd(widths[i])))
			.join('  ')
			.trimEnd();
	return `${[line(columns), line(widths.map((w) => '-'.repeat(w))), ...clean.map(line)].join('\n')}\n`;
}

const age = (seconds: number | null) =>
	seconds === null ? '-' : seconds < 120 ? `${seconds} s` : seconds < 7200 ? `${Math.floor(seconds / 60)} min` : seconds < 172_800 ? `${Math.floor(seconds / 3600)} h` : `${Math.floor(seconds / 86_400)} d`;

async function health(store: Store): Promise<{ records: unknown[]; table: Table }> {
	const inboxes = await inboxHealth(store);
	return {
		records: inboxes,
		table: {
			columns: ['inbox', 'trigger', 'last received', 'backlog', 'oldest waiting', 'failed', 'quarantined', 'last error'],
			rows: inboxes.map((h) => [
				h.inbox.address,
				h.trigger.via ? `${h.trigger.status} (${h.trigger.via})` : h.trigger.status,
				h.lastReceivedAt ? `${age(h.secondsSinceLastReceived)} ago` : '-',
				String(h.backlog.count),
				age(h.backlog.oldestAgeSeconds),
				String(h.failed),
				String(h.quarantined),
				h.lastError ? `${h.lastError.at} ${h.lastError.message}` : '-',
			]),
		},
	};
}

function parseOptions(args: string[]) {
	const parsed = attempt(() =>
		parseArgs({
			args,
			allowPositionals: true,
			strict: true,
			options: {
				store: { type: 'string' },
				json: { type: 'boolean' },
				by: { type: 'string' },
				status: { type: 'string' },
				recheck: { type: 'boolean' },
				help: { type: 'boolean', short: 'h' },
			},
		}),
	);
	if (!parsed.ok) throw new UsageError((parsed.error as Error).message);
	const { values, positionals } = parsed.value;
	const storeArg = values.store;
	const storeOptions = attempt((): StoreOptions => (storeArg === undefined ? { engine: 'sqlite', path: defaultEmbeddedPath(process.env.N8N_USER_FOLDER) } : parseStoreArg(storeArg)));
	if (!storeOptions.ok) throw new UsageError((storeOptions.error as Error).message);
	const status = values.status as SpoolEntry['status'] | undefined;
	if (status !== undefined && !SPOOL_STATUSES.includes(status)) throw new UsageError(`--status must be one of ${SPOOL_STATUSES.join(', ')}, not "${status}"`);
	return { positionals, json: values.json === true, help: values.help === true, by: values.by, status, recheck: values.recheck === true, store: storeOptions.value };
}

async function withStore<T>(options: StoreOptions, fn: (store: Store) => Promise<T>): Promise<T> {
	const store = await openStore(options);
	const outcome = await settle(fn(store));
	await store.close();
	if (!outcome.ok) throw outcome.error;
	return outcome.value;
}

async function run(args: string[]): Promise<number> {
	const { positionals, json, help, by, status, recheck, store } = parseOptions(args);
	const usageLine = (n: number) => STORE_USAGE.split('\n')[n].trim();
	if (help) {
		process.stdout.write(`usage: ${STORE_USAGE}\n`);
		return 0;
	}
	const [what, action, ...rest] = positionals;
	if (what === 'seed') {
		if (!action || rest.length > 0) throw new UsageError(`seed takes one JSON file; usage: ${usageLine(1)}`);
		const read = attempt(() => JSON.parse(readFileSync(action, 'utf8')) as unknown);
		if (!read.ok) throw new UsageError(`cannot read seed file ${action}: ${(read.error as NodeJS.ErrnoException).code ?? (read.error as Error).message}`);
		const counts = await withStore(store, (opened) => seedStore(opened, read.value));
		if (json) process.stdout.write(`${JSON.stringify(counts)}\n`);
		else {
			const parts = Object.entries(counts).map(([kind, c]) => `${kind} ${c.created} created, ${c.updated} updated, ${c.unchanged} unchanged`);
			process.stdout.write(`seeded: ${parts.join('; ')}\n`);
		}
		return 0;
	}
	if (what === 'quarantine' && (action === 'release' || action === 'delete')) {
		if (rest.length !== 1) throw new UsageError(`quarantine ${action} takes one id; usage: ${usageLine(2)}`);
		const [id] = rest;
		const done: object = await withStore(store, async (opened) =>
			action === 'release' ? await releaseQuarantined(opened, id, by?.trim() || `hosted-inbox CLI (${userInfo().username})`) : await deleteQuarantined(opened, id),
		);
		process.stdout.write(json ? `${JSON.stringify(done)}\n` : action === 'release' ? `released ${id}: the trigger of its inbox emits it within seconds\n` : `deleted ${id}\n`);
		return 0;
	}
	if (what === 'purge') {
		if (action !== undefined) throw new UsageError(`purge takes no argument; usage: ${usageLine(5)}`);
		const purged = await withStore(store, (opened) => purgeAll(opened));
		if (json) process.stdout.write(`${JSON.stringify(purged)}\n`);
		else {
			for (const p of purged) {
				const days = (n: number) => (n > 0 ? `${n} d` : 'for ever');
				const kept = `kept: delivered ${days(p.retention.deliveredRawDays)}, quarantine ${days(p.retention.quarantineDays)}, intake log ${days(p.retention.intakeLogDays)}`;
				process.stdout.write(`${p.inbox ?? '(no inbox)'}: purged ${p.delivered} delivered, ${p.quarantined} quarantined, ${p.intakeLog} intake log (${kept})\n`);
			}
		}
		return 0;
	}
	if (what === 'contacts' && action === 'erase') {
		if (rest.length !== 1) throw new UsageError(`contacts erase takes one email address; usage: ${usageLine(6)}`);
		const erased = await withStore(store, (opened) => erasePerson(opened, rest[0]));
		if (json) process.stdout.write(`${JSON.stringify(erased)}\n`);
		else {
			process.stdout.write(
				`erased ${erased.email}: ${erased.contacts} contacts, ${erased.conversations} conversations, ${erased.messages} messages, ${erased.tickets} tickets, ` +
					`${erased.assignments} assignments, ${erased.intakeLog} intake log entries, ${erased.spool} spooled messages; ${erased.redacted} other records had the address removed\n`,
			);
		}
		// Committed, but a copy may remain in the WAL until no other process reads: store trouble, run it again.
		if (!erased.filesClean) {
			process.stderr.write('hosted-inbox store: erased, but another process kept the embedded store\'s WAL open: run the erase again to clear it\n');
			return 1;
		}
		return 0;
	}
	if (what === 'spool' && action === 'redrive') {
		if (rest.length !== 1) throw new UsageError(`spool redrive takes one id; usage: ${usageLine(3)}`);
		const redriven = await withStore(store, async (opened) => await redriveFailed(opened, rest[0], { recheck }));
		process.stdout.write(json ? `${JSON.stringify(redriven)}\n` : `re-driven ${redriven.id}: the trigger of its inbox emits it within seconds\n`);
		return 0;
	}
	if (what === 'health') {
		if (action !== undefined) throw new UsageError(`health takes no arguments; usage: ${usageLine(4)}`);
		const { records, table } = await withStore(store, health);
		process.stdout.write(json ? `${JSON.stringify(records, null, 2)}\n` : formatTable(table));
		return 0;
	}
	if (!KINDS.includes(what as Kind) || action !== 'list' || rest.length > 0) {
		throw new UsageError(`expected "<${KINDS.join('|')}> list", "health" or "seed <file.json>"; usage: ${STORE_USAGE.split('\n')[0]}`);
	}
	if (status !== undefined && what !== 'spool') throw new UsageError('--status applies to "spool list" only');
	const { records, table } = await withStore(store, (opened) => listing(opened, what as Kind, status));
	process.stdout.write(json ? `${JSON.stringify(records, null, 2)}\n` : formatTable(table));
	return 0;
}

/** `hosted-inbox store ...`: exit 0, 2 for bad options or input (one line), 1 when the store fails. */
export async function storeCommand(args: string[]): Promise<number> {
	const outcome = await settle(run(args));
	if (outcome.ok) return outcome.value;
	const error = outcome.error as Error;
	const usage = error instanceof UsageError || error instanceof InvalidInputError;
	process.stderr.write(`hosted-inbox store: ${(error.message ?? String(error)).split('\n')[0]}\n`);
	return usage ? 2 : 1;
}
