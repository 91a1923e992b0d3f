import { answeredMessageOf, automaticReplyRefusal, type AnsweredMessage } from '../../../core/outbound/automatic';
import { OutboundError } from '../../../core/outbound/errors';
import { composeFromName, registeredFromName } from '../../../core/outbound/from-name';
import { HTML_DEPTH_CUT, HTML_TEXT_CUT } from '../../../core/html-text';
import { htmlToText, renderSignature, unknownSignatureTokens } from '../../../core/outbound/signature';
import { baseSubject, replySubject } from '../../../core/outbound/subject';
import { replyThreadHeaders } from '../../../core/outbound/threading';
import { emailAddress, headerText } from '../../../core/outbound/validate';
import type { StoredMessage } from '../../../core/store/types';
import { intakeItem } from '../../support/items';

function refusal(fn: () => unknown): OutboundError {
	try {
		fn();
	} catch (error) {
		if (error instanceof OutboundError) return error;
		throw error;
	}
	throw new Error('expected an OutboundError');
}

describe('from-name', () => {
	it('composes "Agent and company name" with the default and a configured separator', () => {
		expect(composeFromName({ style: 'agentAndCompany', companyName: 'Acme Support' }, 'Ana Lopez')).toBe('Ana Lopez at Acme Support');
		expect(composeFromName({ style: 'agentAndCompany', companyName: 'Acme Support', separator: ' | ' }, 'Ana Lopez')).toBe('Ana Lopez | Acme Support');
	});

	it('composes "Company name" whoever sends', () => {
		expect(composeFromName({ style: 'company', companyName: 'Acme Support' }, 'Ana Lopez')).toBe('Acme Support');
	});

	it('registers the company part, so two agents of one inbox share one from-name', () => {
		expect(registeredFromName({ style: 'agentAndCompany', companyName: 'Acme Support' })).toBe('<agent> at Acme Support');
		expect(registeredFromName({ style: 'company', companyName: 'Acme Support' })).toBe('Acme Support');
	});

	it('refuses a line break in the company name, the separator or the agent name', () => {
		expect(refusal(() => composeFromName({ style: 'company', companyName: 'Acme\r\nBcc: victim@example.com' }, 'x')).message).toMatch(/Company name contains a line break/);
		expect(refusal(() => composeFromName({ style: 'agentAndCompany', companyName: 'Acme', separator: '\n' }, 'x')).refusal).toBe('invalid-header');
		expect(refusal(() => composeFromName({ style: 'agentAndCompany', companyName: 'Acme' }, 'Ana\nLopez')).message).toMatch(/Agent's full name/);
	});
});

describe('subject', () => {
	it.each([
		['Order 42 is late', 'Re: Order 42 is late'],
		['Re: Order 42 is late', 'Re: Order 42 is late'],
		['RE: re: Re: Order 42', 'Re: Order 42'],
		['Fwd: Order 42', 'Re: Order 42'],
		['FW: RE: Order 42', 'Re: Order 42'],
		['AW: WG: Bestellung 42', 'Re: Bestellung 42'],
		['SV: VS: Tilaus 42', 'Re: Tilaus 42'],
		['Re[3]: Order 42', 'Re: Order 42'],
		['RV: Pedido 42', 'Re: Pedido 42'],
		['Reply needed: order 42', 'Re: Reply needed: order 42'],
		['', 'Re:'],
	])('%j -> %j', (subject, expected) => {
		expect(replySubject(subject)).toBe(expected);
	});

	it('takes off any number of stacked prefixes, in one pass', () => {
		expect(replySubject(`${'Re: '.repeat(60)}Order 42`)).toBe('Re: Order 42');
		expect(replySubject(`${'RE: AW:\t'.repeat(50_000)}Order 42`)).toBe('Re: Order 42');
	});

	it('keeps words that only start like a prefix', () => {
		expect(baseSubject('Refund for order 42')).toBe('Refund for order 42');
	});

	it('folds CR/LF and other control characters of a stored subject to spaces: one header line, no injected field', () => {
		expect(replySubject('Hello\r\nBcc: x@example.com')).toBe('Re: Hello  Bcc: x@example.com');
		expect(replySubject('RE:\tOrder\u000042\n')).toBe('Re: Order 42');
	});
});

describe('team signature', () => {
	const agent = { fullName: 'Ana María Lopez', firstName: 'Ana' };

	it('fills {{full_name}} and {{first_name}} (spaces allowed) and derives the text part', () => {
		const sig = renderSignature('<p>Best,<br>{{ first_name }}</p><p><b>{{full_name}}</b> &middot; <a href="https://acme.test/help">Help centre</a></p>', agent);
		expect(sig.html).toBe('<p>Best,<br>Ana</p><p><b>Ana María Lopez</b> &middot; <a href="https://acme.test/help">Help centre</a></p>');
		expect(sig.text).toBe('Best,\nAna\n\nAna María Lopez · Help centre <https://acme.test/help>');
	});

	it('escapes the agent name in the HTML part', () => {
		expect(renderSignature('{{full_name}}', { fullName: 'Ana <script>', firstName: 'Ana' }).html).toBe('Ana &lt;script&gt;');
	});

	it('refuses an unknown token, naming it and the known ones', () => {
		const error = refusal(() => renderSignature('Thanks, {{fullname}} {{ company }}', agent));
		expect(error.refusal).toBe('unknown-signature-token');
		expect(error.message).toContain('{{fullname}}');
		expect(error.message).toContain('{{ company }}');
		expect(error.message).toContain('{{full_name}}, {{first_name}}');
		expect(unknownSignatureTokens('{{first_name}}')).toEqual([]);
	});

	it('reads a token with blanks of any length around its name, and an unclosed one as text (a run of blanks once: it was cubic)', () => {
		const blanks = ' '.repeat(20_000);
		expect(renderSignature(`{{${blanks}first_name${blanks}}}`, agent).html).toBe('Ana');
		expect(unknownSignatureTokens(`{{${blanks}`)).toEqual([]);
		expect(renderSignature(`Regards {{${blanks}`, agent).html).toBe(`Regards {{${blanks}`);
	});

	it('ends the text of an HTML longer than 512 KB with a note that the rest is in the HTML only', () => {
		const long = `<p>${'word '.repeat(120_000)}</p><p>the tail</p>`;
		const text = htmlToText(long);
		expect(text.endsWith(`\n\n${HTML_TEXT_CUT}`)).toBe(true);
		expect(text).not.toContain('the tail');
		expect(htmlToText('<p>short</p>')).toBe('short');
	});

	it('marks where an HTML nested past 1,000 elements was cut, and ends its text with a note saying so', () => {
		const deep = `<p>top</p>${'<div>'.repeat(1500)}deep text${'</div>'.repeat(1500)}<p>after</p>`;
		expect(htmlToText(deep)).toBe(`top\n\n[…]\n\nafter\n\n${HTML_DEPTH_CUT}`);
		// A sender cannot write the mark the cut is found by: an HTML holding "[…]" or the private-use character is no cut.
		expect(htmlToText('<p>[…] \u{E000}x\u{E000}</p>')).toBe('[…] \u{E000}x\u{E000}');
	});

	it('turns links, images and lists into text', () => {
		expect(htmlToText('<ul><li>One</li><li>Two</li></ul><img alt="Acme logo" src="x.png"><a href="mailto:help@acme.test">help@acme.test</a>')).toBe('- One\n- Two\n\nAcme logohelp@acme.test');
		expect(htmlToText('<p>See <a href="https://acme.test/x">our page</a>.</p><h2>Title</h2><script>x</script><!-- note --><div>Ana Lopez<br>Acme &amp; Co</div>')).toBe(
			'See our page <https://acme.test/x>.\n\nTitle\n\nAna Lopez\nAcme & Co',
		);
	});

	it('stays linear on HTML a workflow may hand over (a customer\'s, quoted): the regexes it replaced took 20 s for 4 KB', () => {
		for (const unit of ['<a href="', '<img alt="', '<a href="x">', '<script', '<!--']) {
			const started = process.hrtime.bigint();
			htmlToText(unit.repeat(Math.ceil((8 * 1024) / unit.length)));
			expect({ unit, bounded: Number(process.hrtime.bigint() - started) / 1e6 < 10_000 }).toEqual({ unit, bounded: true });
		}
	});
});

describe('addresses and header text', () => {
	it('accepts plain addresses and lower-cases the domain', () => {
		expect(emailAddress('To', ' Jane.Doe+x@Example.COM ')).toBe('Jane.Doe+x@example.com');
	});

	it.each(['jane@example.com\r\nBcc: x@y.test', 'Jane <jane@example.com>', 'jane@example.com, bob@example.com', 'jane@', 'jane@-bad.test', 'jane@localhost', 'ja ne@example.com'])(
		'refuses %j',
		(value) => {
			const error = refusal(() => emailAddress('To', value));
			expect(['invalid-address', 'invalid-header']).toContain(error.refusal);
			expect(error.message).toContain('To');
		},
	);

	it('refuses other control characters too', () => {
		expect(refusal(() => headerText('Subject', 'a\u0000b')).message).toMatch(/control character/);
	});
});

describe('automatic messages', () => {
	const jane = { address: 'jane@example.com', method: 'from-header', trusted: true };
	const plain: AnsweredMessage = { kind: 'message', action: 'accept', mailFrom: 'jane@example.com', flags: [], originalSender: jane, auth: null };

	it('may answer a plain message from an authenticated contact', () => {
		expect(automaticReplyRefusal(plain)).toBeNull();
	});

	it.each<[string, Partial<AnsweredMessage>, RegExp]>([
		['an auto-reply', { kind: 'auto-reply' }, /automatic reply/],
		['a bounce', { kind: 'bounce' }, /bounce/],
		['quarantined mail', { action: 'quarantine' }, /did not accept it \(quarantine\)/],
		['an empty envelope sender', { mailFrom: '' }, /envelope sender is empty/],
		['list mail through a group', { originalSender: { ...jane, method: 'list-rewrite' } }, /list mail/],
		['automatic mail', { flags: ['auto-submitted'] }, /automatic mail \(Auto-Submitted\)/],
		['bulk mail', { flags: ['bulk'] }, /bulk mail \(Precedence: bulk or junk\)/],
		['a newsletter', { flags: ['list'] }, /List-Unsubscribe/],
		['our own mail coming back', { flags: ['loop'] }, /our own mail coming back \(loop marker\)/],
		['one of our Message-IDs', { flags: ['own-mail'] }, /our own mail coming back \(one of our Message-IDs\)/],
		['a flagged message', { flags: ['dmarc-fail-arc-rescued'] }, /flagged "dmarc-fail-arc-rescued"/],
		['a message whose thread was refused', { flags: ['thread-refused'] }, /flagged "thread-refused"/],
		['an unauthenticated sender', { originalSender: { ...jane, trusted: false } }, /its sender jane@example.com is not authenticated/],
		['an unauthenticated sender whose SPF passes for another domain', { originalSender: { ...jane, trusted: false }, auth: { spf: { result: 'pass', domain: 'bulk-mailer.test' }, dkim: { signatures: [{ result: 'pass', aligned: false }] }, dmarc: { result: 'none' } } }, /not authenticated/],
		['an untrusted original sender named by a forward', { originalSender: { ...jane, method: 'inline-forward', trusted: false }, auth: { dmarc: { result: 'pass' } } }, /not authenticated/],
		['no sender at all', { originalSender: null }, /names no sender/],
	])('refuses %s', (_name, patch, reason) => {
		expect(automaticReplyRefusal({ ...plain, ...patch })).toMatch(reason);
	});

	it.each<[string, NonNullable<AnsweredMessage['auth']>]>([
		['DMARC passes', { dmarc: { result: 'pass' } }],
		['an aligned DKIM signature passes', { dkim: { signatures: [{ result: 'fail', aligned: true }, { result: 'pass', aligned: true }] } }],
		['SPF passes for the From domain', { spf: { result: 'pass', domain: 'Example.com' } }],
	])('answers a From-header sender the intake did not trust when %s', (_name, auth) => {
		expect(automaticReplyRefusal({ ...plain, originalSender: { ...jane, trusted: false }, auth })).toBeNull();
	});

	it('refuses mail from our own from-address', () => {
		expect(automaticReplyRefusal({ ...plain, from: 'Support@Inbox.example.test' }, ['support@inbox.example.test'])).toMatch(/our own address/);
	});

	it('reads the item after Resolve Original Sender: its flagged contact and refused thread are flags', () => {
		const item = { ...intakeItem({ from: 'jane@example.com' }), contact: { flagged: true }, conversation: { threadRefused: 'In-Reply-To/References name conversation c1, ...' } };
		expect(answeredMessageOf(item)).toMatchObject({
			kind: 'message',
			action: 'accept',
			flags: ['untrusted-sender', 'thread-refused'],
			originalSender: { address: 'jane@example.com', method: 'from-header', trusted: true },
			auth: { dmarc: { result: 'pass' } },
			from: 'jane@example.com',
		});
		expect(answeredMessageOf({ teamEmail: {} })).toBeNull();
	});
});

describe('threading headers', () => {
	const message = (direction: 'in' | 'out', messageId: string, references: string[] = []): StoredMessage =>
		({ direction, messageId, references, inReplyTo: references.slice(-1) }) as StoredMessage;

	it('answers the last inbound message: its references plus its id', () => {
		const history = [message('in', 'a@x.test'), message('out', 'hosted-inbox.1@inbox.test', ['a@x.test']), message('in', 'c@x.test', ['a@x.test', 'hosted-inbox.1@inbox.test'])];
		expect(replyThreadHeaders(history)).toEqual({ inReplyTo: ['c@x.test'], references: ['a@x.test', 'hosted-inbox.1@inbox.test', 'c@x.test'] });
	});

	it('has nothing to answer in a conversation we started', () => {
		expect(replyThreadHeaders([message('out', 'hosted-inbox.2@inbox.test')])).toEqual({ inReplyTo: [], references: [] });
	});

	it('keeps the root and the latest ids of a long thread', () => {
		const refs = Array.from({ length: 40 }, (_, i) => `m${i}@x.test`);
		const { references } = replyThreadHeaders([message('in', 'last@x.test', refs)]);
		expect(references).toHaveLength(20);
		expect(references[0]).toBe('m0@x.test');
		expect(references.at(-1)).toBe('last@x.test');
	});

	it("answers the customer's message, not a team member's forward of it (its ids are internal mail)", () => {
		const forward = { ...message('in', 'agent-fwd@exch.corp.test', ['legal-hold@exch.corp.test']), originalSenderMethod: 'inline-forward' };
		expect(replyThreadHeaders([forward])).toEqual({ inReplyTo: [], references: [] });
		const answer = { ...message('in', 'answer@customer.test', ['hosted-inbox.3@inbox.test']), originalSenderMethod: 'from-header' };
		expect(replyThreadHeaders([forward, message('out', 'hosted-inbox.3@inbox.test'), answer, { ...forward, originalSenderMethod: 'attached-message' }])).toEqual({
			inReplyTo: ['answer@customer.test'],
			references: ['hosted-inbox.3@inbox.test', 'answer@customer.test'],
		});
	});

	it('leaves out an id a header line cannot carry as it is (8-bit, or longer than 250 characters)', () => {
		const long = `${'x'.repeat(5000)}@mail.example.test`;
		expect(replyThreadHeaders([message('in', 'ok@x.test', ['abc\u0085def@mail.example.test', long, 'root@x.test'])])).toEqual({ inReplyTo: ['ok@x.test'], references: ['root@x.test', 'ok@x.test'] });
		expect(replyThreadHeaders([message('in', 'older@x.test'), message('in', long)])).toEqual({ inReplyTo: ['older@x.test'], references: ['older@x.test'] });
	});
});
