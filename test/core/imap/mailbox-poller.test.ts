/**
 * The IMAP poller against a real Dovecot (no mocked IMAP): initial sync, acknowledgement only after success,
 * checkpoint across restarts, after-processing actions, retries then flagging, the size limit, polling without IDLE.
 */
import { ImapFlow } from 'imapflow';

import { FAILED_KEYWORD, MailboxConfigError, MailboxPoller, TOO_LARGE_KEYWORD, type MailboxMessage, type MailboxPollerOptions, type PollerEvent } from '../../../core/imap/mailbox-poller';
import type { Store } from '../../../core/store/roles';
import { CuttableProxy, Dovecot, describeWithDovecot } from '../../support/dovecot';
import { freshStore, storeEngines } from '../../support/stores';
import { MailboxObserver, eventually, testMessage } from './support';

const engine = storeEngines().find((e) => e.available)?.name;

describeWithDovecot('MailboxPoller against Dovecot', () => {
	let dovecot: Dovecot;
	let observer: MailboxObserver;
	let store: Store;
	let cleanupStore: () => Promise<void>;
	const running: MailboxPoller[] = [];

	beforeAll(async () => {
		if (!engine) throw new Error('no store engine available (see test/support/stores.ts)');
		dovecot = await Dovecot.start();
		observer = new MailboxObserver(dovecot);
		const handle = await freshStore(engine);
		store = handle.store;
		cleanupStore = handle.cleanup;
	});
	afterEach(async () => {
		await Promise.all(running.splice(0).map((p) => p.stop()));
	});
	afterAll(async () => {
		await observer?.close();
		await cleanupStore?.();
		await dovecot?.destroy();
	});

	async function folder(name: string): Promise<string> {
		const c = dovecot.credentials;
		const client = new ImapFlow({ host: c.host, port: c.port, secure: false, auth: { user: c.user, pass: c.password }, logger: false });
		await client.connect();
		await client.mailboxCreate(name);
		await client.logout();
		return name;
	}

	interface Run {
		poller: MailboxPoller;
		processed: MailboxMessage[];
		/** The sizes of the messages of each processing call. */
		batches: number[][];
		events: PollerEvent[];
		/** Flags of each message as another client saw them while it was being processed. */
		flagsDuringProcessing: Map<string, Set<string>>;
	}

	function poller(mailbox: string, options: Partial<MailboxPollerOptions> = {}, fail?: (m: MailboxMessage) => boolean): Run {
		const run: Run = { poller: null as unknown as MailboxPoller, processed: [], batches: [], events: [], flagsDuringProcessing: new Map() };
		run.poller = new MailboxPoller({
			connection: { ...dovecot.credentials, ...options.connection },
			mailbox,
			store,
			maxMessageBytes: 1024 * 1024,
			retry: { maxAttempts: 3, baseDelayMs: 50, maxDelayMs: 200 },
			reconnect: { baseDelayMs: 100, maxDelayMs: 500 },
			onEvent: (event) => run.events.push(event),
			async process(messages) {
				const flags = await observer.flagsByMessageId(mailbox);
				for (const message of messages) run.flagsDuringProcessing.set(message.messageId ?? '', flags.get(message.messageId ?? '') ?? new Set());
				run.batches.push(messages.map((m) => m.size));
				if (fail && messages.some(fail)) throw new Error('workflow failed');
				run.processed.push(...messages);
			},
			...options,
		});
		running.push(run.poller);
		return run;
	}

	const ids = (messages: MailboxMessage[]) => messages.map((m) => m.messageId).sort();

	it('takes in only new mail by default, and marks it read only after processing succeeded', async () => {
		const box = await folder('New');
		for (let n = 0; n < 3; n++) dovecot.deliver(testMessage(n, { tag: 'old' }).raw, box);
		const run = poller(box);
		await run.poller.start();
		expect(run.events[0]).toMatchObject({ type: 'connected', idle: true });
		const fresh = [0, 1, 2, 3, 4].map((n) => testMessage(n, { tag: 'new' }));
		for (const m of fresh) dovecot.deliver(m.raw, box);
		await eventually(() => run.processed.length >= 5, 10_000, '5 new messages');
		expect(ids(run.processed)).toEqual(fresh.map((m) => m.messageId).sort());
		for (const m of fresh) expect(run.flagsDuringProcessing.get(m.messageId)?.has('\\Seen')).toBe(false);
		await eventually(
			async () => [...(await observer.flagsByMessageId(box))].filter(([, f]) => f.has('\\Seen')).length === 5,
			5000,
			'5 messages marked read',
		);
		const flags = await observer.flagsByMessageId(box);
		for (let n = 0; n < 3; n++) expect(flags.get(testMessage(n, { tag: 'old' }).messageId)?.has('\\Seen')).toBe(false);
		expect(run.processed.every((m) => m.attempt === 1 && m.raw.toString().includes('Subject: Question new'))).toBe(true);
	});

	it('keeps its place across a restart: nothing again, nothing skipped (mail delivered while stopped included)', async () => {
		const box = await folder('Restart');
		const first = poller(box);
		await first.poller.start();
		dovecot.deliver(testMessage(1, { tag: 'r' }).raw, box);
		await eventually(() => first.processed.length === 1, 10_000, 'first message');
		await first.poller.stop();
		dovecot.deliver(testMessage(2, { tag: 'r' }).raw, box);
		dovecot.deliver(testMessage(3, { tag: 'r' }).raw, box);
		const second = poller(box);
		await second.poller.start();
		await eventually(() => second.processed.length === 2, 10_000, 'the two delivered while stopped');
		await new Promise((r) => setTimeout(r, 500));
		expect(ids(second.processed)).toEqual([testMessage(2, { tag: 'r' }).messageId, testMessage(3, { tag: 'r' }).messageId]);
		const checkpoint = await store.getMailboxCheckpoint(second.poller.mailboxKey);
		expect(checkpoint).toMatchObject({ doneThrough: 3, doneUids: [] });
	});

	it('keeps the done-UID ledger small after many messages (the mailbox\'s gaps before the first start included)', async () => {
		const box = await folder('Ledger');
		for (let n = 1; n <= 4; n++) dovecot.deliver(testMessage(n, { tag: 'lold' }).raw, box);
		const c = dovecot.credentials;
		const other = new ImapFlow({ host: c.host, port: c.port, secure: false, auth: { user: c.user, pass: c.password }, logger: false });
		await other.connect();
		await other.mailboxOpen(box);
		await other.messageDelete('2', { uid: true });
		await other.logout();
		// Parallel batches finish out of order: the ledger folds the run as it closes.
		const run = poller(box, { batchSize: 4, maxInFlight: 3 });
		await run.poller.start();
		const fresh = Array.from({ length: 60 }, (_, i) => testMessage(i + 1, { tag: 'ledger' }));
		for (const m of fresh) dovecot.deliver(m.raw, box);
		await eventually(() => run.processed.length >= 60, 30_000, '60 messages', () => `${run.processed.length}`);
		expect(ids(run.processed)).toEqual(fresh.map((m) => m.messageId).sort());
		await eventually(
			async () => (await store.getMailboxCheckpoint(run.poller.mailboxKey))?.doneThrough === 64,
			5000,
			'every UID done through 64',
			() => 'see the checkpoint',
		);
		expect(await store.getMailboxCheckpoint(run.poller.mailboxKey)).toMatchObject({ doneThrough: 64, doneUids: [], attempts: [] });
	});

	it('bounds each batch by bytes as well as by count: the batch holds its messages until its run ends', async () => {
		const box = await folder('ByBytes');
		// Six of about 100 KB and one of 300 KB (over the bound: it goes alone), all there at the first look.
		const fresh = [1, 2, 3, 4, 5, 6].map((n) => testMessage(n, { tag: 'bytes', size: 100 * 1024 }));
		fresh.push(testMessage(7, { tag: 'bytes', size: 300 * 1024 }));
		for (const m of fresh) dovecot.deliver(m.raw, box);
		await eventually(async () => (await observer.flagsByMessageId(box)).size === 7, 10_000, 'all seven in the mailbox before the first look');
		const run = poller(box, { batchSize: 50, batchBytes: 250 * 1024, maxInFlight: 1, initialSync: { mode: 'unread' } });
		await run.poller.start();
		await eventually(() => run.processed.length >= 7, 20_000, '7 messages', () => `${run.processed.length}`);
		expect(ids(run.processed)).toEqual(fresh.map((m) => m.messageId).sort());
		for (const sizes of run.batches) expect(sizes.length === 1 || sizes.reduce((a, b) => a + b, 0) <= 250 * 1024).toBe(true);
		// Two of 100 KB fit the bound together, three do not; the count alone (50) would have taken all seven at once.
		// (The server numbers them in whatever order its deliveries finish: where the large one falls varies.)
		expect(Math.max(...run.batches.map((sizes) => sizes.length))).toBe(2);
		expect(run.batches.filter((sizes) => sizes.some((size) => size > 250 * 1024))).toEqual([[expect.any(Number)]]);
	});

	it('keeps its place across a restart that finds an empty mailbox first', async () => {
		const box = await folder('EmptyFirst');
		const first = poller(box);
		await first.poller.start();
		await first.poller.stop();
		dovecot.deliver(testMessage(1, { tag: 'e' }).raw, box);
		const second = poller(box);
		await second.poller.start();
		await eventually(() => second.processed.length === 1, 10_000, 'the message delivered while stopped');
	});

	it('initial sync "unread" takes the unread mail already there', async () => {
		const box = await folder('Unread');
		await observer.append(testMessage(1, { tag: 'u' }).raw, box, ['\\Seen']);
		await observer.append(testMessage(2, { tag: 'u' }).raw, box);
		await observer.append(testMessage(3, { tag: 'u' }).raw, box);
		const run = poller(box, { initialSync: { mode: 'unread' } });
		await run.poller.start();
		await eventually(() => run.processed.length === 2, 10_000, 'the unread two');
		expect(ids(run.processed)).toEqual([testMessage(2, { tag: 'u' }).messageId, testMessage(3, { tag: 'u' }).messageId]);
	});

	it('initial sync "since" takes the mail received since that day', async () => {
		const box = await folder('Since');
		const c = dovecot.credentials;
		const client = new ImapFlow({ host: c.host, port: c.port, secure: false, auth: { user: c.user, pass: c.password }, logger: false });
		await client.connect();
		await client.append(box, testMessage(1, { tag: 's' }).raw, [], new Date('2025-03-01T12:00:00Z'));
		await client.append(box, testMessage(2, { tag: 's' }).raw, ['\\Seen'], new Date('2026-02-01T12:00:00Z'));
		await client.append(box, testMessage(3, { tag: 's' }).raw, [], new Date());
		await client.logout();
		const run = poller(box, { initialSync: { mode: 'since', since: new Date('2026-01-15T00:00:00Z') } });
		await run.poller.start();
		await eventually(() => run.processed.length === 2, 10_000, 'the two since the date');
		expect(ids(run.processed)).toEqual([testMessage(2, { tag: 's' }).messageId, testMessage(3, { tag: 's' }).messageId]);
	});

	it('moves processed mail to a folder (created when missing)', async () => {
		const box = await folder('ToMove');
		const run = poller(box, { afterProcessing: { action: 'move', folder: 'Handled' } });
		await run.poller.start();
		for (let n = 0; n < 3; n++) dovecot.deliver(testMessage(n, { tag: 'mv' }).raw, box);
		await eventually(async () => (await observer.flagsByMessageId('Handled')).size === 3, 10_000, '3 messages in Handled');
		// A move is copy then expunge: the source empties just after the copies appear.
		await eventually(async () => (await observer.flagsByMessageId(box)).size === 0, 10_000, 'the mailbox emptied');
		expect(run.processed).toHaveLength(3);
		for (const [, flags] of run.flagsDuringProcessing) expect(flags.size).toBe(0);
	});

	it('deletes processed mail when asked', async () => {
		const box = await folder('ToDelete');
		const run = poller(box, { afterProcessing: { action: 'delete' } });
		await run.poller.start();
		for (let n = 0; n < 3; n++) dovecot.deliver(testMessage(n, { tag: 'del' }).raw, box);
		await eventually(() => run.processed.length === 3, 10_000, '3 processed');
		await eventually(async () => (await observer.flagsByMessageId(box)).size === 0, 5000, 'mailbox empty');
	});

	it('leaves a failing message untouched, retries it with backoff, then flags and reports it', async () => {
		const box = await folder('Failing');
		const bad = testMessage(2, { tag: 'f' });
		const attempts: number[] = [];
		const run = poller(box, {}, (m) => {
			if (m.messageId !== bad.messageId) return false;
			attempts.push(Date.now());
			return true;
		});
		await run.poller.start();
		for (let n = 1; n <= 3; n++) dovecot.deliver(testMessage(n, { tag: 'f' }).raw, box);
		await eventually(() => run.events.some((e) => e.type === 'given-up'), 10_000, 'the failing message given up');
		expect(attempts).toHaveLength(3);
		// Backoff: each wait at least the announced delay, and the delays grow.
		const delays = run.events.flatMap((e) => (e.type === 'retry' && e.messageId === bad.messageId ? [e.retryInMs] : []));
		expect(delays[1]).toBeGreaterThan(delays[0]);
		for (let i = 0; i < 2; i++) expect(attempts[i + 1] - attempts[i]).toBeGreaterThanOrEqual(delays[i] - 5);
		// A batch holding the bad one fails as a whole; its companions then succeed alone (checked below).
		expect(run.events.filter((e) => e.type === 'retry' && e.messageId === bad.messageId)).toHaveLength(2);
		expect(run.events.find((e) => e.type === 'given-up')).toMatchObject({ messageId: bad.messageId, attempts: 3 });
		await eventually(async () => (await observer.flagsByMessageId(box)).get(bad.messageId)?.has(FAILED_KEYWORD) === true, 5000, 'failed keyword');
		const flags = await observer.flagsByMessageId(box);
		expect(flags.get(bad.messageId)?.has('\\Seen')).toBe(false);
		expect(flags.get(testMessage(1, { tag: 'f' }).messageId)?.has('\\Seen')).toBe(true);
		expect(flags.get(testMessage(3, { tag: 'f' }).messageId)?.has('\\Seen')).toBe(true);
		// The good two then succeeded alone, once each.
		expect(ids(run.processed)).toEqual([testMessage(1, { tag: 'f' }).messageId, testMessage(3, { tag: 'f' }).messageId]);
	});

	it('counts a message whose processing settled it as done even when its batch failed: never handed over again', async () => {
		const box = await folder('Settled');
		const held = testMessage(1, { tag: 'settled' });
		const accepted = testMessage(2, { tag: 'settled' });
		dovecot.deliver(held.raw, box);
		dovecot.deliver(accepted.raw, box);
		await eventually(async () => (await observer.flagsByMessageId(box)).size === 2, 10_000, 'both in the mailbox before the first look');
		const handedOver: MailboxMessage[] = [];
		const run = poller(box, {
			initialSync: { mode: 'unread' },
			// The first call settles the held one (set aside), then its execution fails.
			async process(messages, settled) {
				handedOver.push(...messages);
				for (const message of messages) if (message.messageId === held.messageId) settled(message);
				if (handedOver.length === messages.length) throw new Error('workflow failed');
			},
		});
		await run.poller.start();
		await eventually(async () => [...(await observer.flagsByMessageId(box)).values()].every((f) => f.has('\\Seen')), 10_000, 'both marked read');
		// (The server numbers them in whatever order its deliveries finish.)
		const attempts = (id: string) => handedOver.filter((m) => m.messageId === id).map((m) => m.attempt);
		expect({ held: attempts(held.messageId), accepted: attempts(accepted.messageId) }).toEqual({ held: [1], accepted: [1, 2] });
		expect(run.events.filter((e) => e.type === 'retry').map((e) => (e as { messageId: string }).messageId)).toEqual([accepted.messageId]);
	});

	it('gives a failing message up after maxAttempts in all, across restarts (not maxAttempts per process)', async () => {
		const box = await folder('FailingAcrossRestarts');
		const bad = testMessage(1, { tag: 'fr' });
		const good = testMessage(2, { tag: 'fr' });
		dovecot.deliver(bad.raw, box);
		dovecot.deliver(good.raw, box);
		const attempts: number[][] = [];
		// A long backoff: each process makes one attempt, then is restarted before its retry is due.
		const runProcess = async (n: number) => {
			const seen: number[] = [];
			attempts.push(seen);
			const run = poller(box, { initialSync: { mode: 'unread' }, retry: { maxAttempts: 3, baseDelayMs: 60_000, maxDelayMs: 60_000 } }, (m) => {
				if (m.messageId !== bad.messageId) return false;
				seen.push(m.attempt);
				return true;
			});
			await run.poller.start();
			await eventually(() => run.events.some((e) => (e.type === 'retry' || e.type === 'given-up') && e.messageId === bad.messageId), 10_000, `attempt in process ${n}`);
			return run;
		};
		for (const n of [1, 2]) {
			const run = await runProcess(n);
			await eventually(async () => (await store.getMailboxCheckpoint(run.poller.mailboxKey))?.attempts[0]?.attempts === n, 5000, `attempt ${n} stored`);
			await run.poller.stop();
		}
		const third = await runProcess(3);
		expect(attempts).toEqual([[1], [2], [3]]);
		expect(third.events.find((e) => e.type === 'given-up')).toMatchObject({ messageId: bad.messageId, attempts: 3 });
		await eventually(async () => (await observer.flagsByMessageId(box)).get(bad.messageId)?.has(FAILED_KEYWORD) === true, 5000, 'failed keyword');
		// Flagged, its count is forgotten: removing the keyword asks for a fresh set of attempts.
		await eventually(async () => (await store.getMailboxCheckpoint(third.poller.mailboxKey))?.attempts.length === 0, 5000, 'attempts cleared once flagged');
		await third.poller.stop();
		// A fourth start neither tries nor flags it again; the good one (failed with it in one batch at first) went through.
		const fourth = poller(box, {}, (m) => m.messageId === bad.messageId);
		await fourth.poller.start();
		await new Promise((r) => setTimeout(r, 500));
		expect(fourth.events.filter((e) => e.type === 'retry' || e.type === 'given-up')).toEqual([]);
		expect((await observer.flagsByMessageId(box)).get(good.messageId)?.has('\\Seen')).toBe(true);
	});

	it('flags at the next start a message given up just before a crash (its count was kept, its flag not yet set)', async () => {
		const box = await folder('GivenUpBeforeCrash');
		const bad = testMessage(1, { tag: 'gc' });
		const first = poller(box);
		await first.poller.start();
		await first.poller.stop();
		dovecot.deliver(bad.raw, box);
		// As a process that counted the last attempt, then died before setting the keyword.
		await store.setMailboxAttempts(first.poller.mailboxKey, (await store.getMailboxCheckpoint(first.poller.mailboxKey))!.uidValidity, 1, 3);
		const tried: MailboxMessage[] = [];
		const second = poller(box, {}, (m) => tried.push(m) > 0);
		await second.poller.start();
		await eventually(async () => (await observer.flagsByMessageId(box)).get(bad.messageId)?.has(FAILED_KEYWORD) === true, 5000, 'failed keyword');
		expect(tried).toEqual([]);
		expect(second.processed).toEqual([]);
	});

	it('never downloads mail over the size limit: flags and reports it, and takes in the rest', async () => {
		const box = await folder('Large');
		const proxy = await CuttableProxy.start(dovecot.port);
		try {
			const run = poller(box, { connection: { ...dovecot.credentials, port: proxy.port }, maxMessageBytes: 64 * 1024 });
			await run.poller.start();
			const big = testMessage(1, { tag: 'big', size: 600 * 1024 });
			dovecot.deliver(big.raw, box);
			dovecot.deliver(testMessage(2, { tag: 'big' }).raw, box);
			await eventually(() => run.processed.length === 1 && run.events.some((e) => e.type === 'too-large'), 10_000, 'one taken in, one too large');
			expect(run.events.find((e) => e.type === 'too-large')).toMatchObject({ messageId: big.messageId, limit: 64 * 1024 });
			expect((run.events.find((e) => e.type === 'too-large') as { size: number }).size).toBeGreaterThan(600 * 1024);
			expect(proxy.bytesFromServer).toBeLessThan(100 * 1024);
			await eventually(async () => (await observer.flagsByMessageId(box)).get(big.messageId)?.has(TOO_LARGE_KEYWORD) === true, 5000, 'too-large keyword');
			expect((await observer.flagsByMessageId(box)).get(big.messageId)?.has('\\Seen')).toBe(false);
		} finally {
			await proxy.close();
		}
	});

	it('streams large messages in one by one (still within the limit)', async () => {
		const box = await folder('Streamed');
		const run = poller(box, { streamAboveBytes: 10 * 1024 });
		await run.poller.start();
		const large = testMessage(1, { tag: 'st', size: 300 * 1024 });
		dovecot.deliver(large.raw, box);
		dovecot.deliver(testMessage(2, { tag: 'st' }).raw, box);
		await eventually(() => run.processed.length === 2, 10_000, 'both');
		expect(run.processed.find((m) => m.messageId === large.messageId)?.raw.equals(large.raw)).toBe(true);
	});

	it('fails the start clearly on a missing mailbox', async () => {
		const run = poller('Nowhere');
		await expect(run.poller.start()).rejects.toThrow(/mailbox "Nowhere" does not exist/);
	});

	it('keeps retrying when the server is unreachable at start, reporting the outage once', async () => {
		const proxy = await CuttableProxy.start(1);
		const port = proxy.port;
		await proxy.close();
		const run = poller('INBOX', { connection: { ...dovecot.credentials, port } });
		await run.poller.start();
		await new Promise((r) => setTimeout(r, 1200));
		expect(run.events.filter((e) => e.type === 'outage')).toHaveLength(1);
		expect(run.events.some((e) => e.type === 'connected')).toBe(false);
	});
});

