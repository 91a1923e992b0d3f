/**
 * The forward corpus: every client x language, plain and HTML; chains of 2 and 3 forwards mixing clients; and the
 * cases where the outer sender stands. Each case's expectation is known by construction. Deterministic: no
 * randomness, the same cases in the same order on every run.
 */
import { forwardOf, originalMessage, type Message, type Person } from './render';
import { TEMPLATES, type Template } from './templates';

export type Format = 'plain' | 'html';

/** How the outer message is sent: by the team (DKIM d=company.test), by an outsider (d=customer.test), or unsigned. */
export type Signer = 'company' | 'customer' | 'none';

export interface ForwardCase {
	/** Unique, readable: kind, clients and languages from the outside in, format. */
	id: string;
	kind: 'single' | 'chain' | 'outsider-in-chain' | 'outsider-forward' | 'author-without-address' | 'unauthenticated-insider';
	/** Clients and languages from the outermost forward in. */
	levels: Array<{ client: Template['client']; lang: string }>;
	format: Format;
	signer: Signer;
	/** The inbox runs in DMARC monitor mode (an unsigned insider is not refused). */
	monitor: boolean;
	message: Message;
	expected: {
		address: string;
		method: 'inline-forward' | 'from-header';
		trusted: boolean;
		forwardedBy: string | null;
		/** Flags the verdict must carry. */
		flags: string[];
		/** The conversation subject: the forwarded block's own Subject (for the lead to wire once the verdict has it). */
		subject: string;
	};
}

export const INBOX = { name: 'Support', address: 'support@inbox.example.test' };
const AGENT: Person = { name: 'Alex Agent', address: 'agent@company.test' };
const COLLEAGUES: Person[] = [
	{ name: 'Bob Middle', address: 'bob@company.test' },
	{ name: 'Dana Desk', address: 'dana@company.test' },
];
const PARTNER: Person = { name: 'Pat Partner', address: 'pat@partner.example' };
const OUTSIDER: Person = { name: 'Mallory Outside', address: 'mallory@customer.test' };
const CC: Person = { name: 'Walter Sheltan', address: 'walter@customer.test' };

/** Customers: varied local parts and domains, so no case's author is another's by accident. */
const customer = (n: number): Person => {
	const names = ['Carol Customer', 'Jan Novák', 'Åsa Lindqvist', 'Zoë Martin', 'Wang Wei', 'María José', 'Olga Ivanova', 'Kemal Yıldız'];
	const domains = ['customer.test', 'kunde.example', 'client.example', 'cliente.example'];
	return { name: names[n % names.length], address: `buyer${n}@${domains[n % domains.length]}` };
};
const SUBJECTS = ['Question about invoice 77', 'Order 4711 is late', 'Refund for order 12', 'Login does not work'];

const FORMATS: Format[] = ['plain', 'html'];
const label = (t: Template) => `${t.client}/${t.lang}`;

/** A chain: `templates[i]` forwards the message `authors[i]` wrote; the sender sends the outermost forward. */
function chain(templates: Template[], authors: Person[], original: Message, sender: Person): Message {
	const forwarders = [sender, ...authors.slice(0, -1)];
	let message = original;
	for (let i = templates.length - 1; i >= 0; i--) {
		const to = i === 0 ? INBOX : forwarders[i - 1];
		message = forwardOf(templates[i], message, forwarders[i], to, i === 0 ? 'FYI, for the queue.' : 'See below.');
	}
	return message;
}

/** `from` wrote to `to`: the customer's mail at the bottom of every chain. */
const customerMail = (n: number, to: Person) => originalMessage(customer(n), to, n % 3 === 0 ? CC : null, SUBJECTS[n % SUBJECTS.length], `Hello,\n\nmy order ${4700 + n} has not arrived yet.\n\nThanks`);

