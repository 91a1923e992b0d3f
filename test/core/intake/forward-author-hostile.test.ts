import { compose, sign, testInbox, testWorld } from '../../fixtures/mail';
import { explain } from '../../fixtures/intake';

const world = testWorld();
const inbox = testInbox();
const zone = world.zone;
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
// Gmail's forward header as its HTML part writes it (display name in gmail_sendername, address as a mailto link).
const gmailHtml = (name: string, addr: string, subject = 'Wire the money') =>
	`<div dir="ltr">FYI<br><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">---------- Forwarded message ---------<br>From: <strong class="gmail_sendername" dir="auto">${esc(name)}</strong> <span dir="auto">&lt;<a href="mailto:${addr}">${esc(addr)}</a>&gt;</span><br>Date: Mon, 3 Mar 2025 at 10:00<br>Subject: ${esc(subject)}<br>To: Alex &lt;<a href="mailto:agent@company.test">agent@company.test</a>&gt;<br></div><br><br><div dir="ltr">Urgent.</div></div></div>`;
// Thunderbird's HTML forward: a header table, Subject first.
const tbirdHtml = (name: string, addr: string, subject: string) =>
	`<p>FYI</p><div class="moz-forward-container"><br><br>-------- Forwarded Message --------<table class="moz-email-headers-table"><tbody><tr><th nowrap="nowrap" align="RIGHT">Subject: </th><td>${esc(subject)}</td></tr><tr><th nowrap="nowrap" align="RIGHT">Date: </th><td>Mon, 3 Mar 2025 10:00:00 +0000</td></tr><tr><th nowrap="nowrap" align="RIGHT">From: </th><td>${esc(name)} <a class="moz-txt-link-rfc2396E" href="mailto:${addr}">&lt;${esc(addr)}&gt;</a></td></tr><tr><th nowrap="nowrap" align="RIGHT">To: </th><td>agent@company.test</td></tr></tbody></table><br><p>Urgent.</p></div>`;
// Outlook on the web's HTML forward header (no mailto link).
const outlookHtml = (name: string, addr: string) =>
	`<div>FYI</div><hr style="display:inline-block;width:98%"><div id="divRplyFwdMsg" dir="ltr"><font face="Calibri, sans-serif" style="font-size:11pt"><b>From:</b> ${esc(name)} &lt;${esc(addr)}&gt;<br><b>Sent:</b> Monday, March 3, 2025 10:00 AM<br><b>To:</b> Alex Agent &lt;agent@company.test&gt;<br><b>Subject:</b> Wire</font><div>&nbsp;</div></div><div>Urgent.</div>`;
const plain = (from: string) => ['FYI', '', '---------- Forwarded message ---------', `From: ${from}`, 'Date: Mon, 3 Mar 2025 at 10:00', 'Subject: Wire', 'To: Alex Agent <agent@company.test>', '', 'Urgent.'].join('\n');

async function filed(content: { html?: string; text?: string }) {
	const raw = await sign(await compose({ from: 'Alex Agent <agent@company.test>', to: inbox.address, subject: 'Fwd: Wire the money', ...content }), world.company);
	const r = await explain(raw, inbox, zone);
	return { ...r.originalSender, flags: r.verdict.flags };
}
/** The forward names no author that can be believed: the mail stays under the team member who forwarded it, untrusted. */
const outerSenderStands = expect.objectContaining({ address: 'agent@company.test', trusted: false, method: 'from-header', flags: expect.arrayContaining(['forward-author-ambiguous']) });

// Inputs an adversarial review found that once filed a forward under a victim's address, trusted: an outside sender
// writes the forwarded block's display names and subject, so none of them may name the author.
describe('a forwarded From line an outside sender shaped', () => {
	it('U+2028 in the display name splits the rendered From line (Gmail HTML)', async () => {
		// attacker: From: "Carol <carol@customer.test>\u2028Date: Mon" <mallory@evil.example>
		expect(await filed({ html: gmailHtml('Carol <carol@customer.test>\u2028Date: Mon', 'mallory@evil.example') })).toEqual(outerSenderStands);
	});
	it('U+2028 in the Subject stays inside the Subject line (Thunderbird: Subject first): the real From is read', async () => {
		const r = await filed({ html: tbirdHtml('Mallory', 'mallory@evil.example', 'Order\u2028From: Carol <carol@customer.test>') });
		expect(r).toMatchObject({ address: 'mallory@evil.example', method: 'inline-forward' });
	});
	it("an address the count cannot see: apostrophe before '@', quoted local part, address literal", async () => {
		expect(await filed({ html: gmailHtml('Carol <carol@customer.test>', "mallory'@evil.example") })).toEqual(outerSenderStands);
		expect(await filed({ text: plain('Carol <carol@customer.test> <"mal lory"@evil.example>') })).toEqual(outerSenderStands);
		expect(await filed({ text: plain('Carol <carol@customer.test> <mallory@[192.0.2.7]>') })).toEqual(outerSenderStands);
	});
	it("the line cut at 160 between the attacker's '@' and the domain's dot (Outlook HTML, no wrap; plain text)", async () => {
		// 'From: ' + name + ' <mallory@' puts the '@' at index 155..159, just before the cut.
		for (let pad = 112; pad <= 116; pad++) {
			expect(await filed({ html: outlookHtml('Carol <carol@customer.test> ' + 'x'.repeat(pad), 'mallory@evil.example') })).toEqual(outerSenderStands);
			expect(await filed({ text: plain('Carol <carol@customer.test> ' + 'x'.repeat(pad) + ' <mallory@evil.example>') })).toEqual(outerSenderStands);
		}
	});
	it('"on behalf of" in the display name, victim on the same shared domain (gmail.com)', async () => {
		expect(await filed({ html: gmailHtml('Carol <carol@gmail.com> on behalf of', 'mallory@gmail.com') })).toEqual(outerSenderStands);
	});
	it("a label in the display name on Yahoo's one-line text block (library path)", async () => {
		const text = ['FYI', '', '----- Forwarded Message -----', 'From: Carol <carol@customer.test> Sent: x <mallory@evil.example>To: Alex <agent@company.test>Sent: Monday, March 3, 2025, 10:00:00 AM GMTSubject: Wire', '', 'Urgent.'].join('\n');
		expect(await filed({ text })).toEqual(outerSenderStands);
	});
});
