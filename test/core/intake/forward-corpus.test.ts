import { FORWARD_CASES, type ForwardCase } from '../../support/forward-corpus/cases';
import { TEMPLATES } from '../../support/forward-corpus/templates';
import { explain } from '../../fixtures/intake';
import { compose, sign, testInbox, testWorld } from '../../fixtures/mail';

/**
 * The generated forward corpus (test/support/forward-corpus): each client's forward in each language its sources
 * give, plain and HTML, chains mixing clients, and the cases where the outer sender stands. Expectations are
 * known by construction; the corpus never reads the reader's own label tables.
 */
const world = testWorld();
const inbox = testInbox();
const monitorInbox = testInbox({ dmarcPolicy: 'monitor' });
const address = (p: { name: string; address: string | null }) => `${p.name} <${p.address}>`;

async function raw(c: ForwardCase): Promise<Buffer> {
	const { message } = c;
	const composed = await compose({
		from: address(message.from),
		to: address(message.to),
		subject: message.subject,
		...(c.format === 'plain' ? { text: message.text } : { html: message.html }),
	});
	if (c.signer === 'none') return composed;
	return await sign(composed, c.signer === 'company' ? world.company : world.customer);
}

describe('forward corpus', () => {
	it('holds hundreds of cases, each named once', () => {
		expect(FORWARD_CASES.length).toBeGreaterThanOrEqual(300);
		expect(new Set(FORWARD_CASES.map((c) => c.id)).size).toBe(FORWARD_CASES.length);
		expect(new Set(TEMPLATES.map((t) => t.lang.split('-')[0])).size).toBeGreaterThanOrEqual(30);
	});

	it('reads every template whole from its source: From, To, Subject and Date once each, and where it comes from', () => {
		for (const t of TEMPLATES) {
			const fields = t.fields.map((f) => f.field);
			expect({ template: `${t.client}/${t.lang}`, fields: [...fields].sort().filter((f) => f !== 'cc') }).toEqual({ template: `${t.client}/${t.lang}`, fields: ['date', 'from', 'subject', 'to'] });
			expect(new Set(fields).size).toBe(fields.length);
			expect(t.source).toBeTruthy();
		}
	});

	test.each(FORWARD_CASES.map((c) => [c.id, c] as const))('%s', async (_id, c) => {
		const r = await explain(await raw(c), c.monitor ? monitorInbox : inbox, world.zone);
		const { address: expectedAddress, method, trusted, forwardedBy, flags } = c.expected;
		expect(r.originalSender).toMatchObject({ address: expectedAddress, method, trusted, forwardedBy });
		for (const flag of flags) expect(r.verdict.flags).toContain(flag);
		// A team member's forward is named by the forwarded message's subject, also when its author cannot be told.
		const forwardRead = method === 'inline-forward' || flags.includes('forward-author-without-address');
		expect(r.originalSender?.subject).toBe(forwardRead ? c.expected.subject : null);
	});
});
