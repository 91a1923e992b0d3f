import { arcSeal, compose, GOOGLE_GROUPS_SIGNED_FIELDS, makeKey, prependHeaders, sign, testInbox, testWorld, zoneOf } from '../../fixtures/mail';
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

	it('follows a chain through team members only, and reads labels email-forward-parser lacks', async () => {
		const chain = (middle: string) =>
			[
				'see below',
				'',
				'---------- Forwarded message ---------',
				`From: Bob Middle <${middle}>`,
				'Subject: Fwd: Order',
				'To: agent@company.test',
				'',
				'---------- Forwarded message ---------',
				'From: Carol Customer <carol@customer.test>',
				'Subject: Order',
				`To: ${middle}`,
				'',
				'late again',
			].join('\n');
		// An agent forwarding a colleague's forward of a customer's mail: the customer.
		const colleague = await sign(await compose({ from: 'agent@company.test', to: inbox.address, subject: 'Fwd: Fwd: Order', text: chain('bob@company.test') }), world.company);
		const r = await explain(colleague, inbox, zone);
		expect(r.originalSender).toMatchObject({ address: 'carol@customer.test', method: 'inline-forward', forwardedBy: 'agent@company.test', trusted: true });
		expect(r.originalSender?.evidence[0]).toContain('the deepest of 2 forwards passed on by team members (agent@company.test > bob@company.test > carol@customer.test)');
		// An agent forwarding a partner's mail: the partner; what the partner's mail claims is only reported.
		const partner = await sign(await compose({ from: 'agent@company.test', to: inbox.address, subject: 'Fwd: Fwd: Order', text: chain('bob@partner.example') }), world.company);
		const p = await explain(partner, inbox, zone);
		expect(p.originalSender).toMatchObject({ address: 'bob@partner.example', method: 'inline-forward', trusted: true });
		expect(p.originalSender?.evidence).toContainEqual(expect.stringMatching(/holds an inline forwarded block \(read by [a-z-]+\) from carol@customer\.test: not followed/));

		const estonian = ['Vaata seda', '', '-------- Edastatud kiri --------', 'Teema: Tellimus', 'Kuupäev: 02.03.2025 09:00', 'Saatja: Mari Maasikas <mari@klient.example>', 'Saaja: agent@company.test', '', 'Minu tellimus hilineb.'].join('\n');
		const chinese = ['看看这个', '', '---------- 转发的邮件 ---------', '发件人： 王伟 <wang.wei@kehu.example>', '日期：2025年3月2日 09:00', '主题：订单', '收件人： <agent@company.test>', '', '我的订单迟到了。'].join('\n');
		for (const [text, author] of [[estonian, 'mari@klient.example'], [chinese, 'wang.wei@kehu.example']]) {
			const raw = await sign(await compose({ from: 'agent@company.test', to: inbox.address, subject: 'Edasi: x', text }), world.company);
			expect((await explain(raw, inbox, zone)).originalSender).toMatchObject({ address: author, method: 'inline-forward', trusted: true });
		}
	});

	it('a forwarded From line with a name and no address leaves the outer sender standing, untrusted and flagged, never the To', async () => {
		const text = ['FYI', '', '________________________________', 'From: Carol Customer', 'Sent: Monday, 3 March 2025 10:00', 'To: Bob Partner <bob@partner.example>', 'Subject: Order late', '', 'Where is it?'].join('\n');
		const raw = await sign(await compose({ from: 'Alex Agent <agent@company.test>', to: inbox.address, subject: 'FW: Order late', text }), world.company);
		const r = await explain(raw, inbox, zone);
		expect(r.originalSender).toMatchObject({ address: 'agent@company.test', method: 'from-header', trusted: false, subject: 'Order late' });
		expect(r.verdict.flags).toContain('forward-author-without-address');
		expect(r.verdict.reasons).toContainEqual(expect.stringContaining('names its author "Carol Customer" without an address'));
	});

	it('a forwarded From line naming two addresses believes neither: a display name can carry any address', async () => {
		const forwardOf = (fromLine: string, separator = '---------- Forwarded message ---------') =>
			['FYI', '', separator, fromLine, 'Date: Mon, 3 Mar 2025 at 10:00', 'Subject: Wire the money', 'To: Alex Agent <agent@company.test>', '', 'Urgent.'].join('\n');
		const hostile = [
			// What Gmail and Outlook show for From: "Carol Customer <carol@customer.test>" <mallory@evil.example>
			forwardOf('From: Carol Customer <carol@customer.test> <mallory@evil.example>'),
			forwardOf('From: Carol Customer <carol@customer.test> <mallory@evil.example>', '________________________________'),
			forwardOf('From: "carol@customer.test" <mallory@evil.example>'),
			// A label inside the display name, as Yahoo's text runs its fields together, in a block whose fields have lines
			forwardOf('From: Carol Customer <carol@customer.test>To: Alex <mallory@evil.example>'),
			// Outlook's "on behalf of", with the delegate (a Sender header anyone can write) of another domain
			forwardOf('From: Carol Customer <carol@customer.test> on behalf of Mallory <mallory@evil.example>', '________________________________'),
			// The real address pushed beyond what the reader sees of a line
			forwardOf(`From: Carol Customer <carol@customer.test> ${'x'.repeat(200)} <mallory@evil.example>`),
		];
		for (const text of hostile) {
			const raw = await sign(await compose({ from: 'Alex Agent <agent@company.test>', to: inbox.address, subject: 'Fwd: Wire the money', text }), world.company);
			const r = await explain(raw, inbox, zone);
			expect(r.originalSender).toMatchObject({ address: 'agent@company.test', method: 'from-header', trusted: false, forwardedBy: null });
			expect(r.verdict.flags).toContain('forward-author-ambiguous');
			expect(r.verdict.reasons).toContainEqual(expect.stringContaining('names more than one address on its From line (carol@customer.test'));
		}
		// Outlook's "A on behalf of B" within one domain too: A is a Sender header, and on a shared domain anyone is B.
		const delegate = forwardOf('From: John Doe <john@customer.test> on behalf of support@customer.test <support@customer.test>', '________________________________');
		const raw = await sign(await compose({ from: 'Alex Agent <agent@company.test>', to: inbox.address, subject: 'FW: x', text: delegate }), world.company);
		expect((await explain(raw, inbox, zone)).originalSender).toMatchObject({ address: 'agent@company.test', method: 'from-header', trusted: false });
	});

	it("reads an HTML-only Outlook forward (<b>From:</b> …) in a language the library lacks, and a quoted forward in a colleague's forward", async () => {
		const html = '<p>FYI</p><hr><p><b>Από:</b> Γιάννης &lt;giannis@pelatis.example&gt;<br><b>Αποστολή:</b> Δευτέρα<br><b>Προς:</b> agent@company.test<br><b>Θέμα:</b> Τιμολόγιο 77</p><p>κείμενο</p>';
		const raw = await sign(await compose({ from: 'agent@company.test', to: inbox.address, subject: 'ΠΡΘ: Τιμολόγιο 77', html }), world.company);
		expect((await explain(raw, inbox, zone)).originalSender).toMatchObject({ address: 'giannis@pelatis.example', method: 'inline-forward', trusted: true, subject: 'Τιμολόγιο 77' });

		const chain = [
			'see below', '', '---------- Forwarded message ---------', 'From: Bob Middle <bob@company.test>', 'Date: Tue', 'Subject: Fwd: Order', 'To: agent@company.test', '',
			'> see the customer\'s mail', '>', '> > -------- Πρωτότυπο μήνυμα --------', '> > Από: Carol <carol@customer.test>', '> > Αποστολή: Δευτέρα', '> > Προς: bob@company.test', '> > Θέμα: Order', '> >', '> > late again',
		].join('\n');
		const colleague = await sign(await compose({ from: 'agent@company.test', to: inbox.address, subject: 'Fwd: Fwd: Order', text: chain }), world.company);
		const c = await explain(colleague, inbox, zone);
		expect(c.originalSender).toMatchObject({ address: 'carol@customer.test', method: 'inline-forward', trusted: true, subject: 'Order' });
		expect(c.originalSender?.evidence[0]).toContain('agent@company.test > bob@company.test > carol@customer.test');
	});

	it("names the forwarded message's subject: its block's Subject, else the outer subject without forward prefixes", async () => {
		const withoutSubject = ['FYI', '', '---------- Forwarded message ---------', 'From: Carol <carol@customer.test>', 'Date: Mon, 3 Mar 2025', 'To: agent@company.test', '', 'Hello'].join('\n');
		const raw = await sign(await compose({ from: 'agent@company.test', to: inbox.address, subject: 'Fwd: Fw: WG: Question about invoice 77', text: withoutSubject }), world.company);
		const r = await explain(raw, inbox, zone);
		expect(r.originalSender).toMatchObject({ address: 'carol@customer.test', subject: 'Question about invoice 77' });
		const own = await sign(await compose({ from: 'agent@company.test', to: inbox.address, subject: 'TR: whatever', text: forwardBody('FYI') }), world.company);
		expect((await explain(own, inbox, zone)).originalSender?.subject).toBe('Order late');
		// Not a forward: no subject of its own.
		const plain = await sign(await compose({ from: 'carol@customer.test', to: inbox.address, subject: 'Fwd: x', text: 'hi' }), world.customer);
		expect((await explain(plain, inbox, zone)).originalSender?.subject).toBeNull();
	});

	it('takes the deepest attached message/rfc822 reached through team members', async () => {
		const original = await compose({ from: 'Carol <carol@customer.test>', to: 'bob@company.test', subject: 'Order', text: 'late' });
		const attach = (content: Buffer) => [{ content, contentType: 'message/rfc822', filename: 'fwd.eml' }];
		const forwardOf = async (middle: string) => {
			const inner = await compose({ from: middle, to: 'agent@company.test', subject: 'Fwd: Order', text: 'see attached', attachments: attach(original) });
			return await sign(await compose({ from: 'agent@company.test', to: inbox.address, subject: 'Fwd: Order', text: 'for the queue', attachments: attach(inner) }), world.company);
		};
		const r = await explain(await forwardOf('bob@company.test'), inbox, zone);
		expect(r.originalSender).toMatchObject({ address: 'carol@customer.test', method: 'attached-message', forwardedBy: 'agent@company.test', trusted: true, subject: 'Order' });
		const outsider = await explain(await forwardOf('bob@partner.example'), inbox, zone);
		expect(outsider.originalSender).toMatchObject({ address: 'bob@partner.example', method: 'attached-message', trusted: true });
		expect(outsider.originalSender?.evidence).toContainEqual(expect.stringContaining('holds an attached message/rfc822 from carol@customer.test: not followed'));
	});

	it('counts a subdomain of an internal domain as internal only when it is listed', async () => {
		const raw = await sign(await compose({ from: 'agent@eu.company.test', to: inbox.address, subject: 'Fwd: Order late', text: forwardBody('FYI') }), world.company);
		const unlisted = await explain(raw, inbox, zone);
		expect(unlisted.auth?.dmarc.result).toBe('pass');
		expect(unlisted.originalSender).toMatchObject({ address: 'agent@eu.company.test', method: 'from-header' });
		const listed = await explain(raw, testInbox({ internalDomains: ['company.test', 'eu.company.test'] }), zone);
		expect(listed.originalSender).toMatchObject({ address: 'carol@customer.test', method: 'inline-forward', trusted: true });
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

	it('names the poster of a list rewrite, trusted only for a list domain the inbox names, an internal list, or a trusted ARC seal', async () => {
		const list = (address = 'support@lists.example.test') =>
			compose({
				from: `"'Jane Doe' via Support" <${address}>`,
				replyTo: 'Jane Doe <jane@customer.test>',
				to: address,
				subject: 'Help',
				text: 'x',
				headers: { 'X-Original-From': 'Jane Doe <jane@customer.test>', 'X-Original-Sender': 'jane@customer.test' },
			});
		// A list signs the fields it writes that name the poster.
		const listFields = `${GOOGLE_GROUPS_SIGNED_FIELDS}:x-original-from`;
		const signed = await sign(await list(), world.list, listFields);
		// Any domain can sign its own mail: the list's DKIM counts only for a list domain the inbox names.
		const unnamed = await explain(signed, inbox, zone);
		expect(unnamed.originalSender).toMatchObject({ address: 'jane@customer.test', method: 'list-rewrite', forwardedBy: 'support@lists.example.test', trusted: false });
		expect(unnamed.verdict.flags).toContain('list-rewrite-untrusted');
		const named = await explain(signed, testInbox({ trustedListDomains: ['lists.example.test'] }), zone);
		expect(named.originalSender).toMatchObject({ address: 'jane@customer.test', method: 'list-rewrite', trusted: true });
		expect(named.verdict.flags).not.toContain('list-rewrite-untrusted');
		const unsigned = await explain(await list(), testInbox({ trustedListDomains: ['lists.example.test'] }), zone);
		expect(unsigned.originalSender).toMatchObject({ address: 'jane@customer.test', method: 'list-rewrite', trusted: false });
		const other = makeKey('elsewhere.example');
		const wrongDomain = await explain(await sign(await list(), other, listFields), testInbox({ trustedListDomains: ['lists.example.test'] }), zoneOf(zone, other.zone));
		expect(wrongDomain.originalSender?.trusted).toBe(false);

		// The team's own group (a Workspace group on an internal domain) whose message authenticates.
		const internal = await explain(await sign(await list('support@company.test'), world.company, listFields), inbox, zone);
		expect(internal.originalSender).toMatchObject({ address: 'jane@customer.test', method: 'list-rewrite', trusted: true });
		// Its message authenticates, but a signature that leaves out the field naming the poster vouches for nobody.
		const unsignedField = await explain(await sign(await list('support@company.test'), world.company), inbox, zone);
		expect(unsignedField.auth?.dmarc.result).toBe('pass');
		expect(unsignedField.originalSender).toMatchObject({ address: 'jane@customer.test', method: 'list-rewrite', trusted: false });

		// A trusted sealer recorded, before the rewrite, that the poster's own mail authenticated.
		const sealedPass = await arcSeal(await list(), world.forwarder, 'forwarder.test; dkim=pass header.d=customer.test; dmarc=pass header.from=customer.test');
		expect((await explain(sealedPass, inbox, zone)).originalSender).toMatchObject({ method: 'list-rewrite', trusted: true });
		const sealedList = await arcSeal(signed, world.forwarder, 'forwarder.test; dkim=pass header.d=lists.example.test; dmarc=pass header.from=lists.example.test');
		expect((await explain(sealedList, inbox, zone)).originalSender).toMatchObject({ method: 'list-rewrite', trusted: false });
	});

	it('does not trust a poster a trusted seal vouches for only through someone else\'s mail of the same domain', async () => {
		// A mail provider many people use (a Gmail): Mallory's own mail passes, and names another user as the poster;
		// the inbox receives it through a trusted sealer (the team's forwarding), which recorded Mallory's pass.
		const provider = makeKey('mail.example.test');
		const posing = (from: string) =>
			compose({ from, to: inbox.address, subject: 'New bank details', text: 'x', headers: { 'X-Original-From': 'Victor <victor@mail.example.test>' } });
		const zoned = zoneOf(zone, provider.zone);
		const neighbour = await arcSeal(await sign(await posing('Mallory <mallory@mail.example.test>'), provider), world.forwarder, 'forwarder.test; dkim=pass header.d=mail.example.test; dmarc=pass header.from=mail.example.test');
		expect((await explain(neighbour, inbox, zoned)).originalSender).toMatchObject({ address: 'victor@mail.example.test', method: 'list-rewrite', trusted: false });
		// The provider's signature on mail sent "as" a list of the attacker's: the sealer saw a From of another domain.
		const sentAs = await arcSeal(await sign(await posing('"\'Victor\' via Orders" <orders@lists.example.test>'), provider), world.forwarder, 'forwarder.test; dkim=pass header.d=mail.example.test; dmarc=fail header.from=lists.example.test');
		expect((await explain(sentAs, inbox, zoned)).originalSender).toMatchObject({ address: 'victor@mail.example.test', method: 'list-rewrite', trusted: false });
	});
});
