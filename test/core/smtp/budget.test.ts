import { readAll } from '../../../core/message-bytes';
import { BUDGET_NOTE_INTERVAL_MS, InFlightBudget } from '../../../core/smtp/budget';
import { attachHostedInbox, DEFAULT_LISTENER_SETTINGS, type AttachedInbox, type HostedInboxBinding, type ListenerSettings } from '../../../core/smtp/listener';
import type { SmtpReply } from '../../../core/replies';
import { freePort } from '../../support/ports';
import { messageOfSize, RawSmtpClient } from './smtp-client';

const KB = 1024;
/** Small numbers keep the tests fast and bounded: room for 300 KB of messages of at most 200 KB each. */
const BUDGET = 300 * KB;
const LIMIT = 200 * KB;
const ADDRESS = 'support@inbox.example.test';
const QUEUED: SmtpReply = { code: 250, enhancedCode: '2.0.0', text: 'Queued' };
const DEFERRED = '451 4.3.1 Insufficient system storage, try again later';

/** An inbox that records what it got and what it was told; `hold` keeps its answers back until released. */
function binding(address = ADDRESS, maxMessageBytes = LIMIT) {
	const received: Buffer[] = [];
	const notes: string[] = [];
	let gate: Promise<void> = Promise.resolve();
	let open = () => {};
	const inbox: HostedInboxBinding = {
		address,
		maxMessageBytes,
		receive: async (message) => {
			received.push(await readAll(message));
			await gate;
			return QUEUED;
		},
		noteTrouble: (message) => notes.push(message),
	};
	return {
		inbox,
		received,
		notes,
		hold: () => (gate = new Promise<void>((resolve) => (open = resolve))),
		release: () => open(),
	};
}

function settings(overrides: Partial<ListenerSettings> = {}): ListenerSettings {
	return { ...DEFAULT_LISTENER_SETTINGS, host: '127.0.0.1', port: 0, inFlightBudgetBytes: BUDGET, ...overrides };
}

const attached: AttachedInbox[] = [];
const clients: RawSmtpClient[] = [];
afterEach(async () => {
	clients.splice(0).forEach((client) => client.close());
	await Promise.all(attached.splice(0).map((a) => a.detach()));
});

async function attach(s: ListenerSettings, inbox: HostedInboxBinding): Promise<AttachedInbox> {
	const a = await attachHostedInbox(s, inbox);
	attached.push(a);
	return a;
}

async function session(port: number): Promise<RawSmtpClient> {
	const client = await RawSmtpClient.open(port);
	clients.push(client);
	await client.reply();
	await client.command('EHLO client.example.org');
	return client;
}

/** Sends MAIL, RCPT, DATA and `bytes` of the message, leaving it unfinished: its bytes are held by the listener. */
async function startMessage(client: RawSmtpClient, bytes: number, to = ADDRESS): Promise<void> {
	expect(await client.command('MAIL FROM:<x@sender.example>')).toMatch(/^250 /);
	expect(await client.command(`RCPT TO:<${to}>`)).toMatch(/^250 /);
	expect(await client.command('DATA')).toMatch(/^354 /);
	await client.write(messageOfSize(bytes));
}

/** Ends the message begun with startMessage; the answer on it. */
async function finish(client: RawSmtpClient): Promise<string> {
	await client.write('\r\n.\r\n');
	return await client.reply();
}

async function send(client: RawSmtpClient, bytes: number, to = ADDRESS): Promise<string> {
	await startMessage(client, bytes, to);
	return await finish(client);
}

