/**
 * A second process writing to the embedded store (as the CLI does next to n8n): records messages in a loop,
 * routes each new conversation, and prints "ok <Message-ID>" only after the write is committed.
 * argv: <script> <db path> <prefix> <count> <inbox address>
 */
import { openStore } from '../../../../core/store/open';

async function main(): Promise<void> {
	const [path, prefix, countArg, address] = process.argv.slice(3);
	const count = Number(countArg);
	const store = await openStore({ engine: 'sqlite', path });
	const inbox = await store.registerInbox({ address });
	const agentIds = (await store.listAgents({ active: true })).map((agent) => agent.id);
	for (let i = 0; i < count; i++) {
		const { contact } = await store.findOrCreateContact(inbox.id, { email: `contact${i % 20}@customer.example.test` });
		const messageId = `${prefix}-${i}@writer.example.test`;
		const result = await store.recordMessage({
			inboxId: inbox.id,
			contactId: contact.id,
			direction: 'in',
			messageId,
			inReplyTo: [],
			references: [],
			from: contact.email,
			to: [address],
			cc: [],
			subject: `message ${i}`,
			text: `body ${i}`,
			html: null,
			size: 100,
			receivedAt: new Date().toISOString(),
			authSummary: null,
			originalSenderMethod: 'from-header',
		});
		if (result.outcome === 'new-conversation' && agentIds.length > 0) {
			const agentId = await store.pickNextAgent('writers', agentIds);
			await store.assignConversationIfUnassigned(result.conversation.id, { assigneeId: agentId!, teamId: null, rule: 'round-robin', reason: prefix });
		}
		process.stdout.write(`ok ${messageId}\n`);
	}
	await store.close();
	process.stdout.write('done\n');
}

main().then(
	() => process.exit(0),
	(error: Error) => {
		process.stderr.write(`${error.stack}\n`);
		process.exit(1);
	},
);