describeWithDovecot('MailboxPoller against a Dovecot without IDLE, and a wrong password', () => {
	let dovecot: Dovecot;
	let store: Store;
	let cleanupStore: () => Promise<void>;

	beforeAll(async () => {
		dovecot = await Dovecot.start({ withoutIdle: true });
		const handle = await freshStore(engine!);
		store = handle.store;
		cleanupStore = handle.cleanup;
	});
	afterAll(async () => {
		await cleanupStore?.();
		await dovecot?.destroy();
	});

	it('polls instead', async () => {
		const processed: MailboxMessage[] = [];
		const events: PollerEvent[] = [];
		const poller = new MailboxPoller({
			connection: dovecot.credentials,
			store,
			maxMessageBytes: 1024 * 1024,
			pollIntervalMs: 300,
			onEvent: (e) => events.push(e),
			process: async (messages) => void processed.push(...messages),
		});
		await poller.start();
		try {
			expect(events[0]).toMatchObject({ type: 'connected', idle: false });
			dovecot.deliver(testMessage(1, { tag: 'poll' }).raw);
			await eventually(() => processed.length === 1, 5000, 'the message found by polling');
		} finally {
			await poller.stop();
		}
	});

	// Here, not above: Dovecot delays every later login from the same address after a failed one.
	it('fails the start clearly on a wrong password', async () => {
		const poller = new MailboxPoller({
			connection: { ...dovecot.credentials, password: 'wrong' },
			store,
			maxMessageBytes: 1024,
			process: async () => undefined,
		});
		await expect(poller.start()).rejects.toThrow(MailboxConfigError);
		await expect(poller.start()).rejects.toThrow(/already running/);
	});
});
