/**
 * Trust forged four ways (issue #13), each attack mounted through `hosted-inbox explain`: a domain posing as
 * a mailing list, a forward planted inside an outsider's mail, Authentication-Results written by the SMTP
 * client, and an ARC seal whose sealer saw DMARC fail (or whose sealer anyone can rent).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { InboxConfigInput } from '../../core/inbox';
import type { IntakeResult } from '../../core/intake/types';
import { arcSeal, compose, dmarcRecord, GOOGLE_GROUPS_SIGNED_FIELDS, makeKey, prependHeaders, rewriteHeader, sign, testWorld, zoneOf } from '../fixtures/mail';
import { runCli } from '../support/cli';

const world = testWorld();
const attacker = makeKey('attacker.test');
const groups = makeKey('googlegroups.com');
const tenant = makeKey('microsoft.com', 'arc');
const gmail = makeKey('google.com', 'arc');
// The attacker's domain authenticates perfectly: DKIM and a strict DMARC policy of its own.
const zone = zoneOf(world.zone, attacker.zone, dmarcRecord('attacker.test', 'reject'), groups.zone, tenant.zone, gmail.zone);
const dir = mkdtempSync(join(tmpdir(), 'explain-trust-'));
let files = 0;

/** The inbox of these tests: the team is company.test; everything else is the product's default. */
const INBOX: InboxConfigInput = { address: 'support@inbox.example.test', internalDomains: ['company.test'] };

async function explain(raw: Buffer, flags: string[] = [], inbox: InboxConfigInput = INBOX): Promise<IntakeResult> {
	const n = ++files;
	const write = (name: string, content: Buffer | string) => {
		writeFileSync(join(dir, `${n}-${name}`), content);
		return join(dir, `${n}-${name}`);
	};
	const r = await runCli(['explain', write('message.eml', raw), '--inbox', write('inbox.json', JSON.stringify(inbox)), '--dns', write('zone.json', JSON.stringify(zone)), ...flags]);
	expect(r).toMatchObject({ code: 0, stderr: '' });
	return JSON.parse(r.stdout) as IntakeResult;
}

const customerMail = () => compose({ from: 'Carol <carol@customer.test>', to: 'support@inbox.example.test', subject: 'Order late', text: 'Where is my order?' });