/** Loopback bytes reach the listener within milliseconds: after this, a written message part is counted. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 200));

describe("SMTP listener's in-flight byte budget", () => {
	test('a message past the budget others hold is drained and deferred with 451 4.3.1, noted once a minute to every inbox on the port, and admitted once they finish', async () => {
		const port = await freePort();
		const a = binding();
		const other = binding('sales@inbox.example.test');
		await attach(settings({ port }), a.inbox);
		await attach(settings({ port }), other.inbox);
		const [first, second, late] = [await session(port), await session(port), await session(port)];
		await startMessage(first, 150 * KB);
		await startMessage(second, 100 * KB);
		await settle();

		expect(await send(late, 100 * KB)).toBe(DEFERRED);
		expect(await send(late, 100 * KB, 'sales@inbox.example.test')).toBe(DEFERRED);
		expect(a.received).toHaveLength(0);
		expect(other.received).toHaveLength(0);
		// The first deferral is noted at once on every inbox of the port, the second waits for the next note.
		for (const notes of [a.notes, other.notes]) {
			expect(notes).toEqual([
				`The SMTP listener's in-flight budget of ${BUDGET} bytes is spent: 1 message deferred with 4.3.1 (the senders retry later) since the last note; a larger budget needs as much more memory`,
			]);
		}

		expect(await finish(first)).toBe('250 2.0.0 Queued');
		expect(await finish(second)).toBe('250 2.0.0 Queued');
		const message = messageOfSize(100 * KB, { Subject: 'retried' });
		expect(await late.command('MAIL FROM:<x@sender.example>')).toMatch(/^250 /);
		expect(await late.command(`RCPT TO:<${ADDRESS}>`)).toMatch(/^250 /);
		expect(await late.command('DATA')).toMatch(/^354 /);
		await late.write(message);
		expect(await finish(late)).toBe('250 2.0.0 Queued');
		expect(a.received).toHaveLength(3);
		// Nothing of the retried message was lost to the earlier deferral.
		expect(a.received[2].equals(Buffer.concat([message, Buffer.from('\r\n')]))).toBe(true);
	});

	test('a message is held until it is answered: while the inbox decides, its bytes still count', async () => {
		const a = binding();
		const { port } = await attach(settings(), a.inbox);
		a.hold();
		const deciding = await session(port);
		await startMessage(deciding, 190 * KB);
		const answer = finish(deciding);
		await settle();
		expect(a.received).toHaveLength(1);

		const late = await session(port);
		expect(await send(late, 150 * KB)).toBe(DEFERRED);
		a.release();
		expect(await answer).toBe('250 2.0.0 Queued');
		expect(await send(late, 150 * KB)).toBe('250 2.0.0 Queued');
	});

	test('a client that drops mid-message gives its bytes back: no leak, however often', async () => {
		const a = binding();
		const { port } = await attach(settings(), a.inbox);
		for (let i = 0; i < 3; i++) {
			const dropping = await session(port);
			await startMessage(dropping, 190 * KB);
			await settle();
			dropping.close();
		}
		await settle();
		// 150 KB + 140 KB fit the 300 KB budget; what one drop held (190 KB), were it left over, would defer the second.
		const holding = await session(port);
		await startMessage(holding, 150 * KB);
		await settle();
		const other = await session(port);
		expect(await send(other, 140 * KB)).toBe('250 2.0.0 Queued');
		expect(await finish(holding)).toBe('250 2.0.0 Queued');
		expect(a.received).toHaveLength(2);
	});

	test('a declared SIZE over the room left is answered 452 4.3.1 at MAIL FROM; one that fits goes on', async () => {
		const a = binding();
		const { port } = await attach(settings(), a.inbox);
		const holding = await session(port);
		await startMessage(holding, 190 * KB);
		await settle();

		const client = await session(port);
		expect(await client.command(`MAIL FROM:<x@sender.example> SIZE=${150 * KB}`)).toBe(
			'452 4.3.1 Insufficient system storage for a message of this size, try again later',
		);
		expect(await client.command(`MAIL FROM:<x@sender.example> SIZE=${50 * KB}`)).toMatch(/^250 /);
		expect(await client.command('RSET')).toMatch(/^250 /);
		expect(a.notes).toHaveLength(1);

		expect(await finish(holding)).toBe('250 2.0.0 Queued');
		expect(await client.command(`MAIL FROM:<x@sender.example> SIZE=${150 * KB}`)).toMatch(/^250 /);
	});

	test('oversize mail still gets 552 5.3.4 before any word on the budget, declared or not', async () => {
		const a = binding();
		const { port } = await attach(settings(), a.inbox);
		const holding = await session(port);
		await startMessage(holding, 190 * KB);
		await settle();

		const client = await session(port);
		expect(await client.command(`MAIL FROM:<x@sender.example> SIZE=${LIMIT + 1}`)).toMatch(/^552 5\.3\.4 /);
		expect(await send(client, LIMIT + 10 * KB)).toBe(`552 5.3.4 Message too big: the limit of ${ADDRESS} is ${LIMIT} bytes`);
		expect(a.notes).toEqual([]);
		expect(await finish(holding)).toBe('250 2.0.0 Queued');
		expect(a.received).toHaveLength(1);
	});

	test('by default the budget holds 10 messages of the largest inbox limit at once; the 11th is deferred', async () => {
		const a = binding(ADDRESS, 20 * KB);
		const { port } = await attach(settings({ inFlightBudgetBytes: null }), a.inbox);
		a.hold();
		const senders = await Promise.all(Array.from({ length: 10 }, () => session(port)));
		const answered = senders.map(async (client) => {
			await startMessage(client, 19 * KB);
			return await finish(client);
		});
		await settle();
		expect(a.received).toHaveLength(10);
		expect(await send(await session(port), 19 * KB)).toBe(DEFERRED);
		a.release();
		expect(await Promise.all(answered)).toEqual(Array(10).fill('250 2.0.0 Queued'));
	});

	test('a budget set below an inbox limit is an activation error: such a message could never be received', async () => {
		await expect(attachHostedInbox(settings({ inFlightBudgetBytes: LIMIT - 1 }), binding().inbox)).rejects.toThrow(
			`The listener's in-flight budget (${LIMIT - 1} bytes) is smaller than the maximum message size of ${ADDRESS} (${LIMIT} bytes): such a message could never be received`,
		);
	});
});

describe('InFlightBudget', () => {
	test('shares take room chunk by chunk and give all of it back once, however often released', () => {
		const budget = new InFlightBudget(() => 100, () => {});
		const one = budget.share();
		const two = budget.share();
		expect(one.take(60)).toBe(true);
		expect(two.take(50)).toBe(false);
		expect(two.take(40)).toBe(true);
		expect(budget.left).toBe(0);
		one.release();
		one.release();
		expect(budget.left).toBe(60);
		two.release();
		expect(budget.left).toBe(100);
	});

	test('a spent budget is noted at once, then at most once an interval with the deferrals counted meanwhile', () => {
		const notes: string[] = [];
		const budget = new InFlightBudget(() => 100, (message) => notes.push(message));
		const now = jest.spyOn(Date, 'now').mockReturnValue(1_000_000);
		try {
			budget.deferred();
			budget.deferred();
			now.mockReturnValue(1_000_000 + BUDGET_NOTE_INTERVAL_MS - 1);
			budget.deferred();
			expect(notes).toHaveLength(1);
			now.mockReturnValue(1_000_000 + BUDGET_NOTE_INTERVAL_MS);
			budget.deferred();
			expect(notes.map((note) => /: (\d+) messages? deferred/.exec(note)?.[1])).toEqual(['1', '3']);
		} finally {
			now.mockRestore();
		}
	});
});