function buildCases(): ForwardCase[] {
	const cases: ForwardCase[] = [];
	let n = 0;
	const inline = (address: string) => ({ address, method: 'inline-forward' as const, trusted: true, forwardedBy: AGENT.address, flags: [] });

	// Each client x language, plain and HTML: a team member forwards a customer's mail.
	for (const t of TEMPLATES) {
		for (const format of FORMATS) {
			const original = customerMail(n++, AGENT);
			cases.push({
				id: `single ${label(t)} ${format}`,
				kind: 'single',
				levels: [{ client: t.client, lang: t.lang }],
				format,
				signer: 'company',
				monitor: false,
				message: chain([t], [original.from], original, AGENT),
				expected: { ...inline(original.from.address!), subject: original.subject },
			});
		}
	}

	// Chains through team members, 2 and 3 levels, mixing clients and languages: the innermost author.
	// Stepping through TEMPLATES by strides prime to its length pairs every client with others; a level
	// never repeats the client of the level outside it.
	const pick = (i: number, stride: number, offset: number, avoid: Template[]): Template => {
		for (let k = 0; ; k++) {
			const t = TEMPLATES[(i * stride + offset + k) % TEMPLATES.length];
			if (!avoid.some((a) => a.client === t.client)) return t;
		}
	};
	const chainCase = (kind: ForwardCase['kind'], templates: Template[], middles: Person[], format: Format): ForwardCase => {
		const original = customerMail(n++, middles[middles.length - 1]);
		const authors = [...middles, original.from];
		const firstOutsider = middles.find((m) => !m.address!.endsWith('@company.test'));
		return {
			id: `${kind} ${templates.map(label).join(' > ')} ${format}`,
			kind,
			levels: templates.map((t) => ({ client: t.client, lang: t.lang })),
			format,
			signer: 'company',
			monitor: false,
			message: chain(templates, authors, original, AGENT),
			// Past an outsider the chain is not followed: the outsider is the original sender.
			expected: { ...inline((firstOutsider ?? original.from).address!), subject: firstOutsider ? `${templates[1].subjectPrefix ?? 'Fwd:'} ${original.subject}` : original.subject },
		};
	};
	for (let i = 0; i < 60; i++) {
		const outer = pick(i, 37, 0, []);
		const inner = pick(i, 53, 11, [outer]);
		cases.push(chainCase('chain', [outer, inner], [COLLEAGUES[i % 2]], FORMATS[i % 2]));
	}
	for (let i = 0; i < 30; i++) {
		const outer = pick(i, 41, 3, []);
		const middle = pick(i, 59, 17, [outer]);
		const inner = pick(i, 31, 29, [middle]);
		cases.push(chainCase('chain', [outer, middle, inner], COLLEAGUES, FORMATS[i % 2]));
	}
	// A forward quoted with "> " inside another client's forward: Apple Mail and Proton quote what they forward.
	const quoting = TEMPLATES.filter((t) => t.client === 'apple-mail' || t.client === 'proton');
	const others = TEMPLATES.filter((t) => t.client !== 'apple-mail' && t.client !== 'proton');
	for (let i = 0; i < 20; i++) {
		const quoter = quoting[(i * 7) % quoting.length];
		const outer = others[(i * 17 + 5) % others.length];
		const inner = others[(i * 23 + 9) % others.length];
		cases.push(chainCase('chain', i % 2 ? [outer, quoter, inner] : [outer, quoter], i % 2 ? COLLEAGUES : [COLLEAGUES[0]], FORMATS[Math.floor(i / 2) % 2]));
	}
	// A partner in the middle: the chain stops at the partner, whose claims are not followed.
	for (let i = 0; i < 12; i++) {
		const outer = pick(i, 43, 7, []);
		const inner = pick(i, 47, 19, [outer]);
		cases.push(chainCase('outsider-in-chain', [outer, inner], [PARTNER], FORMATS[i % 2]));
	}

	// The outer sender stands.
	const spread = (count: number, stride: number, offset: number) => Array.from({ length: count }, (_, i) => TEMPLATES[(i * stride + offset) % TEMPLATES.length]);
	const standing = (kind: ForwardCase['kind'], t: Template, format: Format, sender: Person, signer: Signer, monitor: boolean, original: Message, expected: Omit<ForwardCase['expected'], 'subject'>): ForwardCase => ({
		id: `${kind} ${label(t)} ${format}`,
		kind,
		levels: [{ client: t.client, lang: t.lang }],
		format,
		signer,
		monitor,
		message: chain([t], [original.from], original, sender),
		expected: { ...expected, subject: original.subject },
	});
	spread(16, 29, 1).forEach((t, i) => {
		// An outsider's forward: whatever it claims to carry, its own From stands (its DKIM passes: trusted).
		const original = customerMail(n++, OUTSIDER);
		cases.push(standing('outsider-forward', t, FORMATS[i % 2], OUTSIDER, 'customer', false, original, { address: OUTSIDER.address!, method: 'from-header', trusted: true, forwardedBy: null, flags: [] }));
	});
	spread(16, 31, 2).forEach((t, i) => {
		// A forwarded From line with a name only, the To line with an address: no author to name.
		const original = { ...customerMail(n++, AGENT), from: { name: customer(n).name, address: null } };
		cases.push(standing('author-without-address', t, FORMATS[i % 2], AGENT, 'company', false, original, { address: AGENT.address!, method: 'from-header', trusted: false, forwardedBy: null, flags: ['forward-author-without-address'] }));
	});
	spread(16, 37, 3).forEach((t, i) => {
		// An insider whose message does not authenticate: the forward is ignored (monitor mode lets it in).
		const original = customerMail(n++, AGENT);
		cases.push(standing('unauthenticated-insider', t, FORMATS[i % 2], AGENT, 'none', true, original, { address: AGENT.address!, method: 'from-header', trusted: false, forwardedBy: null, flags: ['forward-ignored'] }));
	});
	return cases;
}

export const FORWARD_CASES: ForwardCase[] = buildCases();