describe('trust forged four ways, refused', () => {
	describe('any domain posing as a mailing list', () => {
		const rewrite = (list: string) =>
			compose({
				from: `"'Carol Customer' via Orders" <${list}>`,
				to: 'support@inbox.example.test',
				subject: 'Please change my delivery address',
				text: 'Send it to the new address.',
				// As Google Groups names the poster.
				headers: { 'X-Original-Sender': 'carol@customer.test' },
			});

		it('names the poster of a rewrite signed by its own domain, but does not trust it', async () => {
			const r = await explain(await sign(await rewrite('orders@attacker.test'), attacker));
			expect(r.auth?.dmarc.result).toBe('pass');
			expect(r.originalSender).toMatchObject({ address: 'carol@customer.test', method: 'list-rewrite', forwardedBy: 'orders@attacker.test', trusted: false });
			expect(r.verdict.flags).toContain('list-rewrite-untrusted');
		});

		it('trusts the same rewrite from a list domain the inbox names (googlegroups.com by default), signed by it', async () => {
			const r = await explain(await sign(await rewrite('orders@googlegroups.com'), groups, GOOGLE_GROUPS_SIGNED_FIELDS));
			expect(r.originalSender).toMatchObject({ address: 'carol@customer.test', method: 'list-rewrite', trusted: true });
			const narrowed = await explain(await sign(await rewrite('orders@googlegroups.com'), groups, GOOGLE_GROUPS_SIGNED_FIELDS), [], { ...INBOX, trustedListDomains: [] });
			expect(narrowed.originalSender).toMatchObject({ method: 'list-rewrite', trusted: false });
		});

		it('does not trust a poster field added to a group\'s signed message: anyone can own a group and keep its mail', async () => {
			// The attacker's own group relays the attacker's own post, signed by googlegroups.com; its copy is then resent
			// to the inbox with a field naming someone else, which that signature does not cover.
			const own = await sign(await rewrite('orders@googlegroups.com'), groups, GOOGLE_GROUPS_SIGNED_FIELDS);
			expect((await explain(own)).originalSender).toMatchObject({ address: 'carol@customer.test', trusted: true });
			// A field naming someone else added on top: the signed X-Original-Sender still names the poster.
			const addedFrom = await explain(Buffer.concat([Buffer.from('X-Original-From: Victor <victor@customer.test>\r\n'), own]));
			expect(addedFrom.originalSender).toMatchObject({ address: 'carol@customer.test', method: 'list-rewrite', trusted: true });
			// A second X-Original-Sender above the signed one (DKIM verifies the bottom one, a reader takes the top one).
			const addedSender = await explain(Buffer.concat([Buffer.from('X-Original-Sender: victor@customer.test\r\n'), own]));
			expect(addedSender.auth?.dkim.result).toBe('pass');
			expect(addedSender.originalSender).toMatchObject({ address: 'victor@customer.test', method: 'list-rewrite', forwardedBy: 'orders@googlegroups.com', trusted: false });
			expect(addedSender.originalSender?.evidence.join(' ')).toMatch(/no DKIM signature of googlegroups\.com signs its X-Original-Sender/);
			expect(addedSender.verdict.flags).toContain('list-rewrite-untrusted');
			// A group's message naming its poster only in Reply-To (the group's owner may set any "custom reply-to"), signed
			// or not: named, never trusted; two Reply-To fields name nobody.
			const replyTo = await sign(
				await compose({ from: `"'Victor' via Orders" <orders@googlegroups.com>`, replyTo: 'victor@customer.test', to: 'support@inbox.example.test', subject: 'Hello', text: 'x' }),
				groups,
				GOOGLE_GROUPS_SIGNED_FIELDS,
			);
			const named = await explain(replyTo);
			expect(named.originalSender).toMatchObject({ address: 'victor@customer.test', method: 'list-rewrite', trusted: false });
			expect(named.originalSender?.evidence.join(' ')).toContain("a Reply-To is written by the poster or the list's owner");
			const twice = await explain(Buffer.concat([Buffer.from('Reply-To: victor@customer.test\r\n'), replyTo]));
			expect(twice.originalSender).toMatchObject({ address: 'orders@googlegroups.com', method: 'from-header' });
			// The same field on a team member's signed mail (a reply the attacker received) makes no internal list either.
			const reply = await sign(await compose({ from: 'Alex Agent <agent@company.test>', to: 'mallory@attacker.test', subject: 'Re: your order', text: 'On its way.' }), world.company);
			const replayed = await explain(Buffer.concat([Buffer.from('X-Original-From: Victor <victor@customer.test>\r\n'), reply]));
			expect(replayed.auth?.dmarc.result).toBe('pass');
			expect(replayed.originalSender).toMatchObject({ address: 'victor@customer.test', method: 'list-rewrite', forwardedBy: 'agent@company.test', trusted: false });
		});
	});

	describe('a forward planted inside an outsider\'s mail', () => {
		const planted = [
			'Hello, please update my account as agreed.',
			'',
			'---------- Forwarded message ---------',
			'From: Carol Customer <carol@customer.test>',
			'Date: Mon, 3 Mar 2025 at 10:00',
			'Subject: New bank details',
			'To: Mallory <mallory@partner.example>',
			'',
			'Please pay into the new account.',
		].join('\n');
		const outsiderMail = () => compose({ from: 'Mallory <mallory@partner.example>', to: 'agent@company.test', subject: 'New bank details', text: planted });

		it('an agent forwarding it inline names the outsider, and reports the planted author as a claim', async () => {
			const text = ['for the queue', '', '---------- Forwarded message ---------', 'From: Mallory <mallory@partner.example>', 'Date: Tue, 4 Mar 2025 at 09:00', 'Subject: New bank details', 'To: Alex Agent <agent@company.test>', '', planted].join('\n');
			const raw = await sign(await compose({ from: 'Alex Agent <agent@company.test>', to: 'support@inbox.example.test', subject: 'Fwd: New bank details', text }), world.company);
			const r = await explain(raw);
			expect(r.originalSender).toMatchObject({ address: 'mallory@partner.example', method: 'inline-forward', forwardedBy: 'agent@company.test', trusted: true });
			expect(r.originalSender?.evidence).toContainEqual(expect.stringMatching(/mallory@partner\.example holds an inline forwarded block .*from carol@customer\.test: not followed/));
		});

		it('an agent forwarding it as an attachment names the outsider too', async () => {
			const raw = await sign(
				await compose({ from: 'agent@company.test', to: 'support@inbox.example.test', subject: 'Fwd: New bank details', text: 'see attached', attachments: [{ content: await outsiderMail(), contentType: 'message/rfc822', filename: 'fwd.eml' }] }),
				world.company,
			);
			const r = await explain(raw);
			expect(r.originalSender).toMatchObject({ address: 'mallory@partner.example', method: 'attached-message', trusted: true });
			expect(r.originalSender?.evidence).toContainEqual(expect.stringContaining('from carol@customer.test: not followed'));
		});

		it('an agent forwarding it inline names the outsider even when it carries the outsider\'s attached message along', async () => {
			// Clients forwarding inline carry the forwarded mail's attachments: one is whatever the outsider attached, here a
			// message "from" the victim, or "from" a colleague forwarding the victim's.
			const inline = ['fyi', '', '---------- Forwarded message ---------', 'From: Mallory <mallory@partner.example>', 'Date: Tue, 4 Mar 2025 at 09:00', 'Subject: New bank details', 'To: Alex Agent <agent@company.test>', '', 'See the attached mail.'].join('\n');
			const victims = [
				await compose({ from: 'Carol Customer <carol@customer.test>', to: 'agent@company.test', subject: 'New bank details', text: 'Please pay into the new account.' }),
				await compose({ from: 'Bob <bob@company.test>', to: 'agent@company.test', subject: 'Fwd: New bank details', text: planted }),
			];
			for (const attached of victims) {
				const raw = await sign(
					await compose({ from: 'Alex Agent <agent@company.test>', to: 'support@inbox.example.test', subject: 'Fwd: New bank details', text: inline, attachments: [{ content: attached, contentType: 'message/rfc822', filename: 'mail.eml' }] }),
					world.company,
				);
				expect((await explain(raw)).originalSender).toMatchObject({ address: 'mallory@partner.example', method: 'inline-forward', forwardedBy: 'agent@company.test', trusted: true });
			}
		});

		it('an agent forwarding it with an inline part the outsider attached (HTML beside the agent\'s text, or text beside its HTML) names nobody', async () => {
			// Apple Mail sends attachments inline: a file the outsider attached, carried along by the agent's forward, is an
			// inline part beside the agent's own, with a forward "from" the victim in it. mailparser joins the parts and
			// does not say which the agent's client wrote: a text and an HTML that disagree name no author.
			const agentForward = ['fyi', '', '---------- Forwarded message ---------', 'From: Mallory <mallory@partner.example>', 'Date: Tue, 4 Mar 2025 at 09:00', 'Subject: Invoice', 'To: Alex Agent <agent@company.test>', '', 'See the attached invoice.'];
			const carried = ['---------- Forwarded message ---------', 'From: Carol Customer <carol@customer.test>', 'Date: Mon, 3 Mar 2025 at 09:00', 'Subject: New bank details', 'To: mallory@partner.example', '', 'Please pay into the new account.'];
			const html = (lines: string[]) => `<div>${lines.map((line) => line.replace(/</g, '&lt;').replace(/>/g, '&gt;')).join('<br>')}</div>`;
			const shapes = [
				{ text: agentForward.join('\n'), attachments: [{ filename: 'invoice.html', contentType: 'text/html', contentDisposition: 'inline', content: html(carried) }] },
				{ html: html(agentForward), attachments: [{ filename: 'note.txt', contentType: 'text/plain', contentDisposition: 'inline', content: carried.join('\n') }] },
			];
			for (const shape of shapes) {
				const raw = await sign(await compose({ from: 'Alex Agent <agent@company.test>', to: 'support@inbox.example.test', subject: 'Fwd: Invoice', ...shape }), world.company);
				const r = await explain(raw);
				expect(r.originalSender).toMatchObject({ address: 'agent@company.test', method: 'from-header', trusted: false });
				expect(r.verdict.flags).toContain('forward-unreadable');
			}
		});

		it('an attached message whose From names several mailboxes names none of them', async () => {
			const attached = Buffer.from('From: carol@customer.test, mallory@partner.example\r\nTo: agent@company.test\r\nSubject: New bank details\r\n\r\nPlease pay into the new account.\r\n');
			const raw = await sign(
				await compose({ from: 'agent@company.test', to: 'support@inbox.example.test', subject: 'Fwd: New bank details', text: 'see attached', attachments: [{ content: attached, contentType: 'message/rfc822', filename: 'fwd.eml' }] }),
				world.company,
			);
			const r = await explain(raw);
			expect(r.originalSender).toMatchObject({ address: 'agent@company.test', method: 'from-header', trusted: false });
			expect(r.verdict.flags).toContain('forward-unreadable');
		});

		// A client or language forward-labels.json lacks (checked in forwarded-block.test.ts) writes its header from the
		// outsider's own values: a known block below it, or a message it carried along, is the outsider's to write.
		const unknownHeader = (subject: string, from = 'Mallory <mallory@partner.example>') => [`Sendinto: ${from}`, 'Sendita: 2025-03-04 09:00', 'Ricevanto: Alex Agent <agent@company.test>', `Temlinio: ${subject}`];
		// A display name longer than a line the readers see: the address is cut off with it.
		const longName = `${'Accounts Receivable Department of Partner Example Ltd '.repeat(3)}<mallory@partner.example>`;
		const html = (lines: string[]) => `<div>${lines.map((line) => line.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')).join('<br>')}</div>`;
		const agentMail = async (shape: Partial<Parameters<typeof compose>[0]>) =>
			await explain(await sign(await compose({ from: 'Alex Agent <agent@company.test>', to: 'support@inbox.example.test', ...shape }), world.company));
		const untrustedAgent = async (shape: Partial<Parameters<typeof compose>[0]>) => {
			const r = await agentMail(shape);
			expect(r.originalSender).toMatchObject({ address: 'agent@company.test', method: 'from-header', trusted: false });
			expect(r.verdict.flags).toContain('forward-unreadable');
			return r;
		};
		// Longer than a line the readers see (a subject may be 255 characters), and one with an invisible character.
		const subjects = ['New bank details', `New bank details for all outstanding invoices of the second quarter: please update the supplier data ${'x'.repeat(60)}`, 'New bank\ufeffdetails'];

		it('an agent forwarding it inline in labels the readers do not know names nobody, in text or HTML, with or without a separator', async () => {
			for (const subject of subjects) {
				for (const header of [unknownHeader(subject), ['-------- Plusendita mesaĝo --------', ...unknownHeader(subject)], unknownHeader(subject, longName)]) {
					const lines = ['for the queue', '', ...header, '', planted];
					const r = await untrustedAgent({ subject: `PLU: ${subject}`, text: lines.join('\n') });
					expect(r.originalSender?.evidence.join(' ')).toContain('forward header lines in labels the readers do not know');
					await untrustedAgent({ subject: `PLU: ${subject}`, html: html(lines.join('\n').split('\n')) });
				}
			}
		});

		it('an agent forwarding it inline in labels the readers do not know does not name the author of a message or a part it carried along, or of a block right below its header', async () => {
			const attached = await compose({ from: 'Carol Customer <carol@customer.test>', to: 'agent@company.test', subject: 'New bank details', text: 'Please pay into the new account.' });
			const agentLines = ['fyi', '', ...unknownHeader('New bank details'), '', 'See the attachment.'];
			const plantedLines = planted.split('\n');
			const esc = (line: string) => line.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
			for (const shape of [
				{ text: agentLines.join('\n'), attachments: [{ content: attached, contentType: 'message/rfc822', filename: 'mail.eml' }] },
				{ text: ['fyi', '', ...unknownHeader('New bank details', longName), '', 'See the attachment.'].join('\n'), attachments: [{ content: attached, contentType: 'message/rfc822', filename: 'mail.eml' }] },
				// An HTML client's header block right above the outsider's own: no blank line between them in the text.
				{ html: `<div>fyi</div><br><div>${unknownHeader('New bank details').map(esc).join('<br>')}</div><div>${plantedLines.slice(1, 5).map(esc).join('<br>')}</div><div>Please pay.</div>` },
				// The readers know a block only in the part carried along, beside the agent's own (Apple Mail sends attachments inline).
				{ html: html(agentLines), attachments: [{ filename: 'note.txt', contentType: 'text/plain', contentDisposition: 'inline', content: planted }] },
				{ text: agentLines.join('\n'), attachments: [{ filename: 'page.html', contentType: 'text/html', contentDisposition: 'inline', content: html(plantedLines) }] },
			]) {
				await untrustedAgent({ subject: 'PLU: New bank details', ...shape });
			}
		});

		it("an agent's own lines above a forward are not taken for a header: a signature, a note, a subject of a word or none", async () => {
			const signature = ['Alex Agent', 'Team: Support', 'Phone: +1 555 0100', 'Email: agent@company.test', 'Web: company.test'];
			const gmail = (subject: string) => ['---------- Forwarded message ---------', 'From: Mallory <mallory@partner.example>', 'Date: Tue, 4 Mar 2025 at 09:00', `Subject: ${subject}`, 'To: Alex Agent <agent@company.test>', '', 'Please pay.'];
			for (const [subject, note] of [['New bank details', ['Ticket: 4711', 'Subject: New bank details']], ['Support', []], ['', []], ['Action required:', []]] as const) {
				const r = await agentMail({ subject: `Fwd: ${subject}`, text: ['fyi', ...note, '', ...signature, '', ...gmail(subject)].join('\n') });
				expect(r.originalSender).toMatchObject({ address: 'mallory@partner.example', method: 'inline-forward', trusted: true });
			}
			const attached = await agentMail({ subject: 'Fwd:', text: signature.join('\n'), attachments: [{ content: await outsiderMail(), contentType: 'message/rfc822', filename: 'fwd.eml' }] });
			expect(attached.originalSender).toMatchObject({ address: 'mallory@partner.example', method: 'attached-message', trusted: true });
		});

		it('the outsider sending it directly stays the sender', async () => {
			const r = await explain(await outsiderMail());
			expect(r.originalSender).toMatchObject({ address: 'mallory@partner.example', method: 'from-header' });
		});
	});

	describe('Authentication-Results written by the SMTP client', () => {
		const stamped = async () => prependHeaders(await customerMail(), 'Authentication-Results: mx.company.test; spf=pass smtp.mailfrom=customer.test; dkim=pass header.d=customer.test; dmarc=pass header.from=customer.test');
		const inbox = { ...INBOX, trustedAuthservIds: ['mx.company.test'] };

		it('are not believed from a client that is not a trusted relay, and the reason says how to fix it', async () => {
			const r = await explain(await stamped(), ['--client-ip', '203.0.113.9', '--mail-from', 'carol@customer.test'], inbox);
			expect(r.verdict).toMatchObject({ action: 'reject', smtpCode: 550 });
			expect(r.verdict.flags).toContain('authentication-results-ignored');
			expect(r.verdict.reasons).toContainEqual(expect.stringContaining('the inbox names no trustedRelays'));
		});

		it('are believed from a trusted relay with its own authserv-id, and from the mailbox server over IMAP', async () => {
			const relayed = await explain(await stamped(), ['--client-ip', '192.0.2.70'], { ...inbox, trustedRelays: ['192.0.2.64/26'] });
			expect(relayed.verdict.action).toBe('accept');
			expect(relayed.verdict.flags).toContain('dmarc-fail-relay-rescued');
			const imap = await explain(await stamped(), ['--via', 'imap'], inbox);
			expect(imap.verdict.action).toBe('accept');
		});
	});

	describe('an ARC seal that vouches for nothing', () => {
		const forwarded = async () => rewriteHeader(await sign(await customerMail(), world.customer), 'Subject', (s) => `[fwd] ${s}`);
		const envelope = ['--client-ip', '203.0.113.50', '--mail-from', 'bounce@forwarder.test'];

		it('a trusted sealer whose own ARC-Authentication-Results say dmarc=fail does not rescue DMARC', async () => {
			const sealed = await arcSeal(await forwarded(), world.forwarder, 'forwarder.test; dkim=fail header.d=customer.test; dmarc=fail header.from=customer.test');
			const r = await explain(sealed, envelope, { ...INBOX, trustedArcSealers: ['forwarder.test'] });
			expect(r.auth?.arc).toMatchObject({ result: 'pass', sealer: 'forwarder.test', trusted: true, vouch: null });
			expect(r.verdict).toMatchObject({ action: 'reject', smtpCode: 550 });
		});

		it('a multi-tenant sealer is not trusted by default, even when its record says pass; google.com is', async () => {
			const record = (id: string) => `${id}; dkim=pass header.d=customer.test; dmarc=pass header.from=customer.test`;
			const tenantSealed = await explain(await arcSeal(await forwarded(), tenant, record('mx.microsoft.com')), envelope);
			expect(tenantSealed.auth?.arc).toMatchObject({ result: 'pass', sealer: 'microsoft.com', trusted: false });
			expect(tenantSealed.verdict.action).toBe('reject');
			const gmailSealed = await explain(await arcSeal(await forwarded(), gmail, record('mx.google.com')), envelope);
			expect(gmailSealed.verdict.action).toBe('accept');
			expect(gmailSealed.verdict.flags).toContain('dmarc-fail-arc-rescued');
		});
	});
});
