import { messageIdList } from '../../../core/intake/stages/thread-keys';
import { isOwnMessageId, newOutboundMessageId, normalizeMessageId } from '../../../core/store/message-id';
import { describeEachStore } from '../../support/stores';
import { inbound, uniqueEmail } from './fixtures';

describe('the one Message-ID normaliser', () => {
	it('lower-cases the domain and keeps the local part as written (RFC 5322)', () => {
		expect(normalizeMessageId('<Order.7@Customer.EXAMPLE.test>')).toBe('Order.7@customer.example.test');
		expect(normalizeMessageId(' <<Order.7@customer.example.TEST>> ')).toBe('Order.7@customer.example.test');
		expect(normalizeMessageId('<order.7@customer.example.test>')).not.toBe(normalizeMessageId('<Order.7@customer.example.test>'));
		expect(normalizeMessageId('<no-domain>')).toBe('no-domain');
		for (const unusable of ['', '<>', '  ', '<a b@example.test>']) expect(normalizeMessageId(unusable)).toBeNull();
	});

	it('is what the intake reads from the headers and what our outbound ids are made of', () => {
		expect(messageIdList(['<Order.7@Customer.EXAMPLE.test>', 'Order.7@customer.example.TEST'])).toEqual(['Order.7@customer.example.test']);
		const ours = newOutboundMessageId('Inbox.Example.TEST');
		expect(ours).toMatch(/@inbox\.example\.test$/);
		expect(normalizeMessageId(`<${ours}>`)).toBe(ours);
		expect(isOwnMessageId(`<${ours.replace('inbox.example.test', 'INBOX.Example.test')}>`)).toBe(true);
	});
});

describeEachStore('Message-ID identity in the store', (getStore) => {
	it('takes a copy whose Message-ID differs only in the domain\'s case for the same message; another local part is another message', async () => {
		const store = getStore();
		const inbox = await store.registerInbox({ address: uniqueEmail('support', 'inbox.example.test') });
		const { contact } = await store.findOrCreateContact(inbox.id, { email: uniqueEmail('ann') });
		const local = `Order.${Date.now()}`;
		const copy = { from: contact.email, contentHash: 'e'.repeat(64) };
		const [asRead] = messageIdList([`<${local}@Customer.EXAMPLE.test>`]);
		const first = await store.recordMessage(inbound(inbox.id, contact.id, { ...copy, messageId: asRead }));
		expect(first.outcome).toBe('new-conversation');

		const [relayed] = messageIdList([`<${local}@customer.example.TEST>`]);
		const again = await store.recordMessage(inbound(inbox.id, contact.id, { ...copy, messageId: relayed }));
		expect(again).toMatchObject({ outcome: 'duplicate', message: { id: first.message.id } });
		expect((await store.findMessage(inbox.id, `<${local}@CUSTOMER.example.test>`))?.id).toBe(first.message.id);

		const other = await store.recordMessage(inbound(inbox.id, contact.id, { ...copy, messageId: `<${local.toLowerCase()}@customer.example.test>` }));
		expect(other.outcome).not.toBe('duplicate');
		expect(other.message.id).not.toBe(first.message.id);
	});
});
