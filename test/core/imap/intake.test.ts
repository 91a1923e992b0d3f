import type { DnsResolver } from '../../../core/dns';
import { parseInboxConfig } from '../../../core/inbox';
import { createImapIntake, IntakeDeferredError } from '../../../core/imap/intake';
import { compose } from '../../fixtures/mail';
import { describeEachStore } from '../../support/stores';

describeEachStore('IMAP intake on the store', (getStore) => {
	it('leaves a message for later (IntakeDeferredError, nothing logged) when the checks outlast the intake deadline', async () => {
		const store = getStore();
		const address = `support-${Date.now()}@inbox.example.test`;
		const { id: inboxId } = await store.registerInbox({ address });
		const silentDns: DnsResolver = () => new Promise(() => {});
		const takeIn = createImapIntake({ store, inbox: parseInboxConfig({ address, intakeDeadlineSeconds: 0.5 }), inboxId, resolver: silentDns });
		const raw = await compose({ from: 'carol@customer.example', to: address, subject: 'slow dns', text: 'x' });
		const outcome = takeIn({ mailbox: 'INBOX', uidValidity: '1', uid: 1, raw, size: raw.length, messageId: null, internalDate: new Date().toISOString(), attempt: 1 });
		await expect(outcome).rejects.toThrow(IntakeDeferredError);
		await expect(outcome).rejects.toThrow(/intake deadline of 0\.5 s/);
		expect(await store.listIntake({ inboxId })).toEqual([]);
	});
});
