import { compose, makeKey, prependHeaders, sign, testInbox, testWorld, zoneOf } from '../../fixtures/mail';
import { explain } from '../../fixtures/intake';

const world = testWorld();
const inbox = testInbox();
const zone = world.zone;

const forwardBody = (note: string) =>
	[
		note,
		'',
		'---------- Forwarded message ---------',
		'From: Carol Customer <carol@customer.test>',
		'Date: Mon, 3 Mar 2025 at 10:00',
		'Subject: Order late',
		'To: Alex Agent <agent@company.test>',
		'',
		'Where is my order?',
	].join('\n');

describe('original sender stage', () => {
	it('an internal, DKIM-authenticated agent forwarding inline files the mail under the original author', async () => {
		const raw = await sign(await compose({ from: 'Alex Agent <agent@company.test>', to: inbox.address, subject: 'Fwd: Order late', text: forwardBody('FYI, a customer') }), world.company);
		const r = await explain(raw, inbox, zone);
		expect(r.originalSender).toMatchObject({ address: 'carol@customer.test', name: 'Carol Customer', method: 'inline-forward', forwardedBy: 'agent@company.test', trusted: true });
	});

	it('ignores a forwarded block from an outsider, and from an unauthenticated insider', async () => {
		const outsider = await sign(await compose({ from: 'mallory@customer.test', to: inbox.address, subject: 'Fwd: x', text: forwardBody('') }), world.customer);
		expect((await explain(outsider, inbox, zone)).originalSender).toMatchObject({ address: 'mallory@customer.test', method: 'from-header' });
		const unsigned = await compose({ from: 'agent@company.test', to: inbox.address, subject: 'Fwd: x', text: forwardBody('') });
		const r = await explain(unsigned, testInbox({ dmarcPolicy: 'monitor' }), zone);
		expect(r.originalSender).toMatchObject({ address: 'agent@company.test', method: 'from-header', trusted: false });
		expect(r.verdict.flags).toContain('forward-ignored');
	});

	it('follows a chain to the innermost author, and reads labels email-forward-parser lacks', async () => {
		const chain = [
			'see below',
			'',
			'---------- Forwarded message ---------',
			'From: Bob Middle <bob@partner.example>',
			'Subject: Fwd: Order',
			'To: agent@company.test',
			'',
			'---------- Forwarded message ---------',
			'From: Carol Customer <carol@customer.test>',
			'Subject: Order',
			'To: bob@partner.example',
			'',
			'late again',
		].join('\n');
		const chained = await sign(await compose({ from: 'agent@company.test', to: inbox.address, subject: 'Fwd: Fwd: Order', text: chain }), world.company);
		const r = await explain(chained, inbox, zone);
		expect(r.originalSender).toMatchObject({ address: 'carol@customer.test', method: 'inline-forward' });
		expect(r.originalSender?.evidence[0]).toContain('chain of 2');

		const estonian = ['Vaata seda', '', '-------- Edastatud kiri --------', 'Teema: Tellimus', 'Kuupäev: 02.03.2025 09:00', 'Saatja: Mari Maasikas <mari@klient.example>', 'Saaja: agent@company.test', '', 'Minu tellimus hilineb.'].join('\n');
		const chinese = ['看看这个', '', '---------- 转发的邮件 ---------', '发件人： 王伟 <wang.wei@kehu.example>', '日期：2025年3月2日 09:00', '主题：订单', '收件人： <agent@company.test>', '', '我的订单迟到了。'].join('\n');
		for (const [text, author] of [[estonian, 'mari@klient.example'], [chinese, 'wang.wei@kehu.example']]) {
			const raw = await sign(await compose({ from: 'agent@company.test', to: inbox.address, subject: 'Edasi: x', text }), world.company);
			expect((await explain(raw, inbox, zone)).originalSender).toMatchObject({ address: author, method: 'inline-forward', trusted: true });
		}
	});

	it('takes the innermost author of an attached message/rfc822', async () => {
		const original = await compose({ from: 'Carol <carol@customer.test>', to: 'bob@partner.example', subject: 'Order', text: 'late' });
		const middle = await compose({ from: 'bob@partner.example', to: 'agent@company.test', subject: 'Fwd: Order', text: 'see attached', attachments: [{ content: original, contentType: 'message/rfc822', filename: 'order.eml' }] });
		const raw = await sign(await compose({ from: 'agent@company.test', to: inbox.address, subject: 'Fwd: Order', text: 'for the queue', attachments: [{ content: middle, contentType: 'message/rfc822', filename: 'fwd.eml' }] }), world.company);
		const r = await explain(raw, inbox, zone);
		expect(r.originalSender).toMatchObject({ address: 'carol@customer.test', method: 'attached-message', forwardedBy: 'agent@company.test', trusted: true });
	});

	it('keeps the author of auto-forwards and reports the forwarding mailbox', async () => {
		const base = () => compose({ from: 'carol@customer.test', to: 'sales@company.test', subject: 'hi', text: 'x' });
		const gmail = prependHeaders(await base(), 'X-Forwarded-For: sales@company.test support@inbox.example.test');
		expect((await explain(gmail, inbox, zone)).originalSender).toMatchObject({ address: 'carol@customer.test', method: 'from-header', forwardedBy: 'sales@company.test' });
		const caf = await explain(await base(), inbox, zone, { mailFrom: 'sales+caf_=support=inbox.example.test@company.test' });
		expect(caf.originalSender?.forwardedBy).toBe('sales@company.test');
		const srs = await explain(await base(), inbox, zone, { mailFrom: 'SRS0=Ab12=CD=customer.test=carol@company.onmicrosoft.com' });
		expect(srs.originalSender).toMatchObject({ address: 'carol@customer.test', forwardedBy: 'srs0=ab12=cd=customer.test=carol@company.onmicrosoft.com' });
		const resent = prependHeaders(await base(), 'Resent-From: desk@company.test');
		expect((await explain(resent, inbox, zone)).originalSender?.forwardedBy).toBe('desk@company.test');
	});

	it('names the poster of a list rewrite, trusted only when the list message authenticates', async () => {
		const list = () =>
			compose({
				from: '"\'Jane Doe\' via Support" <support@lists.example.test>',
				replyTo: 'Jane Doe <jane@customer.test>',
				to: 'support@lists.example.test',
				subject: 'Help',
				text: 'x',
				headers: { 'X-Original-From': 'Jane Doe <jane@customer.test>', 'X-Original-Sender': 'jane@customer.test' },
			});
		const signed = await explain(await sign(await list(), world.list), inbox, zone);
		expect(signed.originalSender).toMatchObject({ address: 'jane@customer.test', method: 'list-rewrite', forwardedBy: 'support@lists.example.test', trusted: true });
		const unsigned = await explain(await list(), inbox, zone);
		expect(unsigned.originalSender).toMatchObject({ address: 'jane@customer.test', method: 'list-rewrite', trusted: false });
		expect(unsigned.verdict.flags).toContain('list-rewrite-untrusted');
		const other = makeKey('elsewhere.example');
		const wrongDomain = await explain(await sign(await list(), other), inbox, zoneOf(zone, other.zone));
		expect(wrongDomain.originalSender?.trusted).toBe(false);
	});
});
