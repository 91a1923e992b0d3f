import { compose, sign, testInbox, testWorld, makeKey, zoneOf } from '../../fixtures/mail';
import { explain } from '../../fixtures/intake';
import { newForwardingToken } from '../../../core/forwarding/token';

const world = testWorld();
const google = makeKey('google.com', '20230601');
const zone = zoneOf(world.zone, google.zone);
const inbox = testInbox();

/** The shape Gmail sends (body wording from real confirmations: a vf- confirm link, a uf- cancel link, a help article number). */
function gmailBody(requester: string, code: string | null): string {
	return [
		`${requester} has requested to automatically forward mail to your email address ${inbox.address}.`,
		...(code ? [`Confirmation code: ${code}`] : []),
		'',
		`To allow ${requester} to automatically forward mail to your address, please click the link below to confirm the request:`,
		'',
		'https://mail-settings.google.com/mail/vf-%5BANGjdJ9e4eXp5hKey8Wz%5D-158Amv9LHmEse',
		'',
		'If you do not approve of this request, no further action is required. To cancel:',
		'https://mail-settings.google.com/mail/uf-%5BANGjdJ_7_PEARZi1RyJJ%5D-158Amv9LHmEse',
		'Learn more at http://support.google.com/mail/bin/answer.py?answer=184973.',
	].join('\n');
}

async function confirmation(subject: string, body: string, signed = true): Promise<Buffer> {
	const raw = await compose({ from: 'Gmail Team <forwarding-noreply@google.com>', to: inbox.address, subject, text: body });
	return signed ? await sign(raw, google) : raw;
}

