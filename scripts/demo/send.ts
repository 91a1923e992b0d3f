/**
 * npm run demo:send: a handful of realistic forwarded emails to the running demo's hosted address (a Google Group
 * rewrite, an agent's manual forward, a customer's reply, a new customer), then the conversations, assignments and
 * tickets they became, read back with `hosted-inbox store`.
 */
import fs from 'node:fs';

import { createTransport } from 'nodemailer';

import { compose, GOOGLE_GROUPS_SIGNED_FIELDS, sign } from '../../test/fixtures/mail';
import { waitForPort } from '../../test/support/ports';
import { sleep, storeList, type N8nInstall } from '../../test/support/real-n8n';
import { DEMO_COMPANY, demoKey, demoStatePath, type DemoState } from './state';

interface Sample {
	label: string;
	/** Envelope sender, as the forwarding server gives it. */
	mailFrom: string;
	/** Signed with the demo company's DKIM key (what Google Workspace does for its groups and users). */
	signed: boolean;
	/** The header fields its signature signs (colon-separated), where not mailauth's default list. */
	signedFields?: string;
	headers: Parameters<typeof compose>[0];
}

function samples(address: string): Sample[] {
	return [
		{
			label: 'Google Group rewrite (list rewrites the sender; the original poster is Jane)',
			mailFrom: `support+bncBDemo@${DEMO_COMPANY}`,
			signed: true,
			// As a Google group signs its mail, the X-Original-Sender naming the poster included.
			signedFields: GOOGLE_GROUPS_SIGNED_FIELDS,
			headers: {
				from: `'Jane Customer' via Support <support@${DEMO_COMPANY}>`,
				replyTo: 'Jane Customer <jane@customer.test>',
				to: `Support <support@${DEMO_COMPANY}>`,
				subject: 'Order #1042 arrived damaged',
				messageId: '<order-1042.jane@customer.test>',
				headers: {
					'X-Original-Sender': 'jane@customer.test',
					'List-ID': `<support.${DEMO_COMPANY}>`,
					'X-Forwarded-To': address,
				},
				text: 'Hello,\n\nthe parcel for order #1042 arrived with a cracked lid. Could you send a replacement?\n\nJane',
			},
		},
		{
			label: "Agent's manual forward (Ana forwards Bob's email; the contact is Bob, not Ana)",
			mailFrom: `ana@${DEMO_COMPANY}`,
			signed: true,
			headers: {
				from: `Ana Alves <ana@${DEMO_COMPANY}>`,
				to: address,
				subject: 'Fwd: Question about invoice 77',
				messageId: `<fwd-invoice-77.ana@${DEMO_COMPANY}>`,
				text:
					'Can someone take this one?\n\n' +
					'---------- Forwarded message ---------\n' +
					'From: Bob Buyer <bob@example.org>\n' +
					'Date: Mon, 3 Mar 2025 at 09:12\n' +
					'Subject: Question about invoice 77\n' +
					`To: Ana Alves <ana@${DEMO_COMPANY}>\n\n` +
					'Hi Ana, invoice 77 lists the shipping fee twice. Could you check?\n\nBob\n',
			},
		},
		{
			label: "Customer reply (Jane answers; it threads into her conversation and keeps its assignee)",
			mailFrom: 'jane@customer.test',
			signed: false,
			headers: {
				from: 'Jane Customer <jane@customer.test>',
				to: address,
				subject: 'Re: Order #1042 arrived damaged',
				messageId: '<order-1042-photos.jane@customer.test>',
				inReplyTo: '<order-1042.jane@customer.test>',
				references: ['<order-1042.jane@customer.test>'],
				text: 'Here are the photos of the lid. Thanks for the quick help!\n\nJane',
			},
		},
		{
			label: 'New customer writing directly',
			mailFrom: 'li.wei@example.net',
			signed: false,
			headers: {
				from: 'Li Wei <li.wei@example.net>',
				to: address,
				subject: 'Can I change my delivery address?',
				messageId: '<delivery-address.li@example.net>',
				text: 'Hi, I moved last week. Can order #1077 still go to my new address?\n\nLi',
			},
		},
	];
}

async function main(): Promise<void> {
	const state = fs.existsSync(demoStatePath()) ? (JSON.parse(fs.readFileSync(demoStatePath(), 'utf8')) as DemoState) : null;
	if (!state || !(await waitForPort(state.smtpPort, state.smtpHost, 2000).then(() => true, () => false))) {
		throw new Error('no demo is running: start it with `npm run demo` first');
	}
	const key = demoKey(state.privateKey);
	const transport = createTransport({ host: state.smtpHost, port: state.smtpPort, secure: false, ignoreTLS: true, name: 'mail.company.test' });
	try {
		for (const sample of samples(state.address)) {
			const raw = await compose(sample.headers);
			await transport.sendMail({
				envelope: { from: sample.mailFrom, to: state.address },
				raw: sample.signed ? await sign(raw, key, sample.signedFields) : raw,
			});
			process.stdout.write(`sent: ${sample.label}\n`);
		}
	} finally {
		transport.close();
	}

	// The workflow runs after the 250: give it a moment, then show what the mail became.
	const install: N8nInstall = { version: '', dir: '', nodeBin: state.nodeBin, n8nBin: '' };
	type Row = { id: string; email?: string; contactId?: string; assigneeId?: string | null; subject?: string; conversationId?: string; name?: string; stage?: string };
	let conversations: Row[] = [];
	for (let i = 0; i < 60 && conversations.length < 3; i++) {
		await sleep(1000);
		conversations = await storeList<Row>(install, state.store, 'conversations');
	}
	const contacts = new Map((await storeList<Row>(install, state.store, 'contacts')).map((c) => [c.id, c.email]));
	const agents = new Map((await storeList<Row>(install, state.store, 'agents')).map((a) => [a.id, a.email]));
	const tickets = new Map((await storeList<Row>(install, state.store, 'tickets')).map((t) => [t.conversationId, t]));
	process.stdout.write(`\n${conversations.length} conversations in ${state.store}:\n`);
	for (const c of conversations) {
		const ticket = tickets.get(c.id);
		process.stdout.write(
			`- ${contacts.get(c.contactId!)}: "${c.subject}" -> ${c.assigneeId ? agents.get(c.assigneeId) : 'unassigned'}` +
				`${ticket ? `, ticket "${ticket.name}" (${ticket.stage})` : ''}\n`,
		);
	}
	process.stdout.write(`\nOpen ${state.editor} to see the executions.\n`);
}

main().catch((error: Error) => {
	process.stderr.write(`demo:send: ${error.message}\n`);
	process.exit(1);
});