describe('classify stage', () => {
	it('reads a Gmail forwarding confirmation: code, vf- link (never uf-), requester', async () => {
		const raw = await confirmation('(#123456789) Gmail Forwarding Confirmation - Receive Mail from jane@gmail.com', gmailBody('jane@gmail.com', '123456789'));
		const r = await explain(raw, inbox, zone);
		expect(r.kind).toBe('forwarding-confirmation');
		expect(r.verification).toEqual({
			provider: 'google',
			code: '123456789',
			confirmUrl: 'https://mail-settings.google.com/mail/vf-%5BANGjdJ9e4eXp5hKey8Wz%5D-158Amv9LHmEse',
			requestedBy: 'jane@gmail.com',
		});
		expect(r.verdict.flags).not.toContain('verification-unauthenticated');
	});

	it('handles a Workspace organisation name, a localised subject and a missing code', async () => {
		const workspace = await explain(await confirmation('(#99887766) Acme Corp Forwarding Confirmation - Receive Mail from ops@acme.example', gmailBody('ops@acme.example', '99887766')), inbox, zone);
		expect(workspace.verification).toMatchObject({ code: '99887766', requestedBy: 'ops@acme.example' });
		const german = await explain(await confirmation('(#555444333) Bestätigung der Gmail-Weiterleitung – E-Mails von max@gmail.com empfangen', gmailBody('max@gmail.com', null)), inbox, zone);
		expect(german.verification).toMatchObject({ code: '555444333', requestedBy: 'max@gmail.com' });
		const noCode = await explain(await confirmation('(Gmail Forwarding Confirmation - Receive Mail from omar@gmail.com', gmailBody('omar@gmail.com', null)), inbox, zone);
		expect(noCode.kind).toBe('forwarding-confirmation');
		expect(noCode.verification?.code).toBeNull();
		expect(noCode.verification?.confirmUrl).toContain('/mail/vf-');
	});

	it('flags a confirmation not signed by google.com', async () => {
		const raw = await confirmation('(#123456789) Gmail Forwarding Confirmation - Receive Mail from x@gmail.com', gmailBody('x@gmail.com', '123456789'), false);
		const r = await explain(raw, inbox, zone);
		expect(r.verdict.flags).toContain('verification-unauthenticated');
	});

	it('recognises the package\'s own forwarding test token, issued for this inbox, and keeps it out of the result', async () => {
		const token = newForwardingToken(inbox.address);
		const raw = await compose({ from: 'ops@company.test', to: 'Ops <ops@company.test>', subject: 'test', text: 'x', headers: { 'X-Hosted-Inbox-Verify': token } });
		const r = await explain(raw, inbox, zone);
		expect(r.kind).toBe('forwarding-test');
		expect(r.verification).toEqual({ provider: 'hosted-inbox', code: null, confirmUrl: null, requestedBy: 'ops@company.test' });
		expect(JSON.stringify(r)).not.toContain(token);
	});

	it.each([
		['an arbitrary value', 'tok_1234567890abcdef'],
		['a token issued for another inbox', newForwardingToken('someone-else@inbox.example.test')],
	])('takes a test header with %s as an ordinary message, flagged', async (_label, value) => {
		const raw = await compose({ from: 'ops@company.test', to: inbox.address, subject: 'test', text: 'x', headers: { 'X-Hosted-Inbox-Verify': value } });
		const r = await explain(raw, inbox, zone);
		expect(r.kind).toBe('message');
		expect(r.verification).toBeNull();
		expect(r.verdict.flags).toContain('forwarding-test-foreign');
	});

	it.each([
		['Auto-Submitted: auto-replied', { 'Auto-Submitted': 'auto-replied' }],
		['X-Autoreply', { 'X-Autoreply': 'yes' }],
		['Exchange inbox rule', { 'X-Auto-Response-Suppress': 'All', 'X-MS-Exchange-Inbox-Rules-Loop': 'jane@customer.test' }],
		['Precedence: auto_reply', { Precedence: 'auto_reply' }],
	])('classifies an auto-reply by %s', async (_label, headers) => {
		const raw = await compose({ from: 'jane@customer.test', to: inbox.address, subject: 'Re: your ticket', text: 'I am away', headers });
		expect((await explain(raw, inbox, zone)).kind).toBe('auto-reply');
	});

	it('does not take Auto-Submitted: no for an auto-reply, and spots a vacation subject', async () => {
		const no = await compose({ from: 'jane@customer.test', to: inbox.address, subject: 'Hello', text: 'x', headers: { 'Auto-Submitted': 'no' } });
		expect((await explain(no, inbox, zone)).kind).toBe('message');
		const vacation = await compose({ from: 'jane@customer.test', to: inbox.address, subject: 'Out of Office: back Monday', text: 'x' });
		expect((await explain(vacation, inbox, zone)).kind).toBe('auto-reply');
	});

	it('classifies a DSN and a mailer-daemon message as bounces, before auto-replies', async () => {
		const dsn = Buffer.from(
			[
				'From: Mail Delivery System <MAILER-DAEMON@mx.customer.test>',
				'To: support@inbox.example.test',
				'Subject: Undelivered Mail Returned to Sender',
				'Auto-Submitted: auto-replied',
				'MIME-Version: 1.0',
				'Content-Type: multipart/report; report-type=delivery-status; boundary="b"',
				'',
				'--b',
				'Content-Type: text/plain',
				'',
				'could not be delivered',
				'--b',
				'Content-Type: message/delivery-status',
				'',
				'Final-Recipient: rfc822; nobody@customer.test',
				'Action: failed',
				'Status: 5.1.1',
				'--b--',
				'',
			].join('\r\n'),
		);
		expect((await explain(dsn, inbox, zone)).kind).toBe('bounce');
		const daemon = await compose({ from: 'mailer-daemon@mx.example.test', to: inbox.address, subject: 'failure', text: 'x' });
		expect((await explain(daemon, inbox, zone)).kind).toBe('bounce');
	});

	it.each<[string, Record<string, string>, string[]]>([
		['Auto-Submitted: auto-generated', { 'Auto-Submitted': 'auto-generated' }, ['auto-submitted']],
		['Auto-Submitted: no', { 'Auto-Submitted': 'no' }, []],
		['Precedence: bulk', { Precedence: 'Bulk' }, ['bulk']],
		['Precedence: list', { Precedence: 'list' }, ['list']],
		['a newsletter (List-Unsubscribe)', { 'List-Unsubscribe': '<mailto:u@news.test>' }, ['list']],
		['a mailing list (List-Id)', { 'List-Id': 'Support <support.lists.example.test>' }, ['list']],
		['our loop marker', { 'X-Hosted-Inbox-Loop': 'support@inbox.example.test' }, ['loop']],
		['one of our Message-IDs', { 'Message-ID': '<hosted-inbox.1b2c@inbox.example.test>' }, ['own-mail']],
		['a plain message', {}, []],
	])('flags automated, list and our own mail for what answers it: %s', async (_name, headers, flags) => {
		const raw = await compose({ from: 'carol@customer.test', to: inbox.address, subject: 'hello', text: 'x', headers });
		const automation = (await explain(raw, inbox, {})).verdict.flags.filter((f) => ['auto-submitted', 'bulk', 'list', 'loop', 'own-mail'].includes(f));
		expect(automation).toEqual(flags);
	});
});
